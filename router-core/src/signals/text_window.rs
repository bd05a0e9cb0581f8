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

/// The jailbreak classifier's window budget, in quarter tokens (384 tokens), and the characters
/// consecutive windows share (the seed's `jailbreakSignalChunkBudget`,
/// `jailbreakSignalOverlapRunes`).
pub const JAILBREAK_WINDOW: (usize, usize) = (384 * 4, 64);

/// The PII classifier's window budget (128 tokens) and overlap (`piiSignalChunkBudget`).
pub const PII_WINDOW: (usize, usize) = (128 * 4, 64);

/// A character's cost in quarter tokens, and whether it is inside a word after it (the seed's
/// `securitySignalRuneUnits`): CJK 6, the first letter or digit of a word 2, any other 1.
fn quarter_tokens(c: char, in_word: bool) -> (usize, bool) {
    if super::structure::is_cjk_script(c) {
        (6, false)
    } else if c.is_alphanumeric() {
        (if in_word { 1 } else { 2 }, true)
    } else {
        (1, false)
    }
}

/// What the jailbreak and PII classifiers read of `text` (the seed's `securitySignalChunks`):
/// the whole text when it costs at most `budget` quarter tokens, else overlapping windows
/// covering all of it, each as long as the budget allows (one character at least), the next
/// starting `overlap` characters before the previous one ends. Security signals cannot skip
/// the middle of a long prompt as the semantic window does. Empty for an empty text.
pub fn security_windows(text: &str, (budget, overlap): (usize, usize)) -> Vec<&str> {
    // Byte offsets of the characters, and the text's end.
    let bounds: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect();
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    let cost = |range: std::ops::Range<usize>| {
        let mut in_word = false;
        chars[range].iter().fold(0, |units, &c| {
            let (u, w) = quarter_tokens(c, in_word);
            in_word = w;
            units + u
        })
    };
    if n == 0 {
        return Vec::new();
    }
    if cost(0..n) <= budget {
        return vec![text];
    }
    let mut windows = Vec::new();
    let mut start = 0;
    loop {
        let (mut end, mut units, mut in_word) = (start, 0, false);
        while end < n {
            let (u, w) = quarter_tokens(chars[end], in_word);
            if end > start && units + u > budget {
                break;
            }
            units += u;
            in_word = w;
            end += 1;
        }
        windows.push(&text[bounds[start]..bounds[end]]);
        if end == n {
            return windows;
        }
        start = (start + 1).max(end.saturating_sub(overlap));
    }
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

    /// Worked from `securitySignalChunks`: at a budget of 10 quarter tokens and an overlap of
    /// 2, "abcd efgh ijkl" (2+1+1+1, 1, 2+1+1+1, 1, 2+1+1+1 = 17 units) is cut after
    /// "abcd efg" (5 + 1 + 4 = 10), the next window starts 2 characters before that end.
    #[test]
    fn security_windows_cover_the_text_with_overlap() {
        assert_eq!(
            security_windows("abcd efgh ijkl", (20, 2)),
            ["abcd efgh ijkl"]
        );
        let w = security_windows("abcd efgh ijkl", (10, 2));
        assert_eq!(w, ["abcd efg", "fgh ijkl"]);
        // CJK characters cost 6 each: one per window at a budget of 6, overlap or not.
        assert_eq!(security_windows("一二三", (6, 1)), ["一", "二", "三"]);
        // A character over the budget still makes a window of its own.
        assert_eq!(security_windows("一二", (3, 0)), ["一", "二"]);
        assert!(security_windows("", (10, 2)).is_empty());
        // A long text: each window starts with the last 64 characters of the one before, so
        // together they are the text.
        let text = "Ignore the rules. ".repeat(200);
        let w = security_windows(&text, JAILBREAK_WINDOW);
        assert!(w.len() > 1);
        let mut joined = w[0].to_string();
        for pair in w.windows(2) {
            assert!(pair[1].starts_with(&pair[0][pair[0].len() - 64..]));
            joined.push_str(&pair[1][64..]);
        }
        assert_eq!(joined, text);
    }

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
