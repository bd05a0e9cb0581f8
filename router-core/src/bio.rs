//! The one BIO decoder: how a sequence of `B-X` / `I-X` / `X` / `O` tags becomes entity spans.
//! The PII signal (over token tags, [`crate::inference::aggregate_bio`]) and training's
//! entity-level F1 both use it, so a model is scored on the entities it will serve.
//!
//! `B-X` starts an entity of type `X`; `I-X` (or a bare `X`) extends the open entity when it
//! has type `X` and starts one otherwise; `O` (or an empty tag) closes it.

/// An entity over tag positions `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TagSpan<'a> {
    /// Entity type (the tag without `B-` / `I-`).
    pub label: &'a str,
    /// First tag position.
    pub start: usize,
    /// One past the last.
    pub end: usize,
}

/// Splits a tag into (begins an entity, entity type); `None` for `O`.
fn parse(tag: &str) -> Option<(bool, &str)> {
    if tag == "O" || tag.is_empty() {
        return None;
    }
    if let Some(t) = tag.strip_prefix("B-") {
        return Some((true, t));
    }
    Some((false, tag.strip_prefix("I-").unwrap_or(tag)))
}

/// The entity spans of one tag sequence, in order.
pub fn spans<'a, I>(tags: I) -> Vec<TagSpan<'a>>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut out: Vec<TagSpan<'a>> = Vec::new();
    let mut open: Option<TagSpan<'a>> = None;
    for (i, tag) in tags.into_iter().enumerate() {
        match parse(tag) {
            None => out.extend(open.take()),
            Some((begin, label)) => match open.as_mut() {
                Some(o) if !begin && o.label == label => o.end = i + 1,
                _ => {
                    out.extend(open.take());
                    open = Some(TagSpan {
                        label,
                        start: i,
                        end: i + 1,
                    });
                }
            },
        }
    }
    out.extend(open);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(label: &str, start: usize, end: usize) -> TagSpan<'_> {
        TagSpan { label, start, end }
    }

    #[test]
    fn spans_by_hand() {
        let tags = [
            "B-PER", "I-PER", "O", "I-LOC", "I-LOC", "B-LOC", "I-PER", "PER", "", "B-X",
        ];
        assert_eq!(
            spans(tags),
            [
                s("PER", 0, 2),
                s("LOC", 3, 5),
                s("LOC", 5, 6),
                s("PER", 6, 8),
                s("X", 9, 10)
            ]
        );
        assert!(spans([]).is_empty());
        assert!(spans(["O", "O"]).is_empty());
    }
}
