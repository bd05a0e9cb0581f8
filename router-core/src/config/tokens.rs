//! Token counts written as `4096`, `32K`, `256k` or `1M` (K = 1,000; M = 1,000,000, as vLLM SR).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A number of tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenCount(pub u64);

impl TokenCount {
    /// Parses `32K`, `1M`, `1.5K`, `4096` (surrounding whitespace allowed).
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let (num, mult) = match t.chars().last() {
            Some('k' | 'K') => (&t[..t.len() - 1], 1_000.0),
            Some('m' | 'M') => (&t[..t.len() - 1], 1_000_000.0),
            _ => (t, 1.0),
        };
        let v: f64 = num
            .trim()
            .parse()
            .map_err(|_| format!("invalid token count {s:?} (expected e.g. 4096, 32K, 1M)"))?;
        if !v.is_finite() || v < 0.0 {
            return Err(format!("invalid token count {s:?} (must be >= 0)"));
        }
        Ok(TokenCount((v * mult).round() as u64))
    }
}

impl fmt::Display for TokenCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for TokenCount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for TokenCount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = TokenCount;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a token count such as 4096, 32K or 1M")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<TokenCount, E> {
                Ok(TokenCount(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<TokenCount, E> {
                u64::try_from(v)
                    .map(TokenCount)
                    .map_err(|_| E::custom(format!("invalid token count {v} (must be >= 0)")))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<TokenCount, E> {
                TokenCount::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<TokenCount, E> {
                TokenCount::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::TokenCount;

    #[test]
    fn parses_suffixes() {
        assert_eq!(TokenCount::parse("32K"), Ok(TokenCount(32_000)));
        assert_eq!(TokenCount::parse("256k"), Ok(TokenCount(256_000)));
        assert_eq!(TokenCount::parse("1M"), Ok(TokenCount(1_000_000)));
        assert_eq!(TokenCount::parse("1.5K"), Ok(TokenCount(1_500)));
        assert_eq!(TokenCount::parse(" 4096 "), Ok(TokenCount(4096)));
        assert!(TokenCount::parse("lots").is_err());
        assert!(TokenCount::parse("-3K").is_err());
        assert!(TokenCount::parse("").is_err());
    }
}
