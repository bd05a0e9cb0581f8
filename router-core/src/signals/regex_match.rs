//! Testing a list of regexes against a text, with an ASCII fast path.
//!
//! Unicode classes (`\d`, `\s`, `\w`) leave the regex engine no literal to skip ahead with, so
//! every byte of the text goes through its automaton. On an ASCII text, a regex written in
//! ASCII matches exactly when the same regex compiled without Unicode support matches: every
//! Unicode class restricted to ASCII is its ASCII class, and case folding of ASCII letters to
//! non-ASCII ones (`k` to the Kelvin sign, `s` to `ſ`) cannot matter when the text has none.
//! That ASCII form is usually about ten times faster, so it is compiled alongside and used for
//! ASCII texts; other texts, evidence offsets and regexes that need Unicode (`\p{Greek}`, a
//! non-ASCII pattern) use the Unicode form.
//!
//! Up to [`MAX_SEPARATE_REGEXES`] regexes are tested one by one (each stops at its first
//! hit); more are compiled into one `RegexSet` scanned once.

use regex::{bytes, Regex, RegexSet};

/// Regex count up to which each regex is tested on its own rather than through a set.
pub const MAX_SEPARATE_REGEXES: usize = 8;

/// One form (Unicode or ASCII) of the regex list.
enum Form<R, S> {
    Separate(Vec<R>),
    Set(S),
}

/// A compiled list of regexes.
pub struct RegexList {
    /// The regexes as given (for [`RegexList::find`]).
    regexes: Vec<Regex>,
    /// A set of all of them, when there are more than [`MAX_SEPARATE_REGEXES`].
    set: Option<RegexSet>,
    /// The ASCII form, when every regex has one.
    ascii: Option<Form<bytes::Regex, bytes::RegexSet>>,
}

/// Whether `source` has an equivalent ASCII form: it is ASCII itself and compiles without
/// Unicode support (so it uses no `\p{..}` class and cannot match invalid UTF-8 wrongly).
fn ascii_form(source: &str) -> Option<bytes::Regex> {
    if !source.is_ascii() {
        return None;
    }
    bytes::RegexBuilder::new(source).unicode(false).build().ok()
}

impl RegexList {
    /// Compiles `sources` (full regex sources, flags included). Fails like [`RegexSet::new`].
    pub fn new(sources: &[String]) -> Result<RegexList, regex::Error> {
        let regexes = sources
            .iter()
            .map(|s| Regex::new(s))
            .collect::<Result<Vec<_>, _>>()?;
        let many = sources.len() > MAX_SEPARATE_REGEXES;
        let set = many.then(|| RegexSet::new(sources)).transpose()?;
        let ascii_regexes: Option<Vec<bytes::Regex>> =
            sources.iter().map(|s| ascii_form(s)).collect();
        let ascii = match ascii_regexes {
            Some(_) if many => bytes::RegexSetBuilder::new(sources)
                .unicode(false)
                .build()
                .ok()
                .map(Form::Set),
            Some(list) => Some(Form::Separate(list)),
            None => None,
        };
        Ok(RegexList {
            regexes,
            set,
            ascii,
        })
    }

    /// Number of regexes.
    pub fn len(&self) -> usize {
        self.regexes.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.regexes.is_empty()
    }

    /// Whether the regexes are scanned as one set (more than [`MAX_SEPARATE_REGEXES`]).
    pub fn uses_set(&self) -> bool {
        self.set.is_some()
    }

    /// Whether the ASCII fast path is available.
    pub fn has_ascii_form(&self) -> bool {
        self.ascii.is_some()
    }

