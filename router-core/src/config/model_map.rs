//! `--model REF=DIR`: point a config's models at local directories. The seed's recipes name
//! no model (they rely on the seed's default mmBERT classifiers); a user maps each signal
//! family, or each model path the config names, to a model routelab can load.

use std::path::PathBuf;
use std::str::FromStr;

use super::LoadedConfig;
use crate::{Error, Result};

/// One `REF=DIR` mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelMap {
    /// A signal family ([`MODEL_FAMILIES`]) or a model path / id the config names.
    pub reference: String,
    /// The local model directory.
    pub dir: PathBuf,
}

impl FromStr for ModelMap {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.split_once('=') {
            Some((r, d)) if !r.trim().is_empty() && !d.trim().is_empty() => Ok(ModelMap {
                reference: r.trim().to_string(),
                dir: PathBuf::from(d.trim()),
            }),
            _ => Err(format!(
                "{s:?}: expected REF=DIR (e.g. embedding=~/models/all-MiniLM-L6-v2)"
            )),
        }
    }
}

/// The signal families a map may name, with the `global.model_catalog` field each sets.
pub const MODEL_FAMILIES: [(&str, &str); 6] = [
    ("domain", "system.domain_classifier"),
    ("jailbreak", "system.prompt_guard"),
    ("pii", "system.pii_classifier"),
    ("embedding", "embeddings.semantic.bert_model_path"),
    ("fact_check", "system.fact_check_classifier"),
    ("feedback", "system.feedback_detector"),
];

/// The directory of a `--model FAMILY=none` map: that family's signals never match.
pub const NONE: &str = "none";

/// The reference of a `--kb NAME=FILE` map (`kb:NAME`), kept with the model maps.
pub const KB_PREFIX: &str = "kb:";

impl ModelMap {
    /// Parses `--kb NAME=FILE`: the labels file of knowledge base NAME.
    pub fn parse_kb(s: &str) -> std::result::Result<Self, String> {
        match s.split_once('=') {
            Some((n, f)) if !n.trim().is_empty() && !f.trim().is_empty() => Ok(ModelMap {
                reference: format!("{KB_PREFIX}{}", n.trim()),
                dir: PathBuf::from(f.trim()),
            }),
            _ => Err(format!(
                "{s:?}: expected NAME=FILE (e.g. mmlu_kb=kbs/mmlu/labels.json)"
            )),
        }
    }
}

impl LoadedConfig {
    /// Applies `maps` in order: a family sets its catalog field, a model reference replaces
    /// every catalog field naming it. Fails on a directory that does not exist and on a reference
    /// that is neither a family nor a model this config names.
    pub fn map_models(&mut self, maps: &[ModelMap]) -> Result<()> {
        for m in maps {
            if let Some(kb) = m.reference.strip_prefix(KB_PREFIX) {
                self.map_kb(kb, m)?;
                continue;
            }
            if m.dir.as_os_str() == NONE {
                self.map_none(m)?;
                continue;
            }
            let dir = crate::paths::expand(&m.dir);
            if !dir.is_dir() {
                return Err(bad(m, format!("{} is not a directory", dir.display())));
            }
            let dir = std::path::absolute(&dir)
                .unwrap_or(dir)
                .display()
                .to_string();
            let mut fields = self.catalog_fields();
            if let Some(i) = MODEL_FAMILIES.iter().position(|(f, _)| *f == m.reference) {
                *fields[i] = Some(dir);
                continue;
            }
            let mut hit = false;
            for f in fields
                .iter_mut()
                .filter(|f| f.as_deref() == Some(m.reference.as_str()))
            {
                **f = Some(dir.clone());
                hit = true;
            }
            if !hit {
                let named: Vec<String> = self
                    .catalog_fields()
                    .iter()
                    .filter_map(|f| (**f).clone())
                    .collect();
                let families: Vec<&str> = MODEL_FAMILIES.iter().map(|(f, _)| *f).collect();
                let message = format!(
                    "{:?} is neither a signal family ({}) nor a model the config names ({})",
                    m.reference,
                    families.join(", "),
                    if named.is_empty() {
                        "none".into()
                    } else {
                        named.join(", ")
                    }
                );
                return Err(bad(m, message));
            }
        }
        Ok(())
    }

    /// `--model FAMILY=none`: the family's signals run no model and never match.
    fn map_none(&mut self, m: &ModelMap) -> Result<()> {
        if !MODEL_FAMILIES.iter().any(|(f, _)| *f == m.reference) {
            let families: Vec<&str> = MODEL_FAMILIES.iter().map(|(f, _)| *f).collect();
            let message = format!(
                "only a signal family ({}) can be mapped to none",
                families.join(", ")
            );
            return Err(bad(m, message));
        }
        self.without.extend(
            crate::signals::SignalKind::ALL
                .into_iter()
                .filter(|k| k.is_model_based())
                .filter(|k| crate::signals::model::family(*k) == m.reference),
        );
        Ok(())
    }

