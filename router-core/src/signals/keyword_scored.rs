//! The seed's scored keyword methods and fuzzy matching, on the crates and versions the seed's
//! own implementation runs on (its `nlp-binding` pins `bm25` 2.3.2 and `ngrammatic` 0.7.0):
//!
//! * `method: bm25`: each keyword is one document of a BM25 index (English tokenizer: ASCII
//!   folding, lower case, NLTK stopwords, Snowball stemming; k1 1.2, b 0.75, average length fitted
//!   to the keywords); the text is the query, and a keyword is present when its score reaches
//!   `bm25_threshold` (default 0.1).
//! * `method: ngram`: character n-grams (`ngram_arity`, default 3, at least 2) with full padding;
//!   each word of the text, then (for keywords still absent) the whole text, is searched among the
//!   keywords, keeping the 10 best, and a keyword is present when the similarity `J·(2 − J)`
//!   (`J` the n-gram Jaccard) reaches `ngram_threshold` (default 0.4).
//! * `fuzzy_match: true` (literal and regex rules): a keyword the pattern misses is present when
//!   some word of the text is within `fuzzy_threshold` edits (default 2) of it, case folded.
//!
//! Followed: the seed's `keyword_classifier.go` (`NewKeywordClassifier`: defaults),
//! `keyword_classifier_match.go` (`hasFuzzyMatch`, `levenshteinDistance`, `extractLowerWords`),
//! `nlp-binding/src/bm25_classifier.rs` and `ngram_classifier.rs` (`classify_rule`). As in the
//! seed, the match is binary (confidence 1); the scores are evidence.

use bm25::{Document, Language, SearchEngine, SearchEngineBuilder};
use ngrammatic::{Corpus, CorpusBuilder, IdentityKeyTransformer, Pad};

/// The seed's n-gram corpus: keywords kept as given (already case folded when the rule is not
/// case-sensitive).
type KeywordCorpus = Corpus<IdentityKeyTransformer>;

use crate::config::KeywordRule;

/// Default `bm25_threshold`.
pub const DEFAULT_BM25_THRESHOLD: f32 = 0.1;
/// Default `ngram_threshold`.
pub const DEFAULT_NGRAM_THRESHOLD: f32 = 0.4;
/// Default `ngram_arity`.
pub const DEFAULT_NGRAM_ARITY: usize = 3;
/// Default `fuzzy_threshold` (edits).
pub const DEFAULT_FUZZY_THRESHOLD: usize = 2;
/// Results kept per n-gram search (`classify_rule`).
const NGRAM_LIMIT: usize = 10;

/// A keyword index of one rule.
pub(crate) enum Scored {
    /// BM25 over the keywords.
    Bm25 {
        engine: SearchEngine<usize>,
        /// Keywords (documents).
        n: usize,
        threshold: f32,
    },
    /// Character n-grams over the keywords.
    Ngram {
        corpus: KeywordCorpus,
        /// The keywords as the corpus holds them (lower case unless case-sensitive).
        keys: Vec<String>,
        threshold: f32,
        case_sensitive: bool,
    },
}

impl Scored {
    /// The index of `rule`, if its method is a scored one.
    pub(crate) fn of(rule: &KeywordRule) -> Option<Scored> {
        let fold = |k: &String| {
            if rule.case_sensitive {
                k.clone()
            } else {
                k.to_lowercase()
            }
        };
        match rule.method.as_deref().map(str::to_lowercase).as_deref() {
            Some("bm25") => {
                let docs = rule
                    .keywords
                    .iter()
                    .enumerate()
                    .map(|(i, k)| Document::new(i, fold(k)));
                Some(Scored::Bm25 {
                    engine: SearchEngineBuilder::<usize>::with_documents(Language::English, docs)
                        .build(),
                    n: rule.keywords.len(),
                    threshold: nonzero(rule.bm25_threshold, DEFAULT_BM25_THRESHOLD),
                })
            }
            Some("ngram") => {
                let arity = rule
                    .ngram_arity
                    .filter(|a| *a > 0)
                    .unwrap_or(DEFAULT_NGRAM_ARITY)
                    .max(2);
                let keys: Vec<String> = rule.keywords.iter().map(fold).collect();
                let mut corpus = CorpusBuilder::default()
                    .arity(arity)
                    .pad_full(Pad::Auto)
                    .finish();
                for k in &keys {
                    corpus.add_text(k);
                }
                Some(Scored::Ngram {
                    corpus,
                    keys,
                    threshold: nonzero(rule.ngram_threshold, DEFAULT_NGRAM_THRESHOLD),
                    case_sensitive: rule.case_sensitive,
                })
            }
            _ => None,
        }
    }

    /// Per keyword, its score when present in `text`.
    pub(crate) fn hits(&self, text: &str) -> Vec<Option<f32>> {
        match self {
            Scored::Bm25 {
                engine,
                n,
                threshold,
            } => {
                let mut hit = vec![None; *n];
                for r in engine.search(&text.to_lowercase(), *n) {
                    if r.score >= *threshold {
                        hit[r.document.id] = Some(r.score);
                    }
                }
                hit
            }
            Scored::Ngram {
                corpus,
                keys,
                threshold,
                case_sensitive,
            } => ngram_hits(corpus, keys, *threshold, &fold(text, *case_sensitive)),
        }
    }
}

fn fold(text: &str, case_sensitive: bool) -> String {
    if case_sensitive {
        text.to_string()
    } else {
        text.to_lowercase()
    }
}

/// A threshold whose zero value means the default (the seed's `NewKeywordClassifier`).
fn nonzero(v: Option<f32>, default: f32) -> f32 {
    v.filter(|v| *v != 0.0).unwrap_or(default)
}

