//! Keyword signal: literal keywords and regular expressions over the last user message.
//!
//! All literal keywords of all rules are compiled into at most two Aho-Corasick automata (one
//! case-sensitive, one case-insensitive), so a request is scanned once per automaton whatever
//! the number of rules. Regexes are tested through a [`RegexList`] (one by one or as one set,
//! with an ASCII fast path).
//!
//! * Case-insensitive keywords are ASCII-lowercased and searched in an ASCII-lowercased copy of
//!   the text (the same hits as ASCII case folding, offsets unchanged, and the automaton keeps
//!   its literal prefilter); if some keyword has non-ASCII cased letters (`Ü`, `É`), text and
//!   keywords are fully lowercased instead.
//! * Literal keywords match whole words by default (`word_boundary: true`): the characters
//!   before and after the hit must not be letters, digits or `_`. CJK characters never count as
//!   word characters, so `首先` matches inside Chinese text. Regexes are matched as written.
//! * `operator`: `OR` any item hits, `AND` every item hits, `NOR` no item hits. Items are the
//!   keywords plus the `regexes`.
//! * When every literal of an automaton is a whole-word keyword made only of word characters,
//!   two occurrences that overlap can never both pass the boundary check, so a leftmost-longest
//!   non-overlapping scan (which can skip ahead with the automaton's SIMD prefilter) finds the
//!   same hits as an overlapping scan; otherwise every overlapping occurrence is examined.
//! * Confidence 1.0; evidence lists the hits (`"urgent", "asap"`; regex hits as `/re/ "text"`).

use super::keyword_scored::{levenshtein, lower_words, Scored, DEFAULT_FUZZY_THRESHOLD};
use std::borrow::Cow;
use std::collections::BTreeSet;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;
use smallvec::SmallVec;

use super::context::is_cjk;
use super::regex_match::RegexList;
use super::{Signal, SignalKind, SignalMatch};
use crate::config::{KeywordOperator, KeywordRule};
use crate::request::RouteRequest;
use crate::{Error, Result};

/// One item (keyword or regex) of a rule, by global index.
struct Item {
    /// The keyword or regex as configured (for evidence).
    text: String,
    /// The keyword quoted as in evidence (`"urgent"`), built once.
    quoted: String,
    /// Index into the regex list for a regex item.
    regex: Option<usize>,
}

struct Rule {
    /// Its index in [`KeywordSignal::scored`] (`bm25` / `ngram`), else `None`.
    scored: Option<usize>,
    /// `fuzzy_match`'s edit budget.
    fuzzy: Option<usize>,
    name: String,
    operator: KeywordOperator,
    items: std::ops::Range<usize>,
}

/// One literal occurrence a pattern of an automaton stands for.
#[derive(Clone, Copy)]
struct Occurrence {
    item: usize,
    boundary: bool,
}

/// Which form of the text an automaton searches.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Haystack {
    /// The text as given (case-sensitive keywords).
    Original,
    /// The text with ASCII letters lowercased (ASCII case-insensitive keywords).
    AsciiLower,
    /// The text fully (Unicode) lowercased.
    Lower,
}

struct Automaton {
    ac: AhoCorasick,
    /// Whether the automaton is leftmost-longest and scanned without overlaps (see module doc).
    disjoint: bool,
    /// Per pattern id, the items it belongs to.
    occurrences: Vec<Vec<Occurrence>>,
    /// The text form searched.
    haystack: Haystack,
}

/// Compiled keyword rules.
pub struct KeywordSignal {
    rules: Vec<Rule>,
    items: Vec<Item>,
    automata: Vec<Automaton>,
    /// Every rule's regexes.
    regexes: RegexList,
    /// Item index of each regex (same order as `regexes`).
    regex_items: Vec<usize>,
    /// The keyword indexes of `bm25` / `ngram` rules.
    scored: Vec<Scored>,
}

fn is_word(c: char) -> bool {
    (c.is_alphanumeric() || c == '_') && !is_cjk(c)
}

/// `s` with ASCII letters lowercased (borrowed when it has no ASCII capital).
fn ascii_lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

fn has_non_ascii_cased(s: &str) -> bool {
    s.chars()
        .any(|c| !c.is_ascii() && (c.is_lowercase() || c.is_uppercase()))
}