    /// Points knowledge base `name` at the labels file `m.dir` (`--kb NAME=FILE`); the seed's
    /// default knowledge bases become declared ones when the config declares none.
    fn map_kb(&mut self, name: &str, m: &ModelMap) -> Result<()> {
        let file = crate::paths::expand(&m.dir);
        if !file.is_file() {
            return Err(bad(m, format!("{} is not a file", file.display())));
        }
        let file = std::path::absolute(&file).unwrap_or(file);
        let catalog = &mut self.config.global.model_catalog;
        let kbs = catalog.kbs.get_or_insert_with(super::default_kbs);
        let known: Vec<String> = kbs.iter().map(|k| k.name.clone()).collect();
        let Some(kb) = kbs.iter_mut().find(|k| k.name == name) else {
            let message = format!(
                "no knowledge base {name:?} (the config has {})",
                known.join(", ")
            );
            return Err(bad(m, message));
        };
        let parent = file
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        kb.source.path = parent;
        kb.source.manifest = file.file_name().map(|n| n.to_string_lossy().into_owned());
        Ok(())
    }

    /// The catalog fields of [`MODEL_FAMILIES`], in that order.
    fn catalog_fields(&mut self) -> [&mut Option<String>; MODEL_FAMILIES.len()] {
        let c = &mut self.config.global.model_catalog;
        [
            &mut c.system.domain_classifier,
            &mut c.system.prompt_guard,
            &mut c.system.pii_classifier,
            &mut c.embeddings.semantic.bert_model_path,
            &mut c.system.fact_check_classifier,
            &mut c.system.feedback_detector,
        ]
    }
}

fn bad(m: &ModelMap, message: String) -> Error {
    let location = match m.reference.strip_prefix(KB_PREFIX) {
        Some(kb) => format!("--kb {kb}={}", m.dir.display()),
        None => format!("--model {}={}", m.reference, m.dir.display()),
    };
    Error::Config { location, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded() -> LoadedConfig {
        let y = "providers: {defaults: {default_model: m}, models: [{name: m}]}
global: {model_catalog: {system: {prompt_guard: models/guard}, embeddings: {semantic: {bert_model_path: models/guard}}}}
routing: {decisions: []}
";
        LoadedConfig::from_yaml_str(y, "t.yaml", std::path::Path::new(".")).unwrap()
    }

    #[test]
    fn families_and_references_set_the_catalog() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let mut l = loaded();
        l.map_models(&[format!("pii={d}").parse().unwrap()])
            .unwrap();
        assert_eq!(
            l.config
                .global
                .model_catalog
                .system
                .pii_classifier
                .as_deref(),
            Some(d.as_str())
        );
        // A reference replaces every field that names it.
        l.map_models(&[format!("models/guard={d}").parse().unwrap()])
            .unwrap();
        let c = &l.config.global.model_catalog;
        assert_eq!(c.system.prompt_guard.as_deref(), Some(d.as_str()));
        assert_eq!(
            c.embeddings.semantic.bert_model_path.as_deref(),
            Some(d.as_str())
        );
        let e = l
            .map_models(&[format!("nope={d}").parse().unwrap()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\"nope\" is neither a signal family (domain, jailbreak, pii, embedding, fact_check, feedback)"),
            "{e}"
        );
        l.map_models(&[format!("feedback={d}").parse().unwrap()])
            .unwrap();
        let system = &l.config.global.model_catalog.system;
        assert_eq!(system.feedback_detector.as_deref(), Some(d.as_str()));
        // A family mapped to none runs without its signals.
        l.map_models(&["embedding=none".parse().unwrap()]).unwrap();
        use crate::signals::SignalKind;
        let without: Vec<SignalKind> = l.without.iter().copied().collect();
        assert_eq!(
            without,
            [
                SignalKind::Embedding,
                SignalKind::Reask,
                SignalKind::Complexity,
                SignalKind::Kb
            ]
        );
        let e = l
            .map_models(&["models/guard=none".parse().unwrap()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("only a signal family"), "{e}");
        let e = l
            .map_models(&["pii=/no/such/dir".parse().unwrap()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("/no/such/dir is not a directory"), "{e}");
        assert!("embedding".parse::<ModelMap>().is_err());
    }

    /// `--kb NAME=FILE` points a knowledge base at a labels file; the seed's defaults become
    /// declared when the config declares none; an unknown name or a missing file is refused.
    #[test]
    fn kb_maps_point_a_knowledge_base_at_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mine.json");
        std::fs::write(&file, "{}").unwrap();
        let mut l = loaded();
        assert!(l.config.global.model_catalog.kbs.is_none());
        let map = ModelMap::parse_kb(&format!("mmlu_kb={}", file.display())).unwrap();
        l.map_models(&[map]).unwrap();
        let kbs = l.config.global.model_catalog.kbs.as_ref().unwrap();
        let mmlu = kbs.iter().find(|k| k.name == "mmlu_kb").unwrap();
        assert_eq!(mmlu.source.path, dir.path().display().to_string());
        assert_eq!(mmlu.source.manifest.as_deref(), Some("mine.json"));
        assert_eq!(kbs.len(), 2);
        let unknown = ModelMap::parse_kb(&format!("nope={}", file.display())).unwrap();
        let e = l.map_models(&[unknown]).unwrap_err().to_string();
        assert!(
            e.contains("--kb nope=") && e.contains("privacy_kb, mmlu_kb"),
            "{e}"
        );
        let missing = ModelMap::parse_kb("mmlu_kb=/nonexistent/labels.json").unwrap();
        let e = l.map_models(&[missing]).unwrap_err().to_string();
        assert!(e.contains("is not a file"), "{e}");
        assert!(ModelMap::parse_kb("mmlu_kb").is_err());
    }
}