/// `classify_rule`: the words first, then the whole text for keywords still absent; the first
/// hit of a keyword counts.
fn ngram_hits(
    corpus: &KeywordCorpus,
    keys: &[String],
    threshold: f32,
    input: &str,
) -> Vec<Option<f32>> {
    let mut hit = vec![None; keys.len()];
    let mark = |query: &str, hit: &mut Vec<Option<f32>>| {
        for r in corpus.search(query, threshold, NGRAM_LIMIT) {
            for (i, k) in keys.iter().enumerate() {
                if *k == r.text && hit[i].is_none() {
                    hit[i] = Some(r.similarity);
                }
            }
        }
    };
    let words = input
        .split(|c: char| !c.is_alphanumeric() && c != '_' && c != '-')
        .filter(|w| !w.is_empty());
    for w in words {
        mark(w, &mut hit);
    }
    if hit.iter().any(Option::is_none) {
        mark(input, &mut hit);
    }
    hit
}

/// The lower-cased words of `text` (runs of letters and digits), as `extractLowerWords`.
pub(crate) fn lower_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphabetic() && !c.is_numeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The edit distance of `a` and `b` over characters, case folded (`levenshteinDistance`).
pub(crate) fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut row = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            row[j + 1] = sub.min(prev[j + 1] + 1).min(row[j] + 1);
        }
        prev = row;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::KeywordOperator;

    fn rule(method: &str, keywords: &[&str]) -> KeywordRule {
        KeywordRule {
            name: "r".into(),
            operator: KeywordOperator::Or,
            keywords: keywords.iter().map(|s| s.to_string()).collect(),
            method: Some(method.into()),
            ..KeywordRule::default()
        }
    }

    fn close(got: Option<f32>, want: f64) -> bool {
        got.is_some_and(|g| (f64::from(g) - want).abs() < 1e-5)
    }

    /// Worked from the BM25 formula (idf = ln(1 + (N − n + 0.5)/(n + 0.5)), k1 1.2, b 0.75).
    #[test]
    fn bm25_scores_worked_by_hand() {
        let l4 = 4f64.ln();
        // Five one-token keywords: every value 2.2/2.2 = 1, idf ln 4.
        let s = Scored::of(&rule(
            "bm25",
            &["code", "function", "debug", "algorithm", "refactor"],
        ))
        .unwrap();
        let h = s.hits("Help me debug this function");
        assert!(close(h[2], l4) && close(h[1], l4), "{h:?}");
        assert_eq!((h[0], h[3], h[4]), (None, None, None));
        // A repeated query token counts twice; stems match (debugging -> debug, refactored -> refactor).
        let h = s.hits("Debugging the refactored code, debug again");
        assert!(
            close(h[2], 2.0 * l4) && close(h[0], l4) && close(h[4], l4),
            "{h:?}"
        );
        // Document frequency 2: idf ln 1.6; "api key" (2 tokens, avgdl 4/3): 2.2/2.65 per token.
        let s = Scored::of(&rule("bm25", &["api key", "api", "key"])).unwrap();
        let h = s.hits("where is my api key");
        let idf = 1.6f64.ln();
        assert!(close(h[0], 2.0 * idf * 2.2 / 2.65), "{h:?}");
        assert!(
            close(h[1], idf * 2.2 / 1.975) && close(h[2], idf * 2.2 / 1.975),
            "{h:?}"
        );
        // The threshold: one keyword scores ln(4/3) = 0.2877.
        let mut r = rule("bm25", &["code"]);
        r.bm25_threshold = Some(0.3);
        assert_eq!(Scored::of(&r).unwrap().hits("my code"), vec![None]);
    }

    /// Worked from J(2 − J) over padded character trigrams.
    #[test]
    fn ngram_similarities_worked_by_hand() {
        let s = Scored::of(&rule(
            "ngram",
            &["urgent", "immediate", "asap", "emergency"],
        ))
        .unwrap();
        // "urgnet" vs "urgent": 8 + 8 grams, 4 shared -> J = 1/3, sim 5/9.
        let h = s.hits("This is urgnet please help");
        assert!(close(h[0], 5.0 / 9.0), "{h:?}");
        assert_eq!((h[1], h[2], h[3]), (None, None, None));
        assert!(close(s.hits("Reply ASAP!")[2], 1.0));
        // "pasword" vs "password": 9 + 10 grams, 8 shared -> 1 - (3/11)^2.
        let mut r = rule("ngram", &["password", "credentials"]);
        r.ngram_threshold = Some(0.5);
        let h = Scored::of(&r)
            .unwrap()
            .hits("Reset my pasword and credentials now");
        assert!(close(h[0], 112.0 / 121.0) && close(h[1], 1.0), "{h:?}");
        // A multi-word keyword matches a word at 0.75 (J = 7/14).
        let h = Scored::of(&rule("ngram", &["credit card"]))
            .unwrap()
            .hits("my credit card");
        assert!(close(h[0], 0.75), "{h:?}");
    }

    #[test]
    fn levenshtein_and_words_as_the_seed_counts_them() {
        assert_eq!(levenshtein("pasword", "password"), 1);
        assert_eq!(levenshtein("creditcard", "credit card"), 1);
        // A transposition is two edits.
        assert_eq!(levenshtein("credentails", "credentials"), 2);
        assert_eq!(levenshtein("a", "cat"), 2);
        assert_eq!(
            lower_words("Reset my_pass-word NOW"),
            vec!["reset", "my", "pass", "word", "now"]
        );
    }
}
