//! Language signal: the detected language of the last user message (whatlang; sampled to at
//! most 2,048 characters, [`super::text_window`]).
//!
//! A rule's name is an ISO 639-1 code (`en`, `zh`, `es`; ISO 639-3 such as `cmn` is accepted
//! too). The rule matches when whatlang's detected language is that language and its
//! confidence is at least the rule's `threshold` (default 0: any detection counts; whatlang's
//! confidence scale differs from vLLM's lingua-go, so vLLM's implicit 0.3 default is not
//! applied). Confidence of the match = whatlang's confidence.

use whatlang::Lang;

use super::{Signal, SignalKind, SignalMatch};
use crate::config::LanguageRule;
use crate::request::RouteRequest;

/// ISO 639-1 codes of the languages whatlang detects.
const ISO_639_1: [(Lang, &str); 69] = [
    (Lang::Epo, "eo"),
    (Lang::Eng, "en"),
    (Lang::Rus, "ru"),
    (Lang::Cmn, "zh"),
    (Lang::Spa, "es"),
    (Lang::Por, "pt"),
    (Lang::Ita, "it"),
    (Lang::Ben, "bn"),
    (Lang::Fra, "fr"),
    (Lang::Deu, "de"),
    (Lang::Ukr, "uk"),
    (Lang::Kat, "ka"),
    (Lang::Ara, "ar"),
    (Lang::Hin, "hi"),
    (Lang::Jpn, "ja"),
    (Lang::Heb, "he"),
    (Lang::Yid, "yi"),
    (Lang::Pol, "pl"),
    (Lang::Amh, "am"),
    (Lang::Jav, "jv"),
    (Lang::Kor, "ko"),
    (Lang::Nob, "nb"),
    (Lang::Dan, "da"),
    (Lang::Swe, "sv"),
    (Lang::Fin, "fi"),
    (Lang::Tur, "tr"),
    (Lang::Nld, "nl"),
    (Lang::Hun, "hu"),
    (Lang::Ces, "cs"),
    (Lang::Ell, "el"),
    (Lang::Bul, "bg"),
    (Lang::Bel, "be"),
    (Lang::Mar, "mr"),
    (Lang::Kan, "kn"),
    (Lang::Ron, "ro"),
    (Lang::Slv, "sl"),
    (Lang::Hrv, "hr"),
    (Lang::Srp, "sr"),
    (Lang::Mkd, "mk"),
    (Lang::Lit, "lt"),
    (Lang::Lav, "lv"),
    (Lang::Est, "et"),
    (Lang::Tam, "ta"),
    (Lang::Vie, "vi"),
    (Lang::Urd, "ur"),
    (Lang::Tha, "th"),
    (Lang::Guj, "gu"),
    (Lang::Uzb, "uz"),
    (Lang::Pan, "pa"),
    (Lang::Aze, "az"),
    (Lang::Ind, "id"),
    (Lang::Tel, "te"),
    (Lang::Pes, "fa"),
    (Lang::Mal, "ml"),
    (Lang::Ori, "or"),
    (Lang::Mya, "my"),
    (Lang::Nep, "ne"),
    (Lang::Sin, "si"),
    (Lang::Khm, "km"),
    (Lang::Tuk, "tk"),
    (Lang::Aka, "ak"),
    (Lang::Zul, "zu"),
    (Lang::Sna, "sn"),
    (Lang::Afr, "af"),
    (Lang::Lat, "la"),
    (Lang::Slk, "sk"),
    (Lang::Cat, "ca"),
    (Lang::Tgl, "tl"),
    (Lang::Hye, "hy"),
];

/// The whatlang language of an ISO 639-1 (or 639-3) code, case-insensitive; `no` means `nb`.
pub fn lang_from_code(code: &str) -> Option<Lang> {
    let c = code.trim().to_ascii_lowercase();
    let c = if c == "no" { "nb".to_string() } else { c };
    ISO_639_1
        .iter()
        .find(|(_, iso)| *iso == c)
        .map(|(l, _)| *l)
        .or_else(|| Lang::from_code(c))
}

/// The ISO 639-1 code of a whatlang language.
pub fn iso_639_1(lang: Lang) -> &'static str {
    ISO_639_1
        .iter()
        .find(|(l, _)| *l == lang)
        .map(|(_, c)| *c)
        .unwrap_or_else(|| lang.code())
}

