//! Model selection inside the router: a decision with `algorithm: {type: knn|mlp|mf}` (learned,
//! [`crate::selection`]), `router_dc`, `multi_factor` or `latency_aware` chooses among its
//! modelRefs per request. Selection runs after the decision is known, only for requests whose
//! winning decision has one; the embedding-based methods run on the embedding signal's model
//! (and output store). A decision with one modelRef runs none, as in the seed.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::outcome::{RouteDecision, Selection};
use crate::config::{AlgorithmKind, Decision, LoadedConfig, RouterConfig};
use crate::export::selector::SelectorMethod;
use crate::inference::{content_key, Embedder, ModelRegistry, ModelSource, Stored};
use crate::request::RouteRequest;
use crate::selection::latency_aware::{Latencies, LatencyAwareParams};
use crate::selection::multi_factor::{FactorInputs, MultiFactorParams};
use crate::selection::router_dc::RouterDcParams;
use crate::selection::stats::{LatencyMetric, ModelStats};
use crate::selection::{Candidates, Choice, Selector};
use crate::{Error, Result};

/// One selector and the embedder that feeds it.
pub(super) struct Stage {
    method: SelectorMethod,
    selector: Arc<Selector>,
    embedder: Stored<Embedder>,
}

/// How one decision selects.
enum PerDecision {
    /// Through learned stage `stage`, among `candidates`.
    Learned {
        stage: usize,
        candidates: Candidates,
    },
    /// By similarity to each candidate's card embedding (`None`: no card text).
    RouterDc { cards: Vec<Option<Vec<f32>>> },
    /// By weighted factors; `models` in modelRefs order, with their card quality and price.
    MultiFactor {
        params: MultiFactorParams,
        models: Vec<String>,
        quality: Vec<Option<f64>>,
        cost: Vec<Option<f64>>,
    },
    /// By latency percentiles of `models`.
    LatencyAware {
        params: LatencyAwareParams,
        models: Vec<String>,
    },
}

/// The selection stages a config needs and each decision's selection (`None`: the first).
pub(super) struct Compiled {
    pub(super) stages: Vec<Stage>,
    /// The `router_dc` settings and embedder, when a decision uses it.
    router_dc: Option<(RouterDcParams, Stored<Embedder>)>,
    per_decision: Vec<Option<PerDecision>>,
}

fn config_error(location: String, message: String) -> Error {
    Error::Config { location, message }
}

/// Builds the selections the decisions of `loaded` name. `registry` is `None` when the
/// router's model signals are given by the caller: an embedding-based selection is then an
/// error.
pub(super) fn compile(loaded: &LoadedConfig, registry: Option<&ModelRegistry>) -> Result<Compiled> {
    let cfg = &loaded.config;
    let mut compiled = Compiled {
        stages: Vec::new(),
        router_dc: None,
        per_decision: Vec::with_capacity(cfg.routing.decisions.len()),
    };
    let mut stage_of: BTreeMap<SelectorMethod, usize> = BTreeMap::new();
    for (i, d) in cfg.routing.decisions.iter().enumerate() {
        let at = format!("routing.decisions[{i}].algorithm");
        let kind = AlgorithmKind::parse(d.algorithm_type()).unwrap_or(AlgorithmKind::Static);
        let models: Vec<String> = d.model_refs.iter().map(|r| r.model.clone()).collect();
        let per = match kind {
            AlgorithmKind::Learned(method) => {
                let stage = match stage_of.get(&method) {
                    Some(&s) => s,
                    None => {
                        let registry = needs_models(registry, &at)?;
                        let block = format!("global.router.model_selection.ml.{method}");
                        compiled
                            .stages
                            .push(load_stage(loaded, method, &block, registry)?);
                        stage_of.insert(method, compiled.stages.len() - 1);
                        compiled.stages.len() - 1
                    }
                };
                let candidates = learned_candidates(cfg, d, method, &compiled.stages[stage])
                    .map_err(|m| config_error(format!("routing.decisions[{i}].modelRefs"), m))?;
                Some(PerDecision::Learned { stage, candidates })
            }
            _ if models.len() < 2 => None,
            AlgorithmKind::RouterDc => {
                if compiled.router_dc.is_none() {
                    let registry = needs_models(registry, &at)?;
                    let embedder = embedding_model(
                        loaded,
                        registry,
                        "router_dc embeds requests and model cards with it",
                    )?;
                    compiled.router_dc = Some((RouterDcParams::of(cfg), embedder));
                }
                let (params, embedder) = compiled.router_dc.as_ref().expect("set above");
                Some(PerDecision::RouterDc {
                    cards: card_embeddings(cfg, &models, params, embedder)?,
                })
            }
            AlgorithmKind::MultiFactor => {
                let block = d.algorithm.as_ref().and_then(|a| a.multi_factor.as_ref());
                Some(PerDecision::MultiFactor {
                    params: MultiFactorParams::of(block),
                    quality: models.iter().map(|m| quality(cfg, m)).collect(),
                    cost: models.iter().map(|m| prompt_price(cfg, m)).collect(),
                    models,
                })
            }
            AlgorithmKind::LatencyAware => {
                let block = d.algorithm.as_ref().and_then(|a| a.latency_aware.as_ref());
                block.map(|b| PerDecision::LatencyAware {
                    params: LatencyAwareParams::of(b),
                    models,
                })
            }
            AlgorithmKind::Static | AlgorithmKind::NotReplayable => None,
        };
        compiled.per_decision.push(per);
    }
    Ok(compiled)
}