/// Compiles a regex of a rule, case-insensitive unless the rule is case-sensitive.
pub fn compile_regex(pattern: &str, case_sensitive: bool) -> std::result::Result<Regex, String> {
    let full = if case_sensitive {
        pattern.to_string()
    } else {
        format!("(?i:{pattern})")
    };
    Regex::new(&full).map_err(|e| {
        let msg = e.to_string();
        let last = msg.lines().last().unwrap_or(&msg).trim();
        let last = last.strip_prefix("error: ").unwrap_or(last);
        format!("bad regex {pattern:?}: {last}")
    })
}

#[derive(Default)]
struct PatternTable {
    patterns: Vec<String>,
    occurrences: Vec<Vec<Occurrence>>,
}

impl PatternTable {
    fn add(&mut self, pattern: String, occ: Occurrence) {
        match self.patterns.iter().position(|p| *p == pattern) {
            Some(i) => self.occurrences[i].push(occ),
            None => {
                self.patterns.push(pattern);
                self.occurrences.push(vec![occ]);
            }
        }
    }

    fn build(self, haystack: Haystack) -> Result<Option<Automaton>> {
        if self.patterns.is_empty() {
            return Ok(None);
        }
        let disjoint = self.occurrences.iter().flatten().all(|o| o.boundary)
            && self.patterns.iter().all(|p| p.chars().all(is_word));
        let kind = if disjoint {
            MatchKind::LeftmostLongest
        } else {
            MatchKind::Standard
        };
        let ac = AhoCorasickBuilder::new()
            .match_kind(kind)
            .build(&self.patterns)
            .map_err(|e| Error::Config {
                location: "routing.signals.keywords".into(),
                message: format!("cannot compile keywords: {e}"),
            })?;
        Ok(Some(Automaton {
            ac,
            disjoint,
            occurrences: self.occurrences,
            haystack,
        }))
    }
}

impl KeywordSignal {
    /// Compiles the rules whose names are in `used` (all if `None`). Errors name the bad regex.
    pub fn new(rules: &[KeywordRule], used: Option<&BTreeSet<String>>) -> Result<Self> {
        let selected: Vec<&KeywordRule> = rules
            .iter()
            .filter(|r| used.is_none_or(|u| u.contains(&r.name)))
            .collect();
        let lower_ci = selected
            .iter()
            .filter(|r| !r.case_sensitive && !r.keywords_are_regexes())
            .any(|r| r.keywords.iter().any(|k| has_non_ascii_cased(k)));
        let (mut cs, mut ci) = (PatternTable::default(), PatternTable::default());
        let mut out = KeywordSignal {
            rules: Vec::new(),
            items: Vec::new(),
            automata: Vec::new(),
            regexes: RegexList::new(&[]).expect("an empty regex list compiles"),
            regex_items: Vec::new(),
            scored: Vec::new(),
        };
        let mut regex_sources = Vec::new();
        for r in selected {
            let start = out.items.len();
            if let Some(index) = Scored::of(r) {
                out.items.extend(r.keywords.iter().map(|k| Item {
                    text: k.clone(),
                    quoted: format!("{k:?}"),
                    regex: None,
                }));
                out.scored.push(index);
                out.rules.push(Rule {
                    scored: Some(out.scored.len() - 1),
                    fuzzy: None,
                    name: r.name.clone(),
                    operator: r.operator,
                    items: start..out.items.len(),
                });
                continue;
            }
            let regex_patterns: Vec<&String> = if r.keywords_are_regexes() {
                r.keywords.iter().chain(&r.regexes).collect()
            } else {
                for k in &r.keywords {
                    let occ = Occurrence {
                        item: out.items.len(),
                        boundary: r.word_boundary,
                    };
                    if r.case_sensitive {
                        cs.add(k.clone(), occ);
                    } else if lower_ci {
                        ci.add(k.to_lowercase(), occ);
                    } else {
                        ci.add(k.to_ascii_lowercase(), occ);
                    }
                    out.items.push(Item {
                        text: k.clone(),
                        quoted: format!("{k:?}"),
                        regex: None,
                    });
                }
                r.regexes.iter().collect()
            };
            for p in regex_patterns {
                let re = compile_regex(p, r.case_sensitive).map_err(|e| Error::Config {
                    location: "routing.signals.keywords".into(),
                    message: format!("rule {:?}: {e}", r.name),
                })?;
                regex_sources.push(re.as_str().to_string());
                out.regex_items.push(out.items.len());
                out.items.push(Item {
                    text: p.clone(),
                    quoted: String::new(),
                    regex: Some(out.regex_items.len() - 1),
                });
            }
            let fuzzy = r
                .fuzzy_threshold
                .filter(|t| *t > 0)
                .unwrap_or(DEFAULT_FUZZY_THRESHOLD);
            out.rules.push(Rule {
                scored: None,
                // A rule of an unknown method matches exactly (and is listed as ignored).
                fuzzy: (r.fuzzy_match && r.unimplemented_method().is_none()).then_some(fuzzy),
                name: r.name.clone(),
                operator: r.operator,
                items: start..out.items.len(),
            });
        }
        out.regexes = RegexList::new(&regex_sources).map_err(|e| Error::Config {
            location: "routing.signals.keywords".into(),
            message: format!("cannot compile regexes: {e}"),
        })?;
        out.automata.extend(cs.build(Haystack::Original)?);
        let ci_hay = if lower_ci {
            Haystack::Lower
        } else {
            Haystack::AsciiLower
        };
        out.automata.extend(ci.build(ci_hay)?);
        Ok(out)
    }

