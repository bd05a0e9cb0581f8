//! The hook that builds model-based signals (domain, jailbreak, PII, embedding similarity,
//! re-asks, complexity, knowledge bases).
//!
//! Router-core's engine calls [`build_model_signal`] once per model-based kind that some
//! decision uses. Models come from `global.model_catalog` (relative paths resolve against the
//! config file's directory; an `org/name` that is not a directory is a Hugging Face repo id) and
//! are loaded through the [`ModelRegistry`] the caller passes in, so every router and signal
//! naming the same model content shares one copy.

use std::collections::BTreeSet;
use std::path::Path;

use super::complexity::ComplexitySignal;
use super::domain::{DomainSignal, DEFAULT_DOMAIN_THRESHOLD};
use super::embedding::EmbeddingSignal;
use super::jailbreak::{JailbreakSignal, DEFAULT_JAILBREAK_THRESHOLD};
use super::jailbreak_contrastive::ContrastiveJailbreak;
use super::kb::KbSignal;
use super::pii::{PiiSignal, DEFAULT_PII_THRESHOLD};
use super::reask::ReaskSignal;
use super::verdict::VerdictSignal;
use super::{Signal, SignalKind};
use crate::config::{RouterConfig, ThresholdModule};
use crate::inference::{Embedder, ModelRegistry, ModelSource, SequenceClassifier, Stored};
use crate::{Error, Result};

fn source(
    path: Option<&String>,
    field: &str,
    kind: SignalKind,
    base_dir: &Path,
) -> Result<ModelSource> {
    match path {
        Some(p) if !p.trim().is_empty() => Ok(ModelSource::parse(p, base_dir)),
        _ => Err(Error::Config {
            location: format!("global.model_catalog.{field}"),
            message: format!(
                "{kind} signals are used (by a decision or a projection) but no model is configured here (set it, map one with `--model {f}=DIR`, or run without them, never matching, with `--model {f}=none`)",
                f = family(kind)
            ),
        }),
    }
}

/// The `--model` family whose model a signal of `kind` runs: the embedding model for every
/// embedding-based kind.
pub fn family(kind: SignalKind) -> &'static str {
    match kind {
        SignalKind::Reask | SignalKind::Complexity | SignalKind::Kb => "embedding",
        SignalKind::UserFeedback => "feedback",
        k => k.as_str(),
    }
}

/// The sequence classifier at `src`, its outputs kept in the registry's store if it has one.
fn stored_sequence(
    registry: &ModelRegistry,
    src: &ModelSource,
) -> Result<Stored<SequenceClassifier>> {
    Ok(Stored::new(
        registry.sequence(src)?,
        registry.memo("sequence", src)?,
    ))
}

fn threshold(module: Option<&ThresholdModule>, default: f32) -> f32 {
    module.and_then(|m| m.threshold).unwrap_or(default)
}

