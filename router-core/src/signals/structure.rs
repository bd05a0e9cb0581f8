//! Text-structure signal: counts, densities and ordered markers in the request text.
//!
//! Semantics follow the seed (vLLM Semantic Router, `pkg/classification/structure_classifier.go`:
//! `extractFeatureValue`, `structureSourceCount`, `evaluateRule`, `structureConfidence`;
//! `structure_text.go`: `keywordOccurrenceCount`, `structureSequenceMatched`,
//! `multilingualTextUnitCount`):
//!
//! * The text is the last user message with text, else the system / developer / assistant
//!   messages joined by a space; `text_bytes` reads the user message only (its UTF-8 bytes).
//! * `regex`: non-overlapping matches (case-insensitive unless `case_sensitive`).
//! * `keyword_set`: occurrences of every keyword, added up (overlapping keywords each count); a
//!   keyword without CJK characters must not touch a letter or digit on either side, a CJK one
//!   matches anywhere.
//! * `sequence`: 1 when every marker of some sequence occurs, in order and without overlap.
//! * Text units: each CJK character (Han, kana, Hangul) is one unit, each run of other letters
//!   or digits is one unit; `density` is the count per unit (0 without units).
//! * No predicate: matches when the value is above 0, confidence 1. With a predicate: matches
//!   when every comparator holds, confidence `max(0.5, sigmoid(4·|value − bound|))` with the
//!   bound of the first comparator set among gt, gte, lt, lte.

use regex::Regex;

use super::keyword::compile_regex;
use super::{Signal, SignalKind, SignalMatch, SignalResults, SignalValue};
use crate::config::{StructureFeatureType, StructureRule, StructureSourceType};
use crate::request::RouteRequest;
use crate::Result;

/// Whether `c` belongs to the Han, Hiragana, Katakana or Hangul scripts.
pub fn is_cjk_script(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x11FF | 0x2E80..=0x2FDF | 0x3005..=0x3007 | 0x3021..=0x3029 | 0x3038..=0x303B
            | 0x3041..=0x309F | 0x30A1..=0x30FF | 0x3131..=0x318E | 0x31F0..=0x31FF
            | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xA960..=0xA97F | 0xAC00..=0xD7FF
            | 0xF900..=0xFAFF | 0xFF66..=0xFF9F | 0xFFA0..=0xFFDC | 0x20000..=0x3134F)
}

/// Multilingual text units (see the module docs).
pub fn text_units(text: &str) -> usize {
    let mut units = 0;
    let mut in_word = false;
    for c in text.chars() {
        if is_cjk_script(c) {
            units += 1;
            in_word = false;
        } else if c.is_alphanumeric() {
            units += usize::from(!in_word);
            in_word = true;
        } else {
            in_word = false;
        }
    }
    units
}

/// A letter or digit that is not CJK: what a non-CJK keyword may not touch.
fn blocks_boundary(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() && !is_cjk_script(c))
}

/// Occurrences of `keyword` in `text` (both already case-folded as the rule asks).
fn keyword_count(text: &str, keyword: &str) -> usize {
    if keyword.is_empty() {
        return 0;
    }
    let anywhere = keyword.chars().any(is_cjk_script);
    text.match_indices(keyword)
        .filter(|(i, k)| {
            anywhere
                || (!blocks_boundary(text[..*i].chars().next_back())
                    && !blocks_boundary(text[i + k.len()..].chars().next()))
        })
        .count()
}

/// Whether every marker of `sequence` occurs in `text`, in order, without overlap.
fn sequence_matches(text: &str, sequence: &[String]) -> bool {
    let mut from = 0;
    for marker in sequence {
        match text[from..].find(marker.as_str()) {
            Some(i) => from += i + marker.len(),
            None => return false,
        }
    }
    true
}

/// One compiled rule.
struct Compiled {
    rule: StructureRule,
    regex: Option<Regex>,
    /// Keywords or sequence markers, case-folded when the rule is case-insensitive.
    keywords: Vec<String>,
    sequences: Vec<Vec<String>>,
    /// The key its value is reported under, when a projection reads it.
    measured: Option<String>,
}

/// The text a request's rules read, and its lower-cased copy (made once, for the first
/// case-insensitive rule that needs it).
struct Texts<'a> {
    text: &'a str,
    user: &'a str,
    lower: std::cell::OnceCell<String>,
}

impl<'a> Texts<'a> {
    fn new(text: &'a str, user: &'a str) -> Self {
        Texts {
            text,
            user,
            lower: std::cell::OnceCell::new(),
        }
    }

    fn folded(&self, case_sensitive: bool) -> &str {
        if case_sensitive {
            self.text
        } else {
            self.lower.get_or_init(|| self.text.to_lowercase())
        }
    }
}

impl Compiled {
    fn fold(&self, s: &str) -> String {
        if self.rule.feature.source.case_sensitive {
            s.to_string()
        } else {
            s.to_lowercase()
        }
    }

