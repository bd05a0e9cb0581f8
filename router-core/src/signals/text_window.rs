//! The text a semantic signal reads (the seed's `textForRoutingSignal`,
//! `pkg/classification/classifier_signal_text_window.go`): a request longer than
//! [`SEMANTIC_RUNE_LIMIT`] characters is sampled as its head, middle and tail thirds joined by
//! [`OMISSION_MARKER`], so one long request costs one bounded forward pass. Exact-match signals
//! (keywords, structure, context) read the whole text.

use std::borrow::Cow;

/// Characters (Unicode scalar values) one semantic signal reads.
pub const SEMANTIC_RUNE_LIMIT: usize = 2 * 1024;

/// What stands between the sampled parts.
pub const OMISSION_MARKER: &str = "\n... [content sampled for routing signal evaluation] ...\n";

/// `text` itself when it has at most `max` characters, else its first `max / 3`, the `max / 3`
/// around its middle and its last `max − 2·(max / 3)`, joined by [`OMISSION_MARKER`].
pub fn representative(text: &str, max: usize) -> Cow<'_, str> {
    let chars: Vec<char> = text.chars().collect();
    if max == 0 || chars.len() <= max {
        return Cow::Borrowed(text);
    }
    let (head, middle) = (max / 3, max / 3);
    let tail = max - head - middle;
    let start = (chars.len() - middle) / 2;
    let part = |r: std::ops::Range<usize>| chars[r].iter().collect::<String>();
    Cow::Owned(format!(
        "{}{OMISSION_MARKER}{}{OMISSION_MARKER}{}",
        part(0..head),
        part(start..start + middle),
        part(chars.len() - tail..chars.len())
    ))
}

/// The text the structure, fact-check and feedback signals read (the seed's routing text,
/// `prepareSignalEvaluationInput`): the last user message with text, else the system,
/// developer and assistant messages joined by spaces.
pub fn routing_text(request: &crate::request::RouteRequest) -> Cow<'_, str> {
    let user = request.user_text();
    if !user.is_empty() {
        return user.into();
    }
    let others: Vec<&str> = request
        .messages
        .iter()
        .filter(|m| matches!(m.role.as_str(), "system" | "developer" | "assistant"))
        .map(|m| m.content.as_str())
        .filter(|c| !c.is_empty())
        .collect();
    others.join(" ").into()
}

/// What the domain, embedding and language signals read of `text`.
pub fn semantic(text: &str) -> Cow<'_, str> {
    representative(text, SEMANTIC_RUNE_LIMIT)
}

/// The results of `requests`, each from the embedding of its last user message read through
/// [`semantic`], embedded in one batch: what the embedding, complexity and knowledge-base
/// signals compare. With no rules (`rules` false) nothing is embedded and nothing is found.
pub(crate) fn match_embedded(
    model: &crate::inference::Stored<crate::inference::Embedder>,
    requests: &[&crate::request::RouteRequest],
    rules: bool,
    matches: impl Fn(&[f32]) -> super::SignalResults,
) -> crate::Result<Vec<super::SignalResults>> {
    if !rules {
        return Ok(vec![super::SignalResults::default(); requests.len()]);
    }
    let windows: Vec<Cow<'_, str>> = requests.iter().map(|r| semantic(r.user_text())).collect();
    let texts: Vec<&str> = windows.iter().map(|w| w.as_ref()).collect();
    Ok(model
        .embed_batch(&texts)?
        .iter()
        .map(|q| matches(q))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_keep_head_middle_and_tail() {
        // The seed's TestTextForRoutingSignalBoundsSemanticInferenceButPreservesExactSignals.
        let long =
            "a".repeat(SEMANTIC_RUNE_LIMIT) + "middle-marker" + &"z".repeat(SEMANTIC_RUNE_LIMIT);
        let s = semantic(&long);
        let marker = OMISSION_MARKER.chars().count();
        assert_eq!(s.chars().count(), SEMANTIC_RUNE_LIMIT + 2 * marker);
        assert!(s.starts_with(&"a".repeat(682)) && s.ends_with(&"z".repeat(684)));
        assert!(s.contains("middle-marker"));
        // Worked by hand: 10 characters at a limit of 6 keep 2 + 2 (from (10 − 2) / 2 = 4) + 2.
        assert_eq!(
            representative("0123456789", 6),
            format!("01{OMISSION_MARKER}45{OMISSION_MARKER}89")
        );
        // Characters, not bytes: 7 CJK characters at a limit of 6.
        assert_eq!(
            representative("一二三四五六七", 6),
            format!("一二{OMISSION_MARKER}三四{OMISSION_MARKER}六七")
        );
        assert!(matches!(semantic("short"), Cow::Borrowed("short")));
    }
}
