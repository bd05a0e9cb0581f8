//! Fixed, seeded train / validation / test assignment.

use std::collections::BTreeMap;

use crate::hashing::stable_hash;

/// One of the three splits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Split {
    /// Training rows.
    Train,
    /// Model selection rows.
    Validation,
    /// Held-out evaluation rows.
    Test,
}

impl Split {
    /// All splits in file order.
    pub const ALL: [Split; 3] = [Split::Train, Split::Validation, Split::Test];

    /// File-name form (`train`, `validation`, `test`).
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Validation => "validation",
            Split::Test => "test",
        }
    }
}

/// Split fractions in percent: train / validation / test = 80 / 10 / 10.
pub const TRAIN_PERCENT: u64 = 80;
/// Validation share in percent.
pub const VALIDATION_PERCENT: u64 = 10;

/// Assigns a whole group to a split from a seeded hash of its id (80/10/10 in expectation);
/// every row of a group therefore lands in the same split.
pub fn split_for_group(seed: u64, group: &str) -> Split {
    let bucket = stable_hash(seed, group.as_bytes()) % 100;
    if bucket < TRAIN_PERCENT {
        Split::Train
    } else if bucket < TRAIN_PERCENT + VALIDATION_PERCENT {
        Split::Validation
    } else {
        Split::Test
    }
}

/// Stratified assignment: within each stratum the items are ordered by a seeded hash of their
/// key and the first 80 % go to train, the next 10 % to validation, the rest to test
/// (rounded so that validation and test each get `round(n / 10)`).
/// Returns one split per input item.
pub fn stratified_split(seed: u64, strata: &[&str], keys: &[&str]) -> Vec<Split> {
    assert_eq!(strata.len(), keys.len(), "one stratum per key");
    let mut by_stratum: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, s) in strata.iter().enumerate() {
        by_stratum.entry(s).or_default().push(i);
    }
    let mut out = vec![Split::Train; keys.len()];
    for members in by_stratum.values_mut() {
        members.sort_by_key(|&i| (stable_hash(seed, keys[i].as_bytes()), keys[i]));
        let n = members.len();
        let n_val = (n * VALIDATION_PERCENT as usize + 50) / 100;
        let n_test = n_val;
        let n_train = n.saturating_sub(n_val + n_test);
        for (rank, &i) in members.iter().enumerate() {
            out[i] = if rank < n_train {
                Split::Train
            } else if rank < n_train + n_val {
                Split::Validation
            } else {
                Split::Test
            };
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stratified_split_gives_exact_shares_per_stratum() {
        let keys: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
        let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let strata: Vec<&str> = (0..40).map(|i| if i < 30 { "a" } else { "b" }).collect();
        let splits = stratified_split(3, &strata, &key_refs);
        let count = |s: &str, sp: Split| {
            (0..40)
                .filter(|&i| strata[i] == s && splits[i] == sp)
                .count()
        };
        // 30 -> 3 val, 3 test, 24 train; 10 -> 1, 1, 8
        assert_eq!(
            (
                count("a", Split::Train),
                count("a", Split::Validation),
                count("a", Split::Test)
            ),
            (24, 3, 3)
        );
        assert_eq!(
            (
                count("b", Split::Train),
                count("b", Split::Validation),
                count("b", Split::Test)
            ),
            (8, 1, 1)
        );
        assert_eq!(splits, stratified_split(3, &strata, &key_refs));
        assert_ne!(splits, stratified_split(4, &strata, &key_refs));
    }

    #[test]
    fn group_split_is_stable_and_roughly_80_10_10() {
        let mut counts = [0usize; 3];
        for i in 0..10_000 {
            let s = split_for_group(42, &format!("group-{i}"));
            assert_eq!(s, split_for_group(42, &format!("group-{i}")));
            counts[s as usize] += 1;
        }
        assert!((7_700..8_300).contains(&counts[0]), "{counts:?}");
        assert!((800..1_200).contains(&counts[1]), "{counts:?}");
        assert!((800..1_200).contains(&counts[2]), "{counts:?}");
    }
}
