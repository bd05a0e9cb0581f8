//! Loading: YAML -> [`RouterConfig`], the ignored list, typed plugins, validation.

use std::path::Path;

use super::linemap::LineMap;
use super::schema::{Decision, RouterConfig};
use super::validate::Validator;
use super::ProjectionInput;
use super::{AlgorithmKind, RouterDcSettings, SEVERITIES};
use super::{Ignored, LoadedConfig};
use crate::export::selector::SelectorMethod;
use crate::plugins::{Parsed, PluginConfig};
use crate::selection::Rule;
use crate::signals::SignalKind;
use crate::{Error, Result};

/// Parses, types and validates `text`.
pub(super) fn load_str(text: &str, origin: &str, base_dir: &Path) -> Result<LoadedConfig> {
    if text.trim().is_empty() {
        return Err(Error::Config {
            location: format!("{origin}:1"),
            message: "the config file is empty".into(),
        });
    }
    let lines = LineMap::build(text);
    let mut unread = Vec::new();
    let de = serde_norway::Deserializer::from_str(text);
    let config: RouterConfig = serde_ignored::deserialize(de, |p| unread.push(format_path(&p)))
        .map_err(|e| serde_error(&e, origin))?;
    let mut loaded = from_config(config, origin, base_dir, &lines)?;
    loaded
        .ignored
        .extend(unread.into_iter().map(|path| Ignored {
            line: lines.line(&path),
            reason: unread_reason(&path).into(),
            path,
        }));
    loaded
        .ignored
        .sort_by(|a, b| (a.line, &a.path).cmp(&(b.line, &b.path)));
    Ok(loaded)
}

/// Types plugins, lists ignored parts that serde cannot see, and validates: the shared parts
/// and the top-level profile, then each recipe's profile in its own scope.
pub(super) fn from_config(
    config: RouterConfig,
    origin: &str,
    base_dir: &Path,
    lines: &LineMap,
) -> Result<LoadedConfig> {
    let mut v = Validator::new(origin, lines);
    let mut ignored = Vec::new();
    let mut ignore = |path: String, reason: String| {
        ignored.push(Ignored {
            line: lines.line(&path),
            path,
            reason,
        })
    };
    let global_dc = config.global.router.model_selection.router_dc.as_ref();
    let global_unread = global_dc.map(router_dc_unread).unwrap_or_default();
    for key in global_unread.into_iter().filter(|k| *k != "min_similarity") {
        let reason = "not read in selection (nor by the seed)".into();
        ignore(
            format!("global.router.model_selection.router_dc.{key}"),
            reason,
        );
    }
    let plugins = read_profile(&config, &Scope::Top, &mut v, &mut ignore);
    v.validate(&config);
    for (i, recipe) in config.recipes.iter().enumerate() {
        let view = config.view_of(&recipe.routing);
        let scope = Scope::Recipe(i);
        v.set_scope(scope.prefix());
        read_profile(&view, &scope, &mut v, &mut ignore);
        v.validate_recipe(&view);
    }
    v.set_scope(None);
    v.recipes(&config);
    v.finish()?;
    Ok(LoadedConfig {
        config,
        origin: origin.to_string(),
        base_dir: base_dir.to_path_buf(),
        ignored,
        plugins,
        without: Default::default(),
    })
}

/// Where a routing profile sits in the file: the top-level `routing` or `recipes[i].routing`.
pub(super) enum Scope {
    /// `routing`.
    Top,
    /// `recipes[i].routing`.
    Recipe(usize),
}

impl Scope {
    /// What replaces `routing.` at the start of a path in this scope.
    pub(super) fn prefix(&self) -> Option<String> {
        match self {
            Scope::Top => None,
            Scope::Recipe(i) => Some(format!("recipes[{i}].routing.")),
        }
    }

    /// `path` (written for the top-level profile) in this scope.
    pub(super) fn path(&self, path: &str) -> String {
        scoped_path(self.prefix().as_deref(), path)
    }
}

/// `path` with its leading `routing.` replaced by `prefix`, when one is given.
pub(super) fn scoped_path(prefix: Option<&str>, path: &str) -> String {
    match (prefix, path.strip_prefix("routing.")) {
        (Some(p), Some(rest)) => format!("{p}{rest}"),
        _ => path.to_owned(),
    }
}

