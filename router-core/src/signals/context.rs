//! Context-length signal: does the conversation's size fall in a token band?
//!
//! Token count is a fast approximation over all message contents (no tokenizer): each CJK /
//! kana / hangul character counts as one token, every other character as a quarter token
//! (the usual ~4 characters per BPE token for English), rounded up per message. A rule matches
//! when `min_tokens <= count <= max_tokens` (bounds inclusive, `min` default 0, `max` default
//! unbounded). Confidence 1.0.

use super::{Signal, SignalKind, SignalMatch};
use crate::config::ContextRule;
use crate::request::RouteRequest;

/// Whether `c` is written without spaces between words (CJK ideographs, kana, hangul).
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF
            | 0x20000..=0x2FA1F)
}

/// Approximate token count of one text (see the module docs).
pub fn approx_tokens(text: &str) -> u64 {
    if text.is_ascii() {
        return (text.len() as u64).div_ceil(4);
    }
    // Every CJK range starts at U+3040 or above, whose UTF-8 lead byte is 0xE3 or more; text
    // without such a byte (accents, curly quotes) needs only a (vectorised) character count.
    if !text.bytes().any(|b| b >= 0xE3) {
        return (text.chars().count() as u64).div_ceil(4);
    }
    let (mut cjk, mut other) = (0u64, 0u64);
    for c in text.chars() {
        if is_cjk(c) {
            cjk += 1;
        } else {
            other += 1;
        }
    }
    cjk + other.div_ceil(4)
}

/// Approximate token count of a whole conversation.
pub fn conversation_tokens(request: &RouteRequest) -> u64 {
    request
        .messages
        .iter()
        .map(|m| approx_tokens(&m.content))
        .sum()
}

/// Bounds on [`conversation_tokens`] from byte lengths alone (no pass over the text): a CJK
/// character takes at least 3 bytes and counts 1, any other at most 4 bytes and counts 1/4, so
/// `n` bytes give between `n / 16` and `n / 3 + 1` tokens.
fn conversation_token_bounds(request: &RouteRequest) -> (u64, u64) {
    request.messages.iter().fold((0, 0), |(lo, hi), m| {
        let n = m.content.len() as u64;
        (lo + n / 16, hi + n / 3 + 1)
    })
}

/// Compiled context-length rules.
pub struct ContextSignal {
    rules: Vec<(String, u64, u64)>,
}

impl ContextSignal {
    /// Compiles the rules whose names are in `used` (all if `None`).
    pub fn new(rules: &[ContextRule], used: Option<&std::collections::BTreeSet<String>>) -> Self {
        let rules = rules
            .iter()
            .filter(|r| used.is_none_or(|u| u.contains(&r.name)))
            .map(|r| {
                (
                    r.name.clone(),
                    r.min_tokens.map_or(0, |t| t.0),
                    r.max_tokens.map_or(u64::MAX, |t| t.0),
                )
            })
            .collect();
        ContextSignal { rules }
    }

    /// The rules whose band contains `tokens`.
    pub fn matches(&self, tokens: u64) -> Vec<SignalMatch> {
        self.rules
            .iter()
            .filter(|(_, lo, hi)| (*lo..=*hi).contains(&tokens))
            .map(|(name, lo, hi)| SignalMatch {
                kind: SignalKind::Context,
                name: name.clone(),
                confidence: 1.0,
                evidence: if *hi == u64::MAX {
                    format!("~{tokens} tokens >= {lo}")
                } else {
                    format!("~{tokens} tokens in [{lo}, {hi}]")
                },
            })
            .collect()
    }
}

impl Signal for ContextSignal {
    fn kind(&self) -> SignalKind {
        SignalKind::Context
    }

