//! Signals: facts computed about a request (keywords, domain, language, ...).
//!
//! Every signal kind implements [`Signal`]. A signal evaluates all of its named rules at once
//! and returns the names that matched, each with a confidence in `[0, 1]`. The engine only
//! builds the signals whose names some decision references.

pub mod complexity;
pub mod context;
pub mod conversation;
pub mod domain;
pub mod embedding;
pub mod event;
pub mod jailbreak;
pub mod jailbreak_contrastive;
pub mod kb;
pub mod keyword;
pub mod keyword_scored;
pub mod language;
pub mod metadata;
pub mod model;
pub mod pii;
pub mod prototypes;
pub mod reask;
pub mod regex_match;
pub mod structure;
pub mod text_window;
pub mod verdict;

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
    /// Conversation shape: message counts, tools, tool loops (`routing.signals.conversation`).
    Conversation,
    /// Text structure: counts, densities, ordered markers (`routing.signals.structure`).
    Structure,
    /// The current user turn repeats the previous ones (`routing.signals.reasks`).
    Reask,
    /// Hard, medium or easy by similarity to example prompts (`routing.signals.complexity`).
    Complexity,
    /// A label or group of a knowledge base of example sentences (`routing.signals.kb`).
    Kb,
    /// Whether the request makes factual claims to check (`routing.signals.fact_check`).
    FactCheck,
    /// The feedback a follow-up turn gives on the previous answer
    /// (`routing.signals.user_feedbacks`).
    UserFeedback,
    /// Event reports in the request text (`routing.signals.events`).
    Event,
    /// Predicates on the request's `metadata` object (`routing.signals.metadata`).
    Metadata,
    /// Bands of weighted scores over the other signals' results
    /// (`routing.projections.mappings[].outputs`).
    Projection,
}

/// What routelab knows about one signal kind: the one table that validation, the engine,
/// serve's readiness and the docs read, so adding a kind adds one row here (plus its schema
/// field and its [`Signal`] implementation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindInfo {
    /// The kind.
    pub kind: SignalKind,
    /// Its name in a decision leaf (`type: keyword`).
    pub leaf: &'static str,
    /// Its list under `routing.signals` (`keywords`); for a derived kind, its section under
    /// `routing` (`projections`).
    pub config_key: &'static str,
    /// Whether it runs a model (built by [`model::build_model_signal`], evaluated off the
    /// async threads in serve, precomputable for replays) rather than rules.
    pub model_based: bool,
    /// Whether it is computed from the other signals' results (in the engine, after them)
    /// rather than from the request.
    pub derived: bool,
    /// Its key in the seed's eval response (`matched_signals`) and in probes files'
    /// `expected_signals` (`keywords`, `domains`, ...).
    pub eval_key: &'static str,
    /// Whether it reports measured values ([`SignalValue`]) that projection inputs with
    /// `value_source: raw` read (the kinds that write the seed's `SignalValues`); a raw input
    /// of another kind reads 0.
    pub measures: bool,
}

/// Every signal kind routelab implements, in evaluation order (cheap rule signals first).
pub const KINDS: [KindInfo; 17] = [
    kind(
        SignalKind::Keyword,
        "keyword",
        "keywords",
        false,
        "keywords",
    ),
    kind(SignalKind::Context, "context", "context", false, "context"),
    kind(SignalKind::Event, "event", "events", false, "event"),
    kind(
        SignalKind::Metadata,
        "metadata",
        "metadata",
        false,
        "metadata",
    ),
    kind(
        SignalKind::Language,
        "language",
        "language",
        false,
        "language",
    ),
    kind(
        SignalKind::Conversation,
        "conversation",
        "conversation",
        false,
        "conversation",
    )
    .measuring(),
    kind(
        SignalKind::Structure,
        "structure",
        "structure",
        false,
        "structure",
    )
    .measuring(),
    kind(SignalKind::Domain, "domain", "domains", true, "domains"),
    kind(
        SignalKind::Jailbreak,
        "jailbreak",
        "jailbreak",
        true,
        "jailbreak",
    ),
    kind(SignalKind::Pii, "pii", "pii", true, "pii"),
    kind(
        SignalKind::Embedding,
        "embedding",
        "embeddings",
        true,
        "embeddings",
    )
    .measuring(),
    kind(SignalKind::Reask, "reask", "reasks", true, "reask").measuring(),
    kind(
        SignalKind::Complexity,
        "complexity",
        "complexity",
        true,
        "complexity",
    )
    .measuring(),
    kind(SignalKind::Kb, "kb", "kb", true, "kb"),
    kind(
        SignalKind::FactCheck,
        "fact_check",
        "fact_check",
        true,
        "fact_check",
    ),
    kind(
        SignalKind::UserFeedback,
        "user_feedback",
        "user_feedbacks",
        true,
        "user_feedback",
    ),
    KindInfo {
        kind: SignalKind::Projection,
        leaf: "projection",
        config_key: "projections",
        model_based: false,
        derived: true,
        eval_key: "projection",
        measures: false,
    },
];

const fn kind(
    kind: SignalKind,
    leaf: &'static str,
    config_key: &'static str,
    model_based: bool,
    eval_key: &'static str,
) -> KindInfo {
    KindInfo {
        kind,
        leaf,
        config_key,
        model_based,
        derived: false,
        eval_key,
        measures: false,
    }
}

impl KindInfo {
    /// This row, reporting measured values.
    const fn measuring(self) -> KindInfo {
        KindInfo {
            measures: true,
            ..self
        }
    }
}

impl SignalKind {
    /// All kinds, in evaluation order (cheap rule signals first).
    pub const ALL: [SignalKind; KINDS.len()] = {
        let mut all = [SignalKind::Keyword; KINDS.len()];
        let mut i = 0;
        while i < KINDS.len() {
            all[i] = KINDS[i].kind;
            i += 1;
        }
        all
    };