/// The typed plugins of a profile's decisions; lists what of the profile routelab does not
/// run (paths in `scope`) and reports plugin errors to `v`.
pub(super) fn read_profile(
    config: &RouterConfig,
    scope: &Scope,
    v: &mut Validator<'_>,
    ignore: &mut dyn FnMut(String, String),
) -> Vec<Vec<PluginConfig>> {
    let mut ignore = |path: String, reason: String| ignore(scope.path(&path), reason);
    for (i, k) in config.routing.signals.keywords.iter().enumerate() {
        if let Some(m) = k.unimplemented_method() {
            ignore(
                format!("routing.signals.keywords[{i}].method"),
                format!("method {m:?} not implemented; keywords match exactly"),
            );
        }
    }
    for (i, j) in config.routing.signals.jailbreak.iter().enumerate() {
        match j.method.as_deref() {
            None | Some("classifier") | Some("contrastive") => {}
            Some(m) => {
                let reason = format!("method {m:?} is neither classifier nor contrastive: the classifier runs, as in the seed");
                ignore(format!("routing.signals.jailbreak[{i}].method"), reason);
            }
        }
    }
    for (i, e) in config.routing.signals.events.iter().enumerate() {
        for (j, sev) in e.severities.iter().enumerate() {
            if !SEVERITIES.contains(&sev.trim().to_lowercase().as_str()) {
                let reason = format!("severity {sev:?} is not one of critical, high, medium, low; dropped, as the seed drops it");
                ignore(
                    format!("routing.signals.events[{i}].severities[{j}]"),
                    reason,
                );
            }
        }
    }
    for (i, score) in config.routing.projections.scores.iter().enumerate() {
        for (j, input) in score.inputs.iter().enumerate() {
            if let Some(reason) = unimplemented_input(input) {
                ignore(
                    format!("routing.projections.scores[{i}].inputs[{j}]"),
                    reason,
                );
            }
        }
    }
    let mut plugins = Vec::with_capacity(config.routing.decisions.len());
    for (i, d) in config.routing.decisions.iter().enumerate() {
        let base = format!("routing.decisions[{i}]");
        match AlgorithmKind::parse(d.algorithm_type()) {
            Some(AlgorithmKind::Learned(method)) => check_selection(config, method, d, &base, v),
            Some(AlgorithmKind::NotReplayable) => {
                let reason = format!("algorithm {:?} calls models or needs online state; routelab routes the decision to its first modelRef (not replayable)", d.algorithm_type());
                ignore(format!("{base}.algorithm"), reason);
            }
            Some(AlgorithmKind::RouterDc) => {
                let block = d.algorithm.as_ref().and_then(|a| a.router_dc.as_ref());
                for key in block.map(router_dc_unread).unwrap_or_default() {
                    let reason = "not read from a decision: the seed takes it from global.router.model_selection.router_dc".into();
                    ignore(format!("{base}.algorithm.router_dc.{key}"), reason);
                }
            }
            _ => {}
        }
        d.rules
            .visit_paths(&format!("{base}.rules"), &mut |path, node| {
                if let Some(t) = node.signal_type.as_deref() {
                    if SignalKind::parse(t).is_none() {
                        ignore(
                            path.to_string(),
                            format!("signal type {t:?} not implemented; this leaf never matches"),
                        );
                    }
                }
            });
        let mut typed = Vec::new();
        for (j, entry) in d.plugins.iter().enumerate() {
            let path = format!("{base}.plugins[{j}]");
            match PluginConfig::from_entry(entry) {
                Ok(Parsed::Plugin(p)) => {
                    typed.push(p);
                    for k in PluginConfig::ignored_keys(entry) {
                        ignore(
                            format!("{path}.configuration.{k}"),
                            "plugin setting not read by routelab".into(),
                        );
                    }
                }
                Ok(Parsed::Disabled) => {}
                Ok(Parsed::Unsupported) => ignore(
                    path,
                    format!("plugin type {:?} not implemented", entry.plugin_type),
                ),
                Err(msg) => match msg.split_once(": ") {
                    Some((field, m)) => v.error(&format!("{path}.{field}"), m),
                    None => v.error(&path, &msg),
                },
            }
        }
        plugins.push(typed);
    }
    plugins
}