fn needs_models<'r>(registry: Option<&'r ModelRegistry>, at: &str) -> Result<&'r ModelRegistry> {
    registry.ok_or_else(|| {
        config_error(
            at.to_owned(),
            "this selection needs the router's models (build it with Router::new)".into(),
        )
    })
}

/// The candidates of a learned selection, checked against its selector.
fn learned_candidates(
    cfg: &RouterConfig,
    d: &Decision,
    method: SelectorMethod,
    stage: &Stage,
) -> std::result::Result<Candidates, String> {
    let block = cfg.global.router.model_selection.ml.get(method);
    let rule = block.ok_or("no selector block")?.rule()?;
    let models: Vec<&str> = d.model_refs.iter().map(|r| r.model.as_str()).collect();
    Candidates::new(stage.selector.manifest(), &models, rule)
}

/// A model card's `quality_score`, when above 0.
fn quality(cfg: &RouterConfig, model: &str) -> Option<f64> {
    let card = cfg.routing.model_cards.iter().find(|c| c.name == model)?;
    card.quality_score.filter(|q| *q > 0.0)
}

/// A model's `pricing.prompt_per_1m`, when above 0.
fn prompt_price(cfg: &RouterConfig, model: &str) -> Option<f64> {
    let pricing = cfg.model(model)?.pricing.as_ref()?;
    Some(pricing.prompt_per_1m).filter(|p| *p > 0.0)
}

/// The embedding of each candidate's card text (`None`: no card, or a card without text).
fn card_embeddings(
    cfg: &RouterConfig,
    models: &[String],
    params: &RouterDcParams,
    embedder: &Stored<Embedder>,
) -> Result<Vec<Option<Vec<f32>>>> {
    let texts: Vec<Option<String>> = models
        .iter()
        .map(|m| {
            let card = cfg.routing.model_cards.iter().find(|c| &c.name == m)?;
            Some(params.card_text(card)).filter(|t| !t.is_empty())
        })
        .collect();
    let present: Vec<&str> = texts.iter().flatten().map(String::as_str).collect();
    let mut embedded = embedder.embed_batch(&present)?.into_iter();
    Ok(texts
        .iter()
        .map(|t| t.as_ref().and_then(|_| embedded.next()))
        .collect())
}

/// Where the embedding signal's model is, which `why` reads.
fn embedding_source(loaded: &LoadedConfig, why: &str) -> Result<ModelSource> {
    let path = loaded
        .config
        .global
        .model_catalog
        .embeddings
        .semantic
        .bert_model_path
        .as_deref()
        .ok_or_else(|| {
            config_error(
                "global.model_catalog.embeddings.semantic.bert_model_path".into(),
                format!("{why}: set it (or map one with `--model embedding=DIR`)"),
            )
        })?;
    Ok(ModelSource::parse(path, &loaded.base_dir))
}