    /// Number of compiled rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether no rule is compiled.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Marks every item that occurs in `text` (inline, no allocation, up to 64 items).
    fn hits(&self, text: &str) -> SmallVec<[bool; 64]> {
        let mut hit = SmallVec::from_elem(false, self.items.len());
        let mut lowered: Option<String> = None;
        let mut ascii_lowered: Option<Cow<'_, str>> = None;
        for a in &self.automata {
            let hay: &str = match a.haystack {
                Haystack::Original => text,
                Haystack::Lower => lowered.get_or_insert_with(|| text.to_lowercase()),
                Haystack::AsciiLower => ascii_lowered.get_or_insert_with(|| ascii_lower(text)),
            };
            let mut mark = |m: aho_corasick::Match| {
                let (s, e) = (m.start(), m.end());
                let before = hay[..s].chars().next_back().is_some_and(is_word);
                let after = hay[e..].chars().next().is_some_and(is_word);
                let matched = &hay[s..e];
                let first = matched.chars().next().is_some_and(is_word);
                let last = matched.chars().next_back().is_some_and(is_word);
                let whole = !((first && before) || (last && after));
                for occ in &a.occurrences[m.pattern().as_usize()] {
                    if !occ.boundary || whole {
                        hit[occ.item] = true;
                    }
                }
            };
            if a.disjoint {
                a.ac.find_iter(hay).for_each(&mut mark);
            } else {
                a.ac.find_overlapping_iter(hay).for_each(&mut mark);
            }
        }
        self.regexes
            .matching(text, |i| hit[self.regex_items[i]] = true);
        hit
    }

    /// Appends the evidence of `item`'s hit in `text` to `out`.
    fn describe(&self, item: usize, text: &str, out: &mut String) {
        let it = &self.items[item];
        match it.regex {
            None => out.push_str(&it.quoted),
            Some(r) => {
                out.push('/');
                out.push_str(&it.text);
                out.push('/');
                if let Some(m) = self.regexes.find(r, text) {
                    out.push_str(&format!(" {m:?}"));
                }
            }
        }
    }

    /// Marks the keywords of `r` that its scored index or its fuzzy matching finds in `text`,
    /// noting their score or `(fuzzy)` for the evidence.
    fn mark_scored_and_fuzzy(
        &self,
        r: &Rule,
        text: &str,
        words: &mut Option<Vec<String>>,
        hit: &mut [bool],
        notes: &mut Vec<(usize, String)>,
    ) {
        if let Some(s) = r.scored {
            for (k, score) in self.scored[s].hits(text).into_iter().enumerate() {
                if let Some(score) = score {
                    hit[r.items.start + k] = true;
                    notes.push((r.items.start + k, format!(" {score:.3}")));
                }
            }
        }
        if let Some(t) = r.fuzzy {
            let words = words.get_or_insert_with(|| lower_words(text));
            for i in r.items.clone() {
                if !hit[i]
                    && words
                        .iter()
                        .any(|w| levenshtein(w, &self.items[i].text) <= t)
                {
                    hit[i] = true;
                    notes.push((i, " (fuzzy)".into()));
                }
            }
        }
    }

