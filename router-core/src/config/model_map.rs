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
pub const MODEL_FAMILIES: [(&str, &str); 4] = [
    ("domain", "system.domain_classifier"),
    ("jailbreak", "system.prompt_guard"),
    ("pii", "system.pii_classifier"),
    ("embedding", "embeddings.semantic.bert_model_path"),
];

/// Families the seed has that routelab does not compute yet.
const NOT_YET: [&str; 2] = ["fact_check", "feedback"];

impl LoadedConfig {
    /// Applies `maps` in order: a family sets its catalog field, a model reference replaces
    /// every catalog field naming it. Fails on a directory that does not exist and on a reference
    /// that is neither a family nor a model this config names.
    pub fn map_models(&mut self, maps: &[ModelMap]) -> Result<()> {
        for m in maps {
            let dir = crate::paths::expand(&m.dir);
            if !dir.is_dir() {
                return Err(bad(m, format!("{} is not a directory", dir.display())));
            }
            let dir = std::path::absolute(&dir)
                .unwrap_or(dir)
                .display()
                .to_string();
            if NOT_YET.contains(&m.reference.as_str()) {
                let message = format!("routelab does not compute {} signals yet", m.reference);
                return Err(bad(m, message));
            }
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

    /// The catalog fields of [`MODEL_FAMILIES`], in that order.
    fn catalog_fields(&mut self) -> [&mut Option<String>; 4] {
        let c = &mut self.config.global.model_catalog;
        [
            &mut c.system.domain_classifier,
            &mut c.system.prompt_guard,
            &mut c.system.pii_classifier,
            &mut c.embeddings.semantic.bert_model_path,
        ]
    }
}

fn bad(m: &ModelMap, message: String) -> Error {
    Error::Config {
        location: format!("--model {}={}", m.reference, m.dir.display()),
        message,
    }
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
            e.contains("\"nope\" is neither a signal family (domain, jailbreak, pii, embedding)"),
            "{e}"
        );
        let e = l
            .map_models(&[format!("fact_check={d}").parse().unwrap()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not compute fact_check signals yet"), "{e}");
        let e = l
            .map_models(&["pii=/no/such/dir".parse().unwrap()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("/no/such/dir is not a directory"), "{e}");
        assert!("embedding".parse::<ModelMap>().is_err());
    }
}
