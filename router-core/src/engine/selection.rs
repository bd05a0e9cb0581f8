//! Learned model selection inside the router: decisions with `algorithm: {type: knn|mlp|mf}`
//! choose among their modelRefs per request ([`crate::selection`]). The selector runs after
//! the decision is known, only for requests whose winning decision uses it, on the same
//! embedding model (and output store) as the embedding signal.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::outcome::{RouteDecision, Selection};
use crate::config::LoadedConfig;
use crate::export::selector::SelectorMethod;
use crate::inference::{content_key, Embedder, ModelRegistry, ModelSource, Stored};
use crate::request::RouteRequest;
use crate::selection::{Candidates, Selector};
use crate::{Error, Result};

/// One selector and the embedder that feeds it.
pub(super) struct Stage {
    method: SelectorMethod,
    selector: Arc<Selector>,
    embedder: Stored<Embedder>,
}

/// How one decision selects: which stage, among which candidates.
pub(super) struct DecisionSelection {
    stage: usize,
    candidates: Candidates,
}

/// The stages a config needs and each decision's selection (`None`: static).
pub(super) struct Compiled {
    pub(super) stages: Vec<Stage>,
    pub(super) per_decision: Vec<Option<DecisionSelection>>,
}

fn config_error(location: String, message: String) -> Error {
    Error::Config { location, message }
}

/// Builds the selectors the decisions of `loaded` name. `registry` is `None` when the router's
/// model signals are given by the caller: a learned selection is then an error.
pub(super) fn compile(loaded: &LoadedConfig, registry: Option<&ModelRegistry>) -> Result<Compiled> {
    let cfg = &loaded.config;
    let ml = &cfg.global.router.model_selection.ml;
    let mut stage_of: BTreeMap<SelectorMethod, usize> = BTreeMap::new();
    let mut stages: Vec<Stage> = Vec::new();
    let mut per_decision = Vec::with_capacity(cfg.routing.decisions.len());
    for (i, d) in cfg.routing.decisions.iter().enumerate() {
        let Some(method) = SelectorMethod::parse(d.algorithm_type()) else {
            per_decision.push(None);
            continue;
        };
        let at = format!("routing.decisions[{i}].algorithm");
        let block_path = format!("global.router.model_selection.ml.{method}");
        let block = ml.get(method).ok_or_else(|| {
            config_error(at.clone(), format!("type {method} needs a selector: set {block_path}.pretrained_path to a `routelab train --task selection` export"))
        })?;
        let rule = block
            .rule()
            .map_err(|m| config_error(block_path.clone(), m))?;
        let stage = match stage_of.get(&method) {
            Some(&s) => s,
            None => {
                let registry = registry.ok_or_else(|| {
                    config_error(
                        at.clone(),
                        "a learned selection needs the router's models (build it with Router::new)"
                            .into(),
                    )
                })?;
                stages.push(load_stage(loaded, method, &block_path, registry)?);
                stage_of.insert(method, stages.len() - 1);
                stages.len() - 1
            }
        };
        let models: Vec<&str> = d.model_refs.iter().map(|r| r.model.as_str()).collect();
        let candidates = Candidates::new(stages[stage].selector.manifest(), &models, rule)
            .map_err(|m| config_error(format!("routing.decisions[{i}].modelRefs"), m))?;
        per_decision.push(Some(DecisionSelection { stage, candidates }));
    }
    Ok(Compiled {
        stages,
        per_decision,
    })
}

/// Loads the selector of `method` and checks it against the config's embedding model.
fn load_stage(
    loaded: &LoadedConfig,
    method: SelectorMethod,
    block_path: &str,
    registry: &ModelRegistry,
) -> Result<Stage> {
    let cfg = &loaded.config;
    let block = cfg.global.router.model_selection.ml.get(method);
    let path = block
        .and_then(|b| b.pretrained_path.as_deref())
        .ok_or_else(|| {
            config_error(
                format!("{block_path}.pretrained_path"),
                "not set: name the `routelab train --task selection` export directory".into(),
            )
        })?;
    let dir = loaded.base_dir.join(path);
    let selector = Selector::load(&dir, block.and_then(|b| b.k))?;
    let manifest = selector.manifest();
    if manifest.method != method {
        return Err(config_error(
            format!("{block_path}.pretrained_path"),
            format!(
                "{} holds a {} selector, not {method}",
                dir.display(),
                manifest.method
            ),
        ));
    }
    if let Some(dim) = cfg.global.router.model_selection.ml.embedding_dim {
        if dim != manifest.embedding.dim {
            return Err(config_error(
                "global.router.model_selection.ml.embedding_dim".into(),
                format!(
                    "{dim}, but the selector reads {}-wide embeddings",
                    manifest.embedding.dim
                ),
            ));
        }
    }
    let emb_path = cfg
        .global
        .model_catalog
        .embeddings
        .semantic
        .bert_model_path
        .as_deref()
        .ok_or_else(|| {
            config_error(
                "global.model_catalog.embeddings.semantic.bert_model_path".into(),
                format!("the {method} selector reads embeddings of {:?}: set it (or map one with `--model embedding=DIR`)", manifest.embedding.name),
            )
        })?;
    let src = ModelSource::parse(emb_path, &loaded.base_dir);
    let embedder = registry.embedder(&src)?;
    let memo = registry.memo("embedding", &src)?;
    let key = match &memo {
        Some(m) => m.model().content.clone(),
        None => content_key(embedder.dir())?,
    };
    if key != manifest.embedding.content_key {
        return Err(config_error(
            "global.model_catalog.embeddings.semantic.bert_model_path".into(),
            format!(
                "{} is not the embedding model the {method} selector was trained on ({:?}, content {}…)",
                embedder.dir().display(),
                manifest.embedding.name,
                &manifest.embedding.content_key[..12.min(manifest.embedding.content_key.len())]
            ),
        ));
    }
    Ok(Stage {
        method,
        selector: Arc::new(selector),
        embedder: Stored::new(embedder, memo),
    })
}

impl Compiled {
    /// Sets the selection of every decision in `decided` (one per request of `requests`) whose
    /// winning decision selects: one embedding and selector pass per stage.
    pub(super) fn select(
        &self,
        requests: &[&RouteRequest],
        decided: &mut [RouteDecision],
    ) -> Result<()> {
        for (s, stage) in self.stages.iter().enumerate() {
            let rows: Vec<usize> = (0..decided.len())
                .filter(|&r| self.of(&decided[r]).is_some_and(|d| d.stage == s))
                .collect();
            if rows.is_empty() {
                continue;
            }
            let texts: Vec<&str> = rows.iter().map(|&r| requests[r].user_text()).collect();
            let embeddings = stage.embedder.embed_batch(&texts)?;
            let refs: Vec<&[f32]> = embeddings.iter().map(Vec::as_slice).collect();
            let predicted = stage.selector.predict(&refs)?;
            for (&r, p) in rows.iter().zip(&predicted) {
                let c = &self.of(&decided[r]).expect("filtered above").candidates;
                let predicted = c.of_candidates(p);
                decided[r].selection = Some(Selection {
                    method: stage.method,
                    choice: c.choose(&predicted),
                    predicted,
                });
            }
        }
        Ok(())
    }

    /// The candidates of decision `index`, if it selects.
    pub(super) fn candidates(&self, index: usize) -> Option<&Candidates> {
        self.per_decision
            .get(index)?
            .as_ref()
            .map(|d| &d.candidates)
    }

    fn of(&self, d: &RouteDecision) -> Option<&DecisionSelection> {
        d.index.and_then(|i| self.per_decision[i].as_ref())
    }
}