    /// The source's raw count (`text_bytes` reads the user message).
    fn count(&self, t: &Texts<'_>) -> usize {
        let case_sensitive = self.rule.feature.source.case_sensitive;
        match self.rule.feature.source.kind {
            StructureSourceType::Regex => self
                .regex
                .as_ref()
                .map_or(0, |r| r.find_iter(t.text).count()),
            StructureSourceType::KeywordSet => {
                let text = t.folded(case_sensitive);
                self.keywords.iter().map(|k| keyword_count(text, k)).sum()
            }
            StructureSourceType::Sequence => {
                let text = t.folded(case_sensitive);
                usize::from(self.sequences.iter().any(|s| sequence_matches(text, s)))
            }
            StructureSourceType::TextBytes => t.user.len(),
        }
    }

    /// The feature value.
    fn value(&self, t: &Texts<'_>) -> f64 {
        let count = self.count(t) as f64;
        match self.rule.feature.kind {
            StructureFeatureType::Exists | StructureFeatureType::Sequence => {
                f64::from(u8::from(count > 0.0))
            }
            StructureFeatureType::Count => count,
            StructureFeatureType::Density => match text_units(t.text) {
                0 => 0.0,
                units => count / units as f64,
            },
        }
    }
}

/// Whether a value matches `rule`, and its confidence.
pub fn structure_match(rule: &StructureRule, value: f64) -> Option<f32> {
    let Some(p) = &rule.predicate else {
        return (value > 0.0).then_some(1.0);
    };
    if !p.holds(value) {
        return None;
    }
    let bound = p.gt.or(p.gte).or(p.lt).or(p.lte).unwrap_or(value);
    let d = (value - bound).abs();
    Some((1.0 / (1.0 + (-4.0 * d).exp())).max(0.5) as f32)
}

/// Compiled structure rules.
pub struct StructureSignal {
    rules: Vec<Compiled>,
}

impl StructureSignal {
    /// Compiles the rules of `rules` named in `used` (all when `None`).
    pub fn new(
        rules: &[StructureRule],
        used: Option<&std::collections::BTreeSet<String>>,
    ) -> Result<Self> {
        let mut compiled = Vec::new();
        for rule in rules
            .iter()
            .filter(|r| used.is_none_or(|u| u.contains(&r.name)))
        {
            let source = &rule.feature.source;
            let regex = match (&source.kind, &source.pattern) {
                (StructureSourceType::Regex, Some(p)) => {
                    Some(compile_regex(p, source.case_sensitive).map_err(|message| {
                        crate::Error::Config {
                            location: format!("routing.signals.structure[{}]", rule.name),
                            message,
                        }
                    })?)
                }
                _ => None,
            };
            let mut c = Compiled {
                rule: rule.clone(),
                regex,
                keywords: Vec::new(),
                sequences: Vec::new(),
                measured: None,
            };
            c.keywords = source.keywords.iter().map(|k| c.fold(k)).collect();
            c.sequences = source
                .sequences
                .iter()
                .map(|s| s.iter().map(|m| c.fold(m)).collect())
                .collect();
            compiled.push(c);
        }
        Ok(StructureSignal { rules: compiled })
    }

    /// Reports the value of each rule whose key is in `wanted` (the feature's count, density or
    /// 0/1, matched or not: the seed's `SignalValues["structure:<rule>"]`).
    pub fn measuring(mut self, wanted: &std::collections::BTreeSet<String>) -> Self {
        for c in &mut self.rules {
            c.measured = super::measured_key(wanted, SignalKind::Structure, &c.rule.name);
        }
        self
    }
}

impl Signal for StructureSignal {
    fn kind(&self) -> SignalKind {
        SignalKind::Structure
    }

    fn evaluate(&self, request: &RouteRequest) -> Result<Vec<SignalMatch>> {
        Ok(self.results(request).matches)
    }

    fn evaluate_results(&self, requests: &[&RouteRequest]) -> Result<Vec<SignalResults>> {
        Ok(requests.iter().map(|r| self.results(r)).collect())
    }
}