/// Compiled language rules.
pub struct LanguageSignal {
    rules: Vec<(String, Lang, f64)>,
}

impl LanguageSignal {
    /// Compiles the rules whose names are in `used` (all rules if `used` is `None`).
    /// Errors name the rule whose code is unknown.
    pub fn new(
        rules: &[LanguageRule],
        used: Option<&std::collections::BTreeSet<String>>,
    ) -> crate::Result<Self> {
        let mut out = Vec::new();
        for r in rules {
            if used.is_some_and(|u| !u.contains(&r.name)) {
                continue;
            }
            let lang = lang_from_code(&r.name).ok_or_else(|| crate::Error::Config {
                location: "routing.signals.language".into(),
                message: format!("unknown language code {:?}", r.name),
            })?;
            out.push((r.name.clone(), lang, r.threshold.unwrap_or(0.0) as f64));
        }
        Ok(LanguageSignal { rules: out })
    }

    /// Detects the language of `text` and returns the matching rules.
    pub fn matches(&self, text: &str) -> Vec<SignalMatch> {
        let Some(info) = whatlang::detect(text) else {
            return Vec::new();
        };
        self.rules
            .iter()
            .filter(|(_, lang, t)| *lang == info.lang() && info.confidence() >= *t)
            .map(|(name, lang, _)| SignalMatch {
                kind: SignalKind::Language,
                name: name.clone(),
                confidence: info.confidence() as f32,
                evidence: format!(
                    "detected {} ({}) with confidence {:.2}",
                    iso_639_1(*lang),
                    lang.eng_name(),
                    info.confidence()
                ),
            })
            .collect()
    }
}

impl Signal for LanguageSignal {
    fn kind(&self) -> SignalKind {
        SignalKind::Language
    }

    fn evaluate(&self, request: &RouteRequest) -> crate::Result<Vec<SignalMatch>> {
        Ok(self.matches(&super::text_window::semantic(request.user_text())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, threshold: Option<f32>) -> LanguageRule {
        LanguageRule {
            name: name.into(),
            threshold,
            description: None,
        }
    }

    #[test]
    fn maps_codes() {
        assert_eq!(lang_from_code("zh"), Some(Lang::Cmn));
        assert_eq!(lang_from_code("ES"), Some(Lang::Spa));
        assert_eq!(lang_from_code("eng"), Some(Lang::Eng));
        assert_eq!(lang_from_code("no"), Some(Lang::Nob));
        assert_eq!(lang_from_code("xx"), None);
        assert_eq!(iso_639_1(Lang::Deu), "de");
    }

    #[test]
    fn detects_real_sentences() {
        let s = LanguageSignal::new(
            &[
                rule("zh", None),
                rule("es", None),
                rule("en", None),
                rule("de", None),
            ],
            None,
        )
        .unwrap();
        let names = |t: &str| -> Vec<String> { s.matches(t).into_iter().map(|m| m.name).collect() };
        assert_eq!(
            names("请帮我把这段文字翻译成英文，并解释其中的语法。"),
            vec!["zh"]
        );
        assert_eq!(
            names("¿Podrías explicarme cómo funciona la fotosíntesis en las plantas?"),
            vec!["es"]
        );
        assert_eq!(
            names("Could you explain how photosynthesis works in plants, step by step?"),
            vec!["en"]
        );
        assert_eq!(
            names("Kannst du mir bitte erklären, wie die Photosynthese in Pflanzen funktioniert?"),
            vec!["de"]
        );
        assert!(names("").is_empty());
        let m =
            &s.matches("Could you explain how photosynthesis works in plants, step by step?")[0];
        assert!(
            m.confidence > 0.5 && m.confidence <= 1.0,
            "{}",
            m.confidence
        );
    }

    #[test]
    fn threshold_filters_weak_detections() {
        let text = "Could you explain how photosynthesis works in plants, step by step?";
        let conf = whatlang::detect(text).unwrap().confidence() as f32;
        let below = LanguageSignal::new(&[rule("en", Some(conf - 0.001))], None).unwrap();
        assert_eq!(below.matches(text).len(), 1);
        let above = LanguageSignal::new(&[rule("en", Some(conf + 0.001))], None).unwrap();
        assert!(above.matches(text).is_empty());
    }
}
