//! Signals: facts computed about a request (keywords, domain, language, ...).
//!
//! Every signal kind implements [`Signal`]. A signal evaluates all of its named rules at once
//! and returns the names that matched, each with a confidence in `[0, 1]`. The engine only
//! builds the signals whose names some decision references.

pub mod context;
pub mod domain;
pub mod embedding;
pub mod jailbreak;
pub mod keyword;
pub mod language;
pub mod model;
pub mod pii;
pub mod regex_match;

use std::fmt;

use crate::request::RouteRequest;

/// The kinds of signal routelab implements, named as in a decision's `type:` leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SignalKind {
    /// Keyword / regex rules (`routing.signals.keywords`).
    Keyword,
    /// Context-length bands (`routing.signals.context`).
    Context,
    /// Detected language (`routing.signals.language`).
    Language,
    /// Domain classifier categories (`routing.signals.domains`).
    Domain,
    /// Jailbreak classifier (`routing.signals.jailbreak`).
    Jailbreak,
    /// PII token classifier (`routing.signals.pii`).
    Pii,
    /// Embedding similarity to example sentences (`routing.signals.embeddings`).
    Embedding,
}

impl SignalKind {
    /// All kinds, in evaluation order (cheap rule signals first).
    pub const ALL: [SignalKind; 7] = [
        SignalKind::Keyword,
        SignalKind::Context,
        SignalKind::Language,
        SignalKind::Domain,
        SignalKind::Jailbreak,
        SignalKind::Pii,
        SignalKind::Embedding,
    ];

    /// The name used in a decision leaf (`type: keyword`).
    pub fn as_str(self) -> &'static str {
        match self {
            SignalKind::Keyword => "keyword",
            SignalKind::Context => "context",
            SignalKind::Language => "language",
            SignalKind::Domain => "domain",
            SignalKind::Jailbreak => "jailbreak",
            SignalKind::Pii => "pii",
            SignalKind::Embedding => "embedding",
        }
    }

    /// Parses a decision leaf's `type:`; `None` for kinds routelab does not implement.
    pub fn parse(s: &str) -> Option<Self> {
        SignalKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One named rule of a signal that matched a request.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SignalMatch {
    /// The kind of signal that produced the match.
    #[serde(serialize_with = "serialize_kind")]
    pub kind: SignalKind,
    /// The rule name (e.g. `urgent_keywords`, `business`).
    pub name: String,
    /// Confidence in `[0, 1]` (1.0 for deterministic rules).
    pub confidence: f32,
    /// Human-readable evidence: the keyword hit, the language, the classifier score.
    pub evidence: String,
}

fn serialize_kind<S: serde::Serializer>(
    k: &SignalKind,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(k.as_str())
}

/// A compiled signal of one kind, holding all its named rules.
pub trait Signal: Send + Sync {
    /// Which kind this signal is.
    fn kind(&self) -> SignalKind;
    /// Evaluates every rule against the request and returns the ones that matched.
    fn evaluate(&self, request: &RouteRequest) -> crate::Result<Vec<SignalMatch>>;

    /// [`Signal::evaluate`] for several requests at once, in order. Model-based signals
    /// override it to run one batched forward pass (offline replays); the results equal
    /// evaluating each request alone, up to the float rounding of batched inference.
    fn evaluate_batch(&self, requests: &[&RouteRequest]) -> crate::Result<Vec<Vec<SignalMatch>>> {
        requests.iter().map(|r| self.evaluate(r)).collect()
    }
}

/// `count` pseudo-random texts, each `pieces_per_text` pieces of `pieces` (a fixed-seed LCG):
/// inputs for tests that compare a fast scan against a reference.
#[cfg(test)]
pub(crate) fn random_texts(
    pieces: &[&str],
    pieces_per_text: usize,
    count: usize,
    seed: u64,
) -> Vec<String> {
    let mut state = seed;
    (0..count)
        .map(|_| {
            let mut text = String::new();
            for _ in 0..pieces_per_text {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                text.push_str(pieces[(state >> 33) as usize % pieces.len()]);
            }
            text
        })
        .collect()
}