/// A learned selection's settings, as far as they can be checked without loading the selector
/// (the router checks the selector's models and embedding model when it loads it).
fn check_selection(
    config: &RouterConfig,
    method: SelectorMethod,
    d: &Decision,
    base: &str,
    v: &mut Validator<'_>,
) {
    let path = format!("global.router.model_selection.ml.{method}");
    match config.global.router.model_selection.ml.get(method) {
        None => v.error(
            &format!("{base}.algorithm"),
            &format!("type {method} needs {path}.pretrained_path (a `routelab train --task selection` export)"),
        ),
        Some(block) => {
            if block.pretrained_path.is_none() {
                v.error(&format!("{path}.pretrained_path"), "not set: name the selector export directory");
            }
            match block.rule() {
                Err(m) => v.error(&path, &m),
                Ok(Rule::Threshold(_)) if d.model_refs.len() != 2 => v.error(
                    &format!("{base}.modelRefs"),
                    &format!("{path}.threshold compares two models; this decision has {} (use cost_weight)", d.model_refs.len()),
                ),
                Ok(_) => {}
            }
        }
    }
    if d.model_refs.is_empty() {
        v.error(
            &format!("{base}.modelRefs"),
            "a learned selection chooses among modelRefs; there are none",
        );
    }
}

/// The `router_dc` keys set in `s` that a decision's block does not set (the seed reads a
/// decision's `temperature`, `use_capabilities` and `require_descriptions` only).
fn router_dc_unread(s: &RouterDcSettings) -> Vec<&'static str> {
    [
        ("min_similarity", s.min_similarity.is_some()),
        ("dimension_size", s.dimension_size.is_some()),
        ("use_query_contrastive", s.use_query_contrastive.is_some()),
        ("use_model_contrastive", s.use_model_contrastive.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, set)| set.then_some(k))
    .collect()
}

/// Why a projection input is not computed as the seed computes it, if it is not.
fn unimplemented_input(input: &ProjectionInput) -> Option<String> {
    let kind = input.kind.trim().to_lowercase();
    match (kind.as_str(), SignalKind::parse(&kind)) {
        ("kb_metric", _) | (_, Some(_)) => None,
        (t, None) => Some(format!(
            "signal type {t:?} not implemented; the input never matches (it contributes `miss`, or 0 for value_source confidence)"
        )),
    }
}

fn unread_reason(path: &str) -> &'static str {
    let depth = path.split('.').count();
    if path.starts_with("routing.signals.") && depth == 3 {
        "signal kind not implemented"
    } else if path.contains(".plugins[") {
        "plugin setting not read by routelab"
    } else {
        "not read by routelab"
    }
}

/// Formats a serde_ignored path like serde_norway does (`a.b[2].c`).
fn format_path(p: &serde_ignored::Path) -> String {
    use serde_ignored::Path as P;
    match p {
        P::Root => String::new(),
        P::Seq { parent, index } => format!("{}[{index}]", format_path(parent)),
        P::Map { parent, key } => {
            let parent = format_path(parent);
            if parent.is_empty() {
                key.clone()
            } else {
                format!("{parent}.{key}")
            }
        }
        P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
            format_path(parent)
        }
    }
}

/// A serde_norway error as `file:line: path: message`.
fn serde_error(e: &serde_norway::Error, origin: &str) -> Error {
    let mut message = e.to_string();
    // serde_norway appends " at line L column C"; the line goes into the location instead.
    if let Some(i) = message.rfind(" at line ") {
        let tail = &message[i + " at line ".len()..];
        let mut parts = tail.split(" column ");
        let is_suffix = matches!(
            (parts.next(), parts.next(), parts.next()),
            (Some(l), Some(c), None) if l.parse::<usize>().is_ok() && c.parse::<usize>().is_ok()
        );
        if is_suffix {
            message.truncate(i);
        }
    }
    let location = match e.location() {
        Some(l) => format!("{origin}:{}", l.line()),
        None => origin.to_string(),
    };
    Error::Config { location, message }
}

impl super::schema::RuleNode {
    /// Calls `f(path, node)` for this node and every descendant; `path` is this node's YAML path.
    pub fn visit_paths(&self, path: &str, f: &mut dyn FnMut(&str, &Self)) {
        f(path, self);
        for (i, c) in self.conditions.iter().enumerate() {
            c.visit_paths(&format!("{path}.conditions[{i}]"), f);
        }
    }
}
