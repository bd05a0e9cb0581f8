//! Token classification (`BertForTokenClassification`): BIO tags aggregated into entity spans.

use std::path::Path;

use candle_core::Module;
use candle_nn::Linear;
use serde::Serialize;
use tokenizers::Encoding;

use super::bert::softmax;
use super::loaded::{Core, Loaded};
use super::options::InferenceOptions;
use super::sequence::load_head;
use super::source::ModelSource;
use crate::export::Task;
use crate::{Error, Result};

/// A labelled span of the input text.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Entity {
    /// Entity type (the tag without its `B-`/`I-` prefix), e.g. `EMAIL_ADDRESS`.
    pub label: String,
    /// Start offset in characters (Unicode scalar values) of the input.
    pub start: usize,
    /// End offset (exclusive) in characters.
    pub end: usize,
    /// The covered text.
    pub text: String,
    /// Mean probability of the predicted tag over the entity's tokens.
    pub score: f32,
}

/// One real token's prediction, input to [`aggregate_bio`].
#[derive(Debug, Clone, PartialEq)]
pub struct TokenTag {
    /// Predicted tag (`B-X`, `I-X`, `X` or `O`).
    pub tag: String,
    /// Its probability.
    pub prob: f32,
    /// Character offsets of the token in the input.
    pub start: usize,
    /// End offset (exclusive).
    pub end: usize,
}

/// Default number of tokens consecutive windows share when a long input is split (capped so
/// that every window still advances by at least half of its text tokens).
pub const DEFAULT_WINDOW_OVERLAP: usize = 64;

/// A tagger: encoder and a linear head over every token. Inputs longer than `max_length` are
/// tagged in overlapping windows (see [`TokenClassifier::with_window_overlap`]).
pub struct TokenClassifier {
    core: Core,
    classifier: Linear,
    labels: Vec<String>,
}

impl TokenClassifier {
    /// Loads a `BertForTokenClassification` directory (`bert.*`, `classifier.{weight,bias}`,
    /// tags from `id2label`).
    pub fn load(source: &ModelSource, options: &InferenceOptions) -> Result<Self> {
        let l = Loaded::open(source)?;
        if l.config.task() != Some(Task::TokenClassification) {
            return Err(Error::Model {
                path: l.config_path(),
                message: format!(
                    "architectures {:?} do not include {}",
                    l.config.architectures,
                    Task::TokenClassification.architecture()
                ),
            });
        }
        let (classifier, labels) = load_head(&l, l.config.hidden_size)?;
        let mut core = l.core(options)?;
        let overlap = DEFAULT_WINDOW_OVERLAP.min(core.text.max_length().saturating_sub(2) / 2);
        core.text.set_window_overlap(overlap)?;
        Ok(TokenClassifier {
            core,
            classifier,
            labels,
        })
    }

    /// Sets how many tokens consecutive windows of a long input share (default
    /// [`DEFAULT_WINDOW_OVERLAP`], at most half a window). Must be below the window's text tokens.
    pub fn with_window_overlap(mut self, overlap: usize) -> Result<Self> {
        self.core.text.set_window_overlap(overlap)?;
        Ok(self)
    }

    /// Tag names, indexed like the logits.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The model directory.
    pub fn dir(&self) -> &Path {
        &self.core.dir
    }

    /// Logits of every real token (special tokens included, padding excluded) of each text's
    /// first window.
    pub fn logits_batch(&self, texts: &[&str]) -> Result<Vec<Vec<Vec<f32>>>> {
        self.core.runtime.run(|| {
            let encodings = self.core.text.encode(texts, true)?;
            let first: Vec<Encoding> = encodings
                .iter()
                .filter_map(|e| self.core.text.windows(e).next())
                .collect();
            self.per_token(&first, false)
        })
    }

    /// Tags of every non-special token per text, in text order. A text longer than one window
    /// is tagged window by window and the windows merged with [`merge_windows`].
    pub fn tags_batch(&self, texts: &[&str]) -> Result<Vec<Vec<TokenTag>>> {
        self.core.runtime.run(|| {
            let encodings = self.core.text.encode(texts, true)?;
            // Every window of every text, remembering its text.
            let mut owner = Vec::new();
            let mut windows = Vec::new();
            for (i, enc) in encodings.iter().enumerate() {
                for e in self.core.text.windows(enc) {
                    owner.push(i);
                    windows.push(e);
                }
            }
            let probs = self.per_token(&windows, true)?;
            let mut per_text: Vec<Vec<Vec<TokenTag>>> = vec![Vec::new(); texts.len()];
            for ((i, enc), p) in owner.into_iter().zip(&windows).zip(probs) {
                per_text[i].push(self.tags(enc, &p));
            }
            Ok(per_text.into_iter().map(merge_windows).collect())
        })
    }