    /// Evaluates every rule against `text`.
    pub fn matches(&self, text: &str) -> Vec<SignalMatch> {
        let mut hit = self.hits(text);
        let (mut words, mut notes) = (None, Vec::new());
        let mut out = Vec::new();
        for r in &self.rules {
            if r.scored.is_some() || r.fuzzy.is_some() {
                self.mark_scored_and_fuzzy(r, text, &mut words, &mut hit, &mut notes);
            }
            let n_hit = hit[r.items.clone()].iter().filter(|h| **h).count();
            let n = r.items.len();
            let matched = match r.operator {
                KeywordOperator::Or => n_hit > 0,
                KeywordOperator::And => n > 0 && n_hit == n,
                KeywordOperator::Nor => n_hit == 0,
            };
            if !matched {
                continue;
            }
            let evidence = match r.operator {
                KeywordOperator::Nor => format!("none of {n} keyword(s) present"),
                _ => {
                    let mut e = String::new();
                    for i in r.items.clone().filter(|&i| hit[i]) {
                        if !e.is_empty() {
                            e.push_str(", ");
                        }
                        self.describe(i, text, &mut e);
                        if let Some((_, note)) = notes.iter().find(|(j, _)| *j == i) {
                            e.push_str(note);
                        }
                    }
                    e
                }
            };
            out.push(SignalMatch {
                kind: SignalKind::Keyword,
                name: r.name.clone(),
                confidence: 1.0,
                evidence,
            });
        }
        out
    }
}

impl Signal for KeywordSignal {
    fn kind(&self) -> SignalKind {
        SignalKind::Keyword
    }