    fn evaluate(&self, request: &RouteRequest) -> crate::Result<Vec<SignalMatch>> {
        // The usual case (a long-context band, a short request) needs no count at all.
        let (lower, upper) = conversation_token_bounds(request);
        if self
            .rules
            .iter()
            .all(|(_, lo, hi)| upper < *lo || lower > *hi)
        {
            return Ok(Vec::new());
        }
        Ok(self.matches(conversation_tokens(request)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TokenCount;
    use crate::request::ChatMessage;

    #[test]
    fn counts_tokens() {
        assert_eq!(approx_tokens(""), 0);
        assert_eq!(approx_tokens("abcd"), 1);
        assert_eq!(approx_tokens("abcde"), 2);
        assert_eq!(approx_tokens("你好世界"), 4);
        assert_eq!(approx_tokens("hi 你好"), 3); // "hi " -> 1, two ideographs -> 2
        assert_eq!(approx_tokens("héllo"), 2); // 5 non-CJK chars (6 bytes) -> 2
        assert_eq!(approx_tokens(&"a".repeat(9)), 3);
        // Curly quotes and the euro sign are 3-byte characters but not CJK: 9 chars -> 3.
        assert_eq!(approx_tokens("\u{2018}hi\u{2019} 5 \u{20ac}!"), 3);
        // Hiragana counts one token per character; Hangul jamo (U+3131) is not CJK here.
        assert_eq!(approx_tokens("ab \u{3042}"), 2);
        assert_eq!(approx_tokens(&"\u{3131}".repeat(5)), 2);
        let req = RouteRequest {
            messages: vec![
                ChatMessage::new("system", "x".repeat(40)),
                ChatMessage::new("user", "y".repeat(41)),
            ],
            ..Default::default()
        };
        assert_eq!(conversation_tokens(&req), 10 + 11);
    }

    #[test]
    fn bands_are_inclusive() {
        let rule = |name: &str, lo: Option<u64>, hi: Option<u64>| ContextRule {
            name: name.into(),
            min_tokens: lo.map(TokenCount),
            max_tokens: hi.map(TokenCount),
            description: None,
        };
        let s = ContextSignal::new(
            &[
                rule("short", None, Some(100)),
                rule("mid", Some(100), Some(1000)),
                rule("long", Some(1001), None),
            ],
            None,
        );
        let names = |t| s.matches(t).into_iter().map(|m| m.name).collect::<Vec<_>>();
        assert_eq!(names(0), vec!["short"]);
        assert_eq!(names(100), vec!["short", "mid"]);
        assert_eq!(names(1000), vec!["mid"]);
        assert_eq!(names(1001), vec!["long"]);
        assert_eq!(names(u64::MAX), vec!["long"]);
        assert_eq!(s.matches(500)[0].evidence, "~500 tokens in [100, 1000]");
        let req = RouteRequest::from_prompt("z".repeat(4 * 1001));
        assert_eq!(s.evaluate(&req).unwrap()[0].name, "long");
    }

    #[test]
    fn byte_bounds_hold_and_never_change_the_matches() {
        // ASCII, 2-byte, 3-byte non-CJK, CJK (3 bytes) and 4-byte (CJK extension B, emoji).
        let pieces = [
            "a",
            "word ",
            "é",
            "\u{2019}",
            "你",
            "\u{3042}",
            "\u{20000}",
            "\u{1F600}",
        ];
        let mut texts = crate::signals::random_texts(&pieces, 40, 3000, 11);
        // The extremes: the fewest tokens per byte (4-byte non-CJK) and the most (CJK).
        texts.extend([
            "\u{1F600}".repeat(64),
            "你".repeat(50),
            "a".repeat(7),
            String::new(),
        ]);
        let rule = |name: &str, lo: u64, hi: Option<u64>| ContextRule {
            name: name.into(),
            min_tokens: Some(TokenCount(lo)),
            max_tokens: hi.map(TokenCount),
            description: None,
        };
        for (i, text) in texts.iter().enumerate() {
            let cut = (0..=text.len() / (1 + i % 3))
                .rev()
                .find(|&c| text.is_char_boundary(c))
                .expect("0 is a boundary");
            let req = RouteRequest::from_prompt(&text[..cut]);
            let exact = conversation_tokens(&req);
            let (lo, hi) = conversation_token_bounds(&req);
            assert!(
                lo <= exact && exact <= hi,
                "{lo} <= {exact} <= {hi}: {text:?}"
            );
            // Bands just around the exact count and far from it.
            let s = ContextSignal::new(
                &[
                    rule("at", exact, Some(exact)),
                    rule("above", exact + 1, None),
                    rule("below", 0, Some(exact.saturating_sub(1))),
                    rule("far", 10 * hi + 1, None),
                ],
                None,
            );
            assert_eq!(s.evaluate(&req).unwrap(), s.matches(exact), "{text:?}");
            let far = ContextSignal::new(&[rule("far", 10 * hi + 1, None)], None);
            assert!(far.evaluate(&req).unwrap().is_empty());
        }
    }
}