    /// Entities found in each text.
    pub fn entities_batch(&self, texts: &[&str]) -> Result<Vec<Vec<Entity>>> {
        Ok(self
            .tags_batch(texts)?
            .iter()
            .zip(texts)
            .map(|(tags, text)| aggregate_bio(text, tags))
            .collect())
    }

    /// Entities found in one text.
    pub fn entities(&self, text: &str) -> Result<Vec<Entity>> {
        Ok(self.entities_batch(&[text])?.remove(0))
    }

    /// Per-token logits (or probabilities) for real tokens.
    fn per_token(&self, encodings: &[Encoding], probs: bool) -> Result<Vec<Vec<Vec<f32>>>> {
        super::tokenize::run_sorted(encodings, self.core.batch_size, |batch| {
            let (hidden, _) = self.core.hidden(batch)?;
            let mut out = self.classifier.forward(&hidden)?;
            if probs {
                out = softmax(&out)?;
            }
            let all = out.to_vec3::<f32>()?;
            Ok(all
                .into_iter()
                .zip(batch)
                .map(|(mut rows, enc)| {
                    rows.truncate(enc.len());
                    rows
                })
                .collect())
        })
    }

    fn tags(&self, enc: &Encoding, probs: &[Vec<f32>]) -> Vec<TokenTag> {
        enc.get_special_tokens_mask()
            .iter()
            .zip(enc.get_offsets())
            .zip(probs)
            .filter(|((&special, _), _)| special == 0)
            .map(|((_, &(start, end)), p)| {
                let (best, &prob) = p
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .unwrap_or((0, &0.0));
                TokenTag {
                    tag: self.labels[best].clone(),
                    prob,
                    start,
                    end,
                }
            })
            .collect()
    }
}

/// Merges the tags of overlapping windows of one text (in window order) into one tag per
/// token, in text order. A token seen by two windows (same character span) keeps the tag of
/// the window where it sits farther from the window's edge, i.e. with more context on both
/// sides; ties go to the earlier window.
pub fn merge_windows(windows: Vec<Vec<TokenTag>>) -> Vec<TokenTag> {
    let mut best: std::collections::BTreeMap<(usize, usize), (usize, TokenTag)> =
        std::collections::BTreeMap::new();
    for window in windows {
        let n = window.len();
        for (j, tag) in window.into_iter().enumerate() {
            let margin = j.min(n - 1 - j);
            let key = (tag.start, tag.end);
            match best.get(&key) {
                Some((m, _)) if *m >= margin => {}
                _ => {
                    best.insert(key, (margin, tag));
                }
            }
        }
    }
    best.into_values().map(|(_, t)| t).collect()
}