impl StructureSignal {
    fn results(&self, request: &RouteRequest) -> SignalResults {
        let text = super::text_window::routing_text(request);
        let texts = Texts::new(&text, request.user_text());
        let mut out = SignalResults::default();
        for c in &self.rules {
            let value = c.value(&texts);
            if let Some(key) = &c.measured {
                out.values.push(SignalValue {
                    key: key.clone(),
                    value,
                });
            }
            if let Some(confidence) = structure_match(&c.rule, value) {
                out.matches.push(SignalMatch {
                    kind: SignalKind::Structure,
                    name: c.rule.name.clone(),
                    confidence,
                    evidence: format!("value {value:.4}"),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{NumericPredicate, StructureFeature, StructureSource};
    use crate::request::{ChatMessage, RouteRequest};

    fn rule(
        kind: StructureFeatureType,
        source: StructureSourceType,
        predicate: Option<NumericPredicate>,
    ) -> StructureRule {
        StructureRule {
            name: "r".into(),
            description: None,
            feature: StructureFeature {
                kind,
                source: StructureSource {
                    kind: source,
                    pattern: None,
                    keywords: Vec::new(),
                    case_sensitive: false,
                    sequences: Vec::new(),
                },
            },
            predicate,
        }
    }

    fn value(rule: StructureRule, text: &str) -> (f64, Option<f32>) {
        let signal = StructureSignal::new(std::slice::from_ref(&rule), None).unwrap();
        let v = signal.rules[0].value(&Texts::new(text, text));
        (v, structure_match(&rule, v))
    }

    #[test]
    fn text_units_by_hand() {
        // Hello, world, 42: three runs; 你, 好: two CJK characters; カタカナ: four.
        assert_eq!(text_units("Hello, world 42 你好"), 5);
        assert_eq!(text_units("カタカナ ok"), 5);
        assert_eq!(text_units("  ... "), 0);
        assert_eq!(text_units("naïve café"), 2);
    }

    #[test]
    fn keywords_need_word_boundaries_unless_cjk() {
        assert_eq!(
            keyword_count("under the bridge, understand, under_score", "under"),
            2
        );
        assert_eq!(keyword_count("you have at most 3, atmost", "at most"), 1);
        assert_eq!(keyword_count("我至少要两个,至少", "至少"), 2);
        assert_eq!(keyword_count("x", ""), 0);
    }

    #[test]
    fn the_seeds_constraint_density_by_hand() {
        let mut r = rule(
            StructureFeatureType::Density,
            StructureSourceType::KeywordSet,
            Some(NumericPredicate {
                gt: Some(0.08),
                ..Default::default()
            }),
        );
        r.feature.source.keywords = ["under", "at most", "within", "At Least"]
            .map(String::from)
            .to_vec();
        // Hits: "at most", "within" (2); units: Write at most 100 words within an hour (8).
        let (v, conf) = value(r, "Write AT MOST 100 words within an hour");
        assert_eq!(v, 0.25);
        let expected = 1.0 / (1.0 + (-4.0f64 * 0.17).exp());
        assert!(
            (f64::from(conf.unwrap()) - expected).abs() < 1e-6,
            "{conf:?}"
        );
    }

    #[test]
    fn regex_counts_sequences_and_exists() {
        let mut r = rule(
            StructureFeatureType::Count,
            StructureSourceType::Regex,
            None,
        );
        r.feature.source.pattern = Some("[?？]".into());
        assert_eq!(value(r.clone(), "a? b？ c?"), (3.0, Some(1.0)));
        r.predicate = Some(NumericPredicate {
            gte: Some(3.0),
            ..Default::default()
        });
        // At the bound: d = 0, confidence floor 0.5.
        assert_eq!(value(r, "a? b？ c?"), (3.0, Some(0.5)));

        let mut steps = rule(
            StructureFeatureType::Exists,
            StructureSourceType::Regex,
            None,
        );
        steps.feature.source.pattern = Some(r"(?m)^\s*\d+\.\s+".into());
        assert_eq!(value(steps.clone(), "Steps:\n1. a\n2. b"), (1.0, Some(1.0)));
        assert_eq!(value(steps, "no steps 1.5"), (0.0, None));

        let mut seq = rule(
            StructureFeatureType::Sequence,
            StructureSourceType::Sequence,
            None,
        );
        seq.feature.source.sequences = vec![
            vec!["first".into(), "then".into()],
            vec!["先".into(), "再".into()],
        ];
        assert_eq!(value(seq.clone(), "First do X, Then Y").0, 1.0);
        assert_eq!(value(seq.clone(), "then first").0, 0.0);
        assert_eq!(value(seq.clone(), "先吃饭再走").0, 1.0);
        assert_eq!(
            value(seq, "firstly, thence").0,
            1.0,
            "plain substrings, as in the seed"
        );
    }

    #[test]
    fn which_text_is_read() {
        let mut r = rule(
            StructureFeatureType::Sequence,
            StructureSourceType::Sequence,
            None,
        );
        r.feature.source.sequences = vec![vec!["first".into(), "then".into()]];
        let signal = StructureSignal::new(&[r], None).unwrap();
        // No user text: the system / developer / assistant messages are read.
        let request = RouteRequest {
            messages: vec![
                ChatMessage::new("system", "first plan"),
                ChatMessage::new("assistant", "then act"),
            ],
            ..Default::default()
        };
        assert_eq!(signal.evaluate(&request).unwrap().len(), 1);
        let bytes = rule(
            StructureFeatureType::Count,
            StructureSourceType::TextBytes,
            None,
        );
        let signal = StructureSignal::new(&[bytes], None).unwrap();
        let m = signal
            .evaluate(&RouteRequest::from_prompt("héllo"))
            .unwrap();
        assert_eq!(m[0].evidence, "value 6.0000");
        // text_bytes reads the user message only: none, so 0 and no match.
        assert!(signal.evaluate(&request).unwrap().is_empty());
    }
}