    /// Calls `hit(i)` for every regex `i` that matches somewhere in `text`, in index order.
    pub fn matching(&self, text: &str, hit: impl FnMut(usize)) {
        if let Some(ascii) = self.ascii.as_ref().filter(|_| text.is_ascii()) {
            let bytes = text.as_bytes();
            match ascii {
                Form::Separate(list) => (0..list.len())
                    .filter(|&i| list[i].is_match(bytes))
                    .for_each(hit),
                Form::Set(set) => set.matches(bytes).iter().for_each(hit),
            }
            return;
        }
        match &self.set {
            Some(set) => set.matches(text).iter().for_each(hit),
            None => (0..self.regexes.len())
                .filter(|&i| self.regexes[i].is_match(text))
                .for_each(hit),
        }
    }

    /// The leftmost match of regex `i` in `text`.
    pub fn find<'t>(&self, i: usize, text: &'t str) -> Option<&'t str> {
        self.regexes[i].find(text).map(|m| m.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(list: &RegexList, text: &str) -> Vec<usize> {
        let mut out = Vec::new();
        list.matching(text, |i| out.push(i));
        out
    }

    /// The reference: every regex tested with its Unicode form.
    fn unicode_hits(list: &RegexList, text: &str) -> Vec<usize> {
        (0..list.len())
            .filter(|&i| list.regexes[i].is_match(text))
            .collect()
    }

    const PATTERNS: [&str; 12] = [
        r"(?i:\d+\s*[-+*/^]\s*\d+)",
        r"\bk\w*s\b",
        r"(?i:kelvin)",
        r"(?i)s{2}",
        r"[^a-z ]{3}",
        r"\W\D\S",
        r"^\s*$",
        r"a.b",
        r"(?s:a.b)",
        r"\d{3}-\d{2}",
        r"(?i)\bSELECT\b",
        r"x+y?z*$",
    ];

    #[test]
    fn ascii_form_agrees_with_unicode_form_on_ascii_texts() {
        let sources: Vec<String> = PATTERNS.iter().map(|s| s.to_string()).collect();
        let few = RegexList::new(&sources[..MAX_SEPARATE_REGEXES]).unwrap();
        let many = RegexList::new(&sources).unwrap();
        assert!(few.has_ascii_form() && many.has_ascii_form());
        let pieces = [
            "12", " + ", "3", "-", "\n", "K", "kS", "s", "S", " ", "a", "b", "a\nb", "x", "y", "z",
            "_", "!", "select", "SeLeCt", "ss", "42-17", "\t",
        ];
        for text in crate::signals::random_texts(&pieces, 7, 4000, 0x2545_f491_4f6c_dd1d) {
            assert_eq!(hits(&few, &text), unicode_hits(&few, &text), "{text:?}");
            assert_eq!(hits(&many, &text), unicode_hits(&many, &text), "{text:?}");
        }
    }

    #[test]
    fn non_ascii_texts_and_patterns_use_the_unicode_form() {
        // Unicode digits and the Kelvin sign only match through the Unicode form.
        let list = RegexList::new(&[r"\d+\s*\+\s*\d+".into(), r"(?i:k)".into()]).unwrap();
        assert!(list.has_ascii_form());
        assert_eq!(hits(&list, "٣ + ٤"), vec![0]);
        assert_eq!(hits(&list, "\u{212A}"), vec![1]);
        // `\p{..}` and non-ASCII patterns have no ASCII form: the whole list keeps Unicode.
        let greek = RegexList::new(&[r"\p{Greek}+".into(), r"x".into()]).unwrap();
        assert!(!greek.has_ascii_form());
        assert_eq!(hits(&greek, "alpha α x"), vec![0, 1]);
        let folded = RegexList::new(&[r"(?i:ſ)".into()]).unwrap();
        assert!(!folded.has_ascii_form());
        assert_eq!(hits(&folded, "S"), vec![0]);
    }

    #[test]
    fn find_reports_the_leftmost_match() {
        let list = RegexList::new(&[r"\d+".into()]).unwrap();
        assert_eq!(list.find(0, "a 12 b 345"), Some("12"));
        assert_eq!(list.find(0, "none"), None);
    }
}