/// Groups tagged tokens into entities with router-core's one BIO decoder
/// ([`crate::bio::spans`]: `B-X` starts an entity, `I-X` or a bare `X` extends the open entity
/// of type `X` or starts one, `O` closes it); an entity covers its tokens' characters and
/// scores the mean of their probabilities. Sub-word pieces keep their own tags.
pub fn aggregate_bio(text: &str, tags: &[TokenTag]) -> Vec<Entity> {
    crate::bio::spans(tags.iter().map(|t| t.tag.as_str()))
        .into_iter()
        .map(|span| {
            let tokens = &tags[span.start..span.end];
            let start = tokens[0].start;
            let end = tokens.iter().map(|t| t.end).max().unwrap_or(start);
            Entity {
                label: span.label.to_string(),
                start,
                end,
                text: text.chars().skip(start).take(end - start).collect(),
                score: tokens.iter().map(|t| t.prob).sum::<f32>() / tokens.len() as f32,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(tag: &str, prob: f32, start: usize, end: usize) -> TokenTag {
        TokenTag {
            tag: tag.into(),
            prob,
            start,
            end,
        }
    }

    #[test]
    fn bio_groups_spans_and_averages_scores() {
        let text = "mail bob@x.io now, call Ann Lee";
        let tags = [
            tag("O", 0.9, 0, 4),
            tag("B-EMAIL", 0.8, 5, 8),
            tag("I-EMAIL", 0.6, 8, 9),
            tag("I-EMAIL", 0.7, 9, 13),
            tag("O", 0.9, 14, 17),
            tag("O", 0.9, 17, 18),
            tag("O", 0.9, 19, 23),
            tag("B-PER", 0.5, 24, 27),
            tag("I-PER", 1.0, 28, 31),
        ];
        let e = aggregate_bio(text, &tags);
        assert_eq!(e.len(), 2);
        assert_eq!(
            (e[0].label.as_str(), e[0].start, e[0].end),
            ("EMAIL", 5, 13)
        );
        assert_eq!(e[0].text, "bob@x.io");
        assert!((e[0].score - 0.7).abs() < 1e-6);
        assert_eq!(e[1].text, "Ann Lee");
        assert!((e[1].score - 0.75).abs() < 1e-6);
    }

    #[test]
    fn b_tag_and_type_change_split_entities() {
        let text = "ab cd ef";
        let tags = [
            tag("B-X", 1.0, 0, 2),
            tag("B-X", 1.0, 3, 5),
            tag("I-Y", 0.5, 6, 8),
        ];
        let e = aggregate_bio(text, &tags);
        let spans: Vec<_> = e
            .iter()
            .map(|e| (e.label.as_str(), e.text.as_str()))
            .collect();
        assert_eq!(spans, [("X", "ab"), ("X", "cd"), ("Y", "ef")]);
    }

    #[test]
    fn merged_windows_keep_one_tag_per_token_and_find_late_entities() {
        // "aa bb cc dd ee ff": windows of 3 tokens sharing 1 token.
        let text = "aa bb cc dd ee ff";
        let w1 = vec![
            tag("O", 0.9, 0, 2),
            tag("O", 0.9, 3, 5),
            tag("B-X", 0.6, 6, 8),
        ];
        let w2 = vec![
            tag("O", 0.8, 6, 8),
            tag("B-X", 0.7, 9, 11),
            tag("I-X", 0.5, 12, 14),
        ];
        let w3 = vec![tag("I-X", 0.4, 12, 14), tag("O", 0.9, 15, 17)];
        let merged = merge_windows(vec![w1, w2, w3]);
        let spans: Vec<_> = merged
            .iter()
            .map(|t| (t.start, t.end, t.tag.as_str()))
            .collect();
        // "cc" is at the edge of window 1 and the edge of window 2: the earlier one wins;
        // "ee" is at window 2's edge and window 3's edge too: window 2 wins.
        assert_eq!(
            spans,
            [
                (0, 2, "O"),
                (3, 5, "O"),
                (6, 8, "B-X"),
                (9, 11, "B-X"),
                (12, 14, "I-X"),
                (15, 17, "O")
            ]
        );
        assert_eq!(merged[4].prob, 0.5);
        let e = aggregate_bio(text, &merged);
        let found: Vec<_> = e
            .iter()
            .map(|e| (e.text.as_str(), e.start, e.end))
            .collect();
        assert_eq!(found, [("cc", 6, 8), ("dd ee", 9, 14)]);
    }

    #[test]
    fn merged_windows_prefer_the_window_with_more_context() {
        // Token (4, 5) is last in window 1 but in the middle of window 2.
        let w1 = vec![
            tag("O", 1.0, 0, 1),
            tag("O", 1.0, 2, 3),
            tag("O", 1.0, 4, 5),
        ];
        let w2 = vec![
            tag("O", 1.0, 2, 3),
            tag("B-Y", 0.8, 4, 5),
            tag("O", 1.0, 6, 7),
        ];
        let merged = merge_windows(vec![w1, w2]);
        assert_eq!(merged.len(), 4);
        assert_eq!(merged[2].tag, "B-Y");
        assert!(merge_windows(Vec::new()).is_empty());
    }

    #[test]
    fn offsets_are_characters() {
        let text = "é Zoë";
        let e = aggregate_bio(text, &[tag("PER", 1.0, 2, 5)]);
        assert_eq!(e[0].text, "Zoë");
    }
}