    fn evaluate(&self, request: &RouteRequest) -> Result<Vec<SignalMatch>> {
        Ok(self.matches(request.user_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, op: KeywordOperator, kws: &[&str]) -> KeywordRule {
        KeywordRule {
            name: name.into(),
            operator: op,
            keywords: kws.iter().map(|s| s.to_string()).collect(),
            word_boundary: true,
            ..Default::default()
        }
    }

    fn names(s: &KeywordSignal, text: &str) -> Vec<String> {
        s.matches(text).into_iter().map(|m| m.name).collect()
    }

    #[test]
    fn any_all_none() {
        use KeywordOperator::*;
        let s = KeywordSignal::new(
            &[
                rule("any", Or, &["urgent", "asap"]),
                rule("all", And, &["credit card", "password"]),
                rule("none", Nor, &["please", "thanks"]),
            ],
            None,
        )
        .unwrap();
        assert_eq!(names(&s, "This is URGENT"), vec!["any", "none"]);
        assert_eq!(
            names(&s, "my credit card and password, please"),
            vec!["all"]
        );
        assert_eq!(names(&s, "my credit card, thanks"), Vec::<String>::new());
        assert_eq!(names(&s, ""), vec!["none"]);
        let m = s.matches("asap! urgent! asap!");
        assert_eq!(m[0].evidence, "\"urgent\", \"asap\"");
        assert_eq!(m[0].confidence, 1.0);
        assert_eq!(m[1].evidence, "none of 2 keyword(s) present");
    }

    #[test]
    fn word_boundaries_and_case() {
        let mut cs = rule("cs", KeywordOperator::Or, &["API"]);
        cs.case_sensitive = true;
        let mut sub = rule("sub", KeywordOperator::Or, &["code"]);
        sub.word_boundary = false;
        let s = KeywordSignal::new(
            &[
                rule("code", KeywordOperator::Or, &["code", "card"]),
                cs,
                sub,
            ],
            None,
        )
        .unwrap();
        assert_eq!(names(&s, "refactor the codebase"), vec!["sub"]);
        assert_eq!(names(&s, "write Code, now"), vec!["code", "sub"]);
        assert_eq!(names(&s, "code_review"), vec!["sub"]);
        assert_eq!(names(&s, "call the API"), vec!["cs"]);
        assert_eq!(names(&s, "call the api"), Vec::<String>::new());
        // Overlapping patterns: "credit card" must not hide "card".
        let s2 = KeywordSignal::new(
            &[
                rule("cc", KeywordOperator::Or, &["credit card"]),
                rule("card", KeywordOperator::Or, &["card"]),
            ],
            None,
        )
        .unwrap();
        assert_eq!(names(&s2, "my credit card"), vec!["cc", "card"]);
    }

    #[test]
    fn unicode_keywords() {
        let s = KeywordSignal::new(
            &[
                rule("es", KeywordOperator::Or, &["Búsqueda"]),
                rule("zh", KeywordOperator::Or, &["首先"]),
            ],
            None,
        )
        .unwrap();
        assert_eq!(names(&s, "una BÚSQUEDA rápida"), vec!["es"]);
        assert_eq!(names(&s, "请首先解释这个问题"), vec!["zh"]);
        assert_eq!(names(&s, "búsquedas"), Vec::<String>::new());
    }

    #[test]
    fn regexes() {
        let mut r = rule("ids", KeywordOperator::Or, &[]);
        r.regexes = vec![r"\b\d{3}-\d{2}-\d{4}\b".into()];
        let mut r2 = rule("re", KeywordOperator::And, &[r"ticket-\d+", "p[0-4]"]);
        r2.regex = true;
        let s = KeywordSignal::new(&[r, r2], None).unwrap();
        let m = s.matches("SSN 123-45-6789 for TICKET-42 at P1");
        assert_eq!(
            m.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
            vec!["ids", "re"]
        );
        assert_eq!(m[0].evidence, r#"/\b\d{3}-\d{2}-\d{4}\b/ "123-45-6789""#);
        assert_eq!(m[1].evidence, r#"/ticket-\d+/ "TICKET-42", /p[0-4]/ "P1""#);
        assert_eq!(names(&s, "ticket-42 only"), Vec::<String>::new());
        let mut bad = rule("bad", KeywordOperator::Or, &[]);
        bad.regexes = vec!["(unclosed".into()];
        assert!(KeywordSignal::new(&[bad], None).is_err());
    }

    #[test]
    fn regex_set_and_separate_regexes_agree() {
        // 9 regexes go through one RegexSet, 2 are matched one by one: same hits, same evidence.
        let patterns: Vec<String> = (0..9).map(|i| format!(r"x{i}\d")).collect();
        let mut many = rule("many", KeywordOperator::Or, &[]);
        many.regexes = patterns.clone();
        let mut few = rule("few", KeywordOperator::Or, &[]);
        few.regexes = patterns[..2].to_vec();
        let (set, one_by_one) = (
            KeywordSignal::new(std::slice::from_ref(&many), None).unwrap(),
            KeywordSignal::new(&[few], None).unwrap(),
        );
        assert!(set.regexes.uses_set() && !one_by_one.regexes.uses_set());
        let text = "codes X17 and x05";
        assert_eq!(
            set.matches(text)[0].evidence,
            r#"/x0\d/ "x05", /x1\d/ "X17""#
        );
        assert_eq!(
            one_by_one.matches(text)[0].evidence,
            set.matches(text)[0].evidence
        );
        assert_eq!(names(&set, "x9 only"), Vec::<String>::new());
    }

    #[test]
    fn ascii_case_folding_of_mixed_case_keywords() {
        // "API" and "api" fold to one pattern; both items hit; the text's case does not matter.
        let s = KeywordSignal::new(
            &[
                rule("upper", KeywordOperator::Or, &["API", "GraphQL"]),
                rule("lower", KeywordOperator::And, &["api", "rest"]),
            ],
            None,
        )
        .unwrap();
        let m = s.matches("A REST Api or graphql? rapid");
        assert_eq!(
            m.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
            vec!["upper", "lower"]
        );
        assert_eq!(m[0].evidence, r#""API", "GraphQL""#);
        assert_eq!(m[1].evidence, r#""api", "rest""#);
        assert_eq!(names(&s, "rapid restart"), Vec::<String>::new());
    }

    /// Brute force: does `kw` occur in `text` (ASCII case-insensitively) as a whole word?
    fn occurs_as_word(text: &str, kw: &str) -> bool {
        let (hay, kw) = (text.to_ascii_lowercase(), kw.to_ascii_lowercase());
        (0..hay.len()).any(|s| {
            hay.is_char_boundary(s)
                && hay[s..].starts_with(kw.as_str())
                && !hay[..s].chars().next_back().is_some_and(is_word)
                && !hay[s + kw.len()..].chars().next().is_some_and(is_word)
        })
    }

    #[test]
    fn non_overlapping_scan_finds_every_whole_word_hit() {
        // Keywords that overlap each other in every way: prefix ("the"/"theorem"), suffix
        // ("rem"/"theorem"), infix ("eor"), and suffix = prefix ("theorem"/"molecule",
        // "aba" with itself). Whole-word keywords of word characters only: the automaton is
        // scanned without overlaps, and each item must still hit exactly when brute force says.
        let kws = [
            "the", "theorem", "rem", "eor", "molecule", "mole", "aba", "em",
        ];
        let rules: Vec<KeywordRule> = kws
            .iter()
            .map(|k| rule(k, KeywordOperator::Or, &[k]))
            .collect();
        let s = KeywordSignal::new(&rules, None).unwrap();
        assert!(s.automata.iter().all(|a| a.disjoint));
        let pieces = [
            "the", "theorem", "Theorem", "rem", "eor", "olecule", "molecule", "mole", "aba", "ab",
            "em", " ", " ", ",", "x", "_",
        ];
        for text in crate::signals::random_texts(&pieces, 6, 5000, 0x9e37_79b9_7f4a_7c15) {
            let got = names(&s, &text);
            let want: Vec<String> = kws
                .iter()
                .filter(|k| occurs_as_word(&text, k))
                .map(|k| k.to_string())
                .collect();
            assert_eq!(got, want, "text {text:?}");
        }
    }

    #[test]
    fn keywords_with_non_word_characters_keep_the_overlapping_scan() {
        let s =
            KeywordSignal::new(&[rule("r", KeywordOperator::And, &["c++", "c"])], None).unwrap();
        assert!(!s.automata[0].disjoint);
        assert_eq!(names(&s, "c and c++"), vec!["r"]);
    }

    #[test]
    fn compiles_only_used_rules() {
        let used: BTreeSet<String> = ["b".to_string()].into();
        let s = KeywordSignal::new(
            &[
                rule("a", KeywordOperator::Or, &["x"]),
                rule("b", KeywordOperator::Or, &["y"]),
            ],
            Some(&used),
        )
        .unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(names(&s, "x y"), vec!["b"]);
    }

    /// The seed's operators over its scored methods and fuzzy matching (worked examples of
    /// `keyword_classifier_match.go` and `nlp-binding`'s classifiers).
    #[test]
    fn scored_methods_and_fuzzy_matching() {
        let mut bm25_and = rule(
            "bm25_and",
            KeywordOperator::And,
            &["code", "function", "debug"],
        );
        bm25_and.method = Some("bm25".into());
        let mut ngram_or = rule("ngram_or", KeywordOperator::Or, &["urgent", "asap"]);
        ngram_or.method = Some("ngram".into());
        let mut ngram_nor = rule("ngram_nor", KeywordOperator::Nor, &["urgent", "asap"]);
        ngram_nor.method = Some("ngram".into());
        let mut fuzzy = rule("fuzzy", KeywordOperator::And, &["password", "credentials"]);
        fuzzy.fuzzy_match = true;
        let s = KeywordSignal::new(&[bm25_and, ngram_or, ngram_nor, fuzzy], None).unwrap();
        // bm25 AND needs every keyword; stems count (debugging, functions).
        assert_eq!(
            names(&s, "debugging functions in my code"),
            vec!["bm25_and", "ngram_nor"]
        );
        assert_eq!(names(&s, "debug this function"), vec!["ngram_nor"]);
        // A misspelling: n-grams (5/9) and the NOR's complement; evidence carries the score.
        let m = s.matches("this is urgnet");
        assert_eq!(
            m.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
            vec!["ngram_or"]
        );
        assert_eq!(m[0].evidence, "\"urgent\" 0.556");
        // Fuzzy: pasword is 1 edit, credentails 2 (a transposition); a budget of 1 misses it.
        let m = s.matches("my pasword and credentails");
        let f = m.iter().find(|m| m.name == "fuzzy").unwrap();
        assert_eq!(f.evidence, "\"password\" (fuzzy), \"credentials\" (fuzzy)");
        let mut tight = rule("tight", KeywordOperator::And, &["password", "credentials"]);
        tight.fuzzy_match = true;
        tight.fuzzy_threshold = Some(1);
        let t = KeywordSignal::new(&[tight], None).unwrap();
        assert!(names(&t, "my pasword and credentails").is_empty());
        // An exact hit needs no fuzzy evidence.
        assert_eq!(names(&t, "my password and credentials"), vec!["tight"]);
    }
}