/// The embedding signal's model with its output store.
fn embedding_model(
    loaded: &LoadedConfig,
    registry: &ModelRegistry,
    why: &str,
) -> Result<Stored<Embedder>> {
    let src = embedding_source(loaded, why)?;
    Ok(Stored::new(
        registry.embedder(&src)?,
        registry.memo("embedding", &src)?,
    ))
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
    let why = format!(
        "the {method} selector reads embeddings of {:?}",
        manifest.embedding.name
    );
    let src = embedding_source(loaded, &why)?;
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
    /// Sets the selection of every decision in `decided` (one per request of `requests`)
    /// whose winning decision selects: one embedding pass per embedding-based method, the
    /// others per request from `stats`.
    pub(super) fn select(
        &self,
        requests: &[&RouteRequest],
        decided: &mut [RouteDecision],
        stats: &ModelStats,
    ) -> Result<()> {
        for (s, stage) in self.stages.iter().enumerate() {
            let rows = self.rows(
                decided,
                |p| matches!(p, PerDecision::Learned { stage, .. } if *stage == s),
            );
            if rows.is_empty() {
                continue;
            }
            let texts: Vec<&str> = rows.iter().map(|&r| requests[r].user_text()).collect();
            let embeddings = stage.embedder.embed_batch(&texts)?;
            let refs: Vec<&[f32]> = embeddings.iter().map(Vec::as_slice).collect();
            let predicted = stage.selector.predict(&refs)?;
            for (&r, p) in rows.iter().zip(&predicted) {
                let Some(PerDecision::Learned { candidates: c, .. }) = self.of(&decided[r]) else {
                    unreachable!("filtered above")
                };
                let predicted = c.of_candidates(p);
                decided[r].selection = Some(Selection {
                    method: AlgorithmKind::Learned(stage.method),
                    choice: c.choose(&predicted),
                    scores: predicted.into_iter().map(Some).collect(),
                    confidence: None,
                    reason: None,
                });
            }
        }
        if let Some((params, embedder)) = &self.router_dc {
            let rows = self.rows(decided, |p| matches!(p, PerDecision::RouterDc { .. }));
            if !rows.is_empty() {
                let texts: Vec<&str> = rows.iter().map(|&r| requests[r].user_text()).collect();
                for (&r, q) in rows.iter().zip(embedder.embed_batch(&texts)?) {
                    let Some(PerDecision::RouterDc { cards }) = self.of(&decided[r]) else {
                        unreachable!("filtered above")
                    };
                    let cards: Vec<Option<&[f32]>> = cards.iter().map(Option::as_deref).collect();
                    let choice = params.choose(&q, &cards);
                    decided[r].selection = Some(Selection::of(AlgorithmKind::RouterDc, choice));
                }
            }
        }
        for d in decided.iter_mut() {
            let selection = match self.of(d) {
                Some(PerDecision::MultiFactor {
                    params,
                    models,
                    quality,
                    cost,
                }) => {
                    let p = params.percentile;
                    let inputs: Vec<FactorInputs> = (0..models.len())
                        .map(|i| FactorInputs {
                            quality: quality[i],
                            cost: cost[i],
                            tpot_ms: stats.percentile(&models[i], LatencyMetric::Tpot, p),
                            ttft_ms: stats.percentile(&models[i], LatencyMetric::Ttft, p),
                            in_flight: stats.in_flight(&models[i]),
                        })
                        .collect();
                    Selection::of(AlgorithmKind::MultiFactor, params.choose(&inputs))
                }
                Some(PerDecision::LatencyAware { params, models }) => {
                    let at = |m: &str, metric, p: u8| {
                        (p > 0).then(|| stats.percentile(m, metric, p)).flatten()
                    };
                    let inputs: Vec<Latencies> = models
                        .iter()
                        .map(|m| Latencies {
                            tpot_ms: at(m, LatencyMetric::Tpot, params.tpot_percentile),
                            ttft_ms: at(m, LatencyMetric::Ttft, params.ttft_percentile),
                        })
                        .collect();
                    Selection::of(AlgorithmKind::LatencyAware, params.choose(&inputs))
                }
                _ => continue,
            };
            d.selection = Some(selection);
        }
        Ok(())
    }

    /// The rows of `decided` whose winning decision's selection satisfies `f`.
    fn rows(&self, decided: &[RouteDecision], f: impl Fn(&PerDecision) -> bool) -> Vec<usize> {
        (0..decided.len())
            .filter(|&r| self.of(&decided[r]).is_some_and(&f))
            .collect()
    }

    /// The candidates of decision `index`, if it has a learned selection.
    pub(super) fn candidates(&self, index: usize) -> Option<&Candidates> {
        match self.per_decision.get(index)? {
            Some(PerDecision::Learned { candidates, .. }) => Some(candidates),
            _ => None,
        }
    }

    /// Whether a selection runs a model (learned selectors, `router_dc`).
    pub(super) fn runs_models(&self) -> bool {
        !self.stages.is_empty() || self.router_dc.is_some()
    }

    /// Whether a selection reads latency observations or in-flight counts.
    pub(super) fn reads_stats(&self) -> bool {
        self.per_decision.iter().flatten().any(|p| {
            matches!(
                p,
                PerDecision::MultiFactor { .. } | PerDecision::LatencyAware { .. }
            )
        })
    }

    fn of(&self, d: &RouteDecision) -> Option<&PerDecision> {
        d.index.and_then(|i| self.per_decision[i].as_ref())
    }
}

impl Selection {
    fn of(method: AlgorithmKind, c: Choice) -> Self {
        Selection {
            method,
            choice: c.index,
            scores: c.scores,
            confidence: Some(c.confidence),
            reason: Some(c.reason),
        }
    }
}