    /// This kind's row of [`KINDS`].
    pub fn info(self) -> &'static KindInfo {
        KINDS
            .iter()
            .find(|k| k.kind == self)
            .expect("KINDS has a row for every kind")
    }

    /// The name used in a decision leaf (`type: keyword`).
    pub fn as_str(self) -> &'static str {
        self.info().leaf
    }

    /// Its list under `routing.signals` (`keywords`).
    pub fn config_key(self) -> &'static str {
        self.info().config_key
    }

    /// Its key in the seed's eval response and probes files (see [`KindInfo::eval_key`]).
    pub fn eval_key(self) -> &'static str {
        self.info().eval_key
    }

    /// Whether the kind is derived from other signals (see [`KindInfo::derived`]).
    pub fn is_derived(self) -> bool {
        self.info().derived
    }

    /// Whether the kind reports measured values (see [`KindInfo::measures`]).
    pub fn measures(self) -> bool {
        self.info().measures
    }

    /// Whether the kind runs a model (see [`KindInfo::model_based`]).
    pub fn is_model_based(self) -> bool {
        self.info().model_based
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

/// A number a signal measured about a request, matched or not (the seed's `SignalValues`):
/// what projection inputs with `value_source: raw` and `kb_metric` inputs read.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalValue {
    /// The seed's key: `<type>:<rule>` (`structure:dense_markup`), with a part for scores that
    /// have several (`embedding:<rule>:best`, `complexity:<rule>:margin`), or
    /// `kb_metric:<kb>:<metric>` in lower case.
    pub key: String,
    /// The value: a count, a density, a similarity, a margin.
    pub value: f64,
}

/// What the signals computed for one request: the rules that matched and the values that
/// projections read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SignalResults {
    /// The matched rules.
    pub matches: Vec<SignalMatch>,
    /// The measured values projections read (only those: see [`measured_parts`]).
    pub values: Vec<SignalValue>,
}

impl From<Vec<SignalMatch>> for SignalResults {
    fn from(matches: Vec<SignalMatch>) -> Self {
        SignalResults {
            matches,
            values: Vec::new(),
        }
    }
}

impl SignalResults {
    /// Appends `more`, taking over its allocations when this is empty.
    pub fn append(&mut self, mut more: SignalResults) {
        if self.matches.is_empty() {
            std::mem::swap(&mut self.matches, &mut more.matches);
        } else {
            self.matches.append(&mut more.matches);
        }
        self.values.append(&mut more.values);
    }
}

/// The matches of each request's results (a measuring signal's [`Signal::evaluate_batch`]).
pub(crate) fn matches_of(results: Vec<SignalResults>) -> Vec<Vec<SignalMatch>> {
    results.into_iter().map(|r| r.matches).collect()
}

/// The parts of rule `rule` of `kind` that some projection reads, as `(index into parts, key)`;
/// part `""` is the rule's own value (`<kind>:<rule>`), another part `p` is `<kind>:<rule>:p`.
/// `wanted` holds the keys projections read ([`crate::config::RouterConfig::measured_values`]).
pub fn measured_parts(
    wanted: &std::collections::BTreeSet<String>,
    kind: SignalKind,
    rule: &str,
    parts: &[&str],
) -> Vec<(usize, String)> {
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| match *p {
            "" => (i, format!("{kind}:{rule}")),
            p => (i, format!("{kind}:{rule}:{p}")),
        })
        .filter(|(_, key)| wanted.contains(key))
        .collect()
}

/// The key of rule `rule`'s own value (`<kind>:<rule>`), when some projection reads it.
pub fn measured_key(
    wanted: &std::collections::BTreeSet<String>,
    kind: SignalKind,
    rule: &str,
) -> Option<String> {
    measured_parts(wanted, kind, rule, &[""])
        .pop()
        .map(|(_, key)| key)
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

    /// [`Signal::evaluate_batch`] with the values measured on the way that projections read
    /// (what the engine calls). Signals that measure values override it; the others measure
    /// none.
    fn evaluate_results(&self, requests: &[&RouteRequest]) -> crate::Result<Vec<SignalResults>> {
        Ok(self
            .evaluate_batch(requests)?
            .into_iter()
            .map(SignalResults::from)
            .collect())
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

#[cfg(test)]
mod kind_table_tests {
    use super::*;

    /// Every kind has one row, leaf names and config keys are unique, and each config key is
    /// a list of the config schema's `routing.signals` (a derived kind's, a section of
    /// `routing`).
    #[test]
    fn the_kind_table_is_complete_and_matches_the_schema() {
        let routing = serde_json::to_value(crate::config::RouterConfig::default().routing)
            .expect("serialisable");
        for (i, info) in KINDS.iter().enumerate() {
            assert_eq!(SignalKind::ALL[i], info.kind);
            assert_eq!(info.kind.info(), info);
            assert_eq!(SignalKind::parse(info.leaf), Some(info.kind));
            if info.derived {
                assert!(routing.get(info.config_key).is_some_and(|v| v.is_object()));
            } else {
                assert!(
                    routing["signals"]
                        .get(info.config_key)
                        .is_some_and(|v| v.is_array()),
                    "routing.signals.{} is not a list of the schema",
                    info.config_key
                );
            }
            for other in &KINDS[i + 1..] {
                assert_ne!(info.leaf, other.leaf);
                assert_ne!(info.config_key, other.config_key);
                assert_ne!(info.eval_key, other.eval_key);
            }
        }
        assert_eq!(SignalKind::parse("user_feedbacks"), None);
        assert_eq!(SignalKind::parse("preference"), None);
    }
}