/// Builds the signal of a model-based `kind` for the rule names in `used`; model paths in
/// `config.global.model_catalog` resolve against `base_dir` (the config file's directory); models
/// come from `registry`.
pub fn build_model_signal(
    kind: SignalKind,
    config: &RouterConfig,
    used: &BTreeSet<String>,
    base_dir: &Path,
    registry: &ModelRegistry,
) -> Result<Box<dyn Signal>> {
    let catalog = &config.global.model_catalog;
    let signals = &config.routing.signals;
    // The values projections read, which the signals report beside their matches.
    let measured = config.measured_values();
    // The embedding model of `embeddings.semantic`, which every embedding-based kind runs.
    let embedder = || -> Result<Stored<Embedder>> {
        let src = source(
            catalog.embeddings.semantic.bert_model_path.as_ref(),
            "embeddings.semantic.bert_model_path",
            kind,
            base_dir,
        )?;
        Ok(Stored::new(
            registry.embedder(&src)?,
            registry.memo("embedding", &src)?,
        ))
    };
    match kind {
        SignalKind::Domain => {
            let src = source(
                catalog.system.domain_classifier.as_ref(),
                "system.domain_classifier",
                kind,
                base_dir,
            )?;
            let t = threshold(
                catalog.modules.classifier.domain.as_ref(),
                DEFAULT_DOMAIN_THRESHOLD,
            );
            Ok(Box::new(DomainSignal::new(
                stored_sequence(registry, &src)?,
                &signals.domains,
                Some(used),
                t,
            )?))
        }
        SignalKind::Jailbreak => {
            let contrastive = |r: &&crate::config::JailbreakRule| r.is_contrastive();
            let named = |keep: bool| -> BTreeSet<String> {
                let rules = signals.jailbreak.iter().filter(|r| contrastive(r) == keep);
                rules
                    .map(|r| r.name.clone())
                    .filter(|n| used.contains(n))
                    .collect()
            };
            let (by_contrast, by_classifier) = (named(true), named(false));
            let mut parts: Vec<Box<dyn Signal>> = Vec::new();
            if !by_classifier.is_empty() {
                let src = source(
                    catalog.system.prompt_guard.as_ref(),
                    "system.prompt_guard",
                    kind,
                    base_dir,
                )?;
                let guard = catalog.modules.prompt_guard.clone().unwrap_or_default();
                let t = guard.threshold.unwrap_or(DEFAULT_JAILBREAK_THRESHOLD);
                let signal = JailbreakSignal::new(
                    stored_sequence(registry, &src)?,
                    &signals.jailbreak,
                    Some(&by_classifier),
                    t,
                )?;
                parts.push(Box::new(
                    signal.with_positive_labels(&guard.positive_labels)?,
                ));
            }
            if !by_contrast.is_empty() {
                let signal =
                    ContrastiveJailbreak::new(embedder()?, &signals.jailbreak, &by_contrast)?;
                parts.push(Box::new(signal));
            }
            Ok(match parts.len() {
                1 => parts.pop().expect("one part"),
                _ => Box::new(Joined(parts)),
            })
        }
        SignalKind::Pii => {
            let src = source(
                catalog.system.pii_classifier.as_ref(),
                "system.pii_classifier",
                kind,
                base_dir,
            )?;
            let t = threshold(
                catalog.modules.classifier.pii.as_ref(),
                DEFAULT_PII_THRESHOLD,
            );
            Ok(Box::new(PiiSignal::new(
                Stored::new(registry.token(&src)?, registry.memo("token", &src)?),
                &signals.pii,
                Some(used),
                t,
            )))
        }
        SignalKind::Embedding => Ok(Box::new(
            EmbeddingSignal::new(
                embedder()?,
                &signals.embeddings,
                Some(used),
                &catalog.embeddings.semantic.embedding_config,
            )?
            .measuring(&measured),
        )),
        // Every rule of these three: the seed evaluates them all whenever the signal runs.
        SignalKind::Reask => Ok(Box::new(
            ReaskSignal::new(embedder()?, &signals.reasks).measuring(&measured),
        )),
        SignalKind::Complexity => Ok(Box::new(
            ComplexitySignal::new(
                embedder()?,
                &signals.complexity,
                &catalog.modules.complexity.prototype_scoring,
            )?
            .measuring(&measured),
        )),
        SignalKind::Kb => Ok(Box::new(KbSignal::new(
            embedder()?,
            &catalog.knowledge_bases(),
            &signals.kb,
            &measured,
            base_dir,
        )?)),
        SignalKind::FactCheck => {
            let src = source(
                catalog.system.fact_check_classifier.as_ref(),
                "system.fact_check_classifier",
                kind,
                base_dir,
            )?;
            Ok(Box::new(VerdictSignal::fact_check(
                stored_sequence(registry, &src)?,
                config,
                used,
            )?))
        }
        SignalKind::UserFeedback => {
            let src = source(
                catalog.system.feedback_detector.as_ref(),
                "system.feedback_detector",
                kind,
                base_dir,
            )?;
            Ok(Box::new(VerdictSignal::user_feedback(
                stored_sequence(registry, &src)?,
                config,
                used,
            )))
        }
        SignalKind::Keyword
        | SignalKind::Context
        | SignalKind::Language
        | SignalKind::Conversation
        | SignalKind::Structure
        | SignalKind::Event
        | SignalKind::Metadata
        | SignalKind::Projection => Err(Error::Config {
            location: format!("routing.signals ({kind})"),
            message: format!("{kind} is a rule signal, not a model-based one"),
        }),
    }
}

/// Signals of one kind run by different models (jailbreak: the classifier and the contrastive
/// rules), as one signal.
struct Joined(Vec<Box<dyn Signal>>);

impl Signal for Joined {
    fn kind(&self) -> SignalKind {
        self.0[0].kind()
    }

    fn evaluate(
        &self,
        request: &crate::request::RouteRequest,
    ) -> Result<Vec<crate::signals::SignalMatch>> {
        let mut out = Vec::new();
        for s in &self.0 {
            out.extend(s.evaluate(request)?);
        }
        Ok(out)
    }

    fn evaluate_batch(
        &self,
        requests: &[&crate::request::RouteRequest],
    ) -> Result<Vec<Vec<crate::signals::SignalMatch>>> {
        let mut out = vec![Vec::new(); requests.len()];
        for s in &self.0 {
            for (o, found) in out.iter_mut().zip(s.evaluate_batch(requests)?) {
                o.extend(found);
            }
        }
        Ok(out)
    }
}
