//! What a probes file asserts of its config, as the seed's `collect_coverage` counts it
//! (`tools/agent/scripts/recipe_conformance_coverage.py`): the share of configured signals
//! (every kind the config declares, projection outputs included), projection outputs,
//! algorithms and plugins that some probe asserts, the request shapes, and probes per tag
//! category (`tag_categories`).

use std::collections::{BTreeMap, BTreeSet};

use router_core::config::{Decision, RouterConfig};
use serde::Serialize;

use super::manifest::{Coverage, Probe};

/// One coverage figure against its minimum.
#[derive(Debug, Clone, Serialize)]
pub struct CoverageLine {
    /// `signals`, `projections`, `algorithms`, `plugins`.
    pub what: &'static str,
    /// Configured items some probe asserts.
    pub covered: usize,
    /// Configured items.
    pub configured: usize,
    /// covered / configured in percent, rounded to 0.1 (100 when nothing is configured).
    pub percent: f64,
    /// The file's minimum.
    pub minimum: f64,
}

impl CoverageLine {
    /// Whether the minimum holds.
    pub fn passed(&self) -> bool {
        self.percent >= self.minimum
    }
}

/// `round(x, 1)` as the seed rounds percentages.
pub fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    (part as f64 / whole as f64 * 1000.0).round() / 10.0
}

fn line(
    what: &'static str,
    configured: &BTreeSet<String>,
    asserted: &BTreeSet<String>,
    minimum: f64,
) -> CoverageLine {
    let covered = configured.intersection(asserted).count();
    CoverageLine {
        what,
        covered,
        configured: configured.len(),
        percent: if configured.is_empty() {
            100.0
        } else {
            percent(covered, configured.len())
        },
        minimum,
    }
}

/// The response type of a `routing.signals` section (`SIGNAL_RESPONSE_TYPES`).
fn response_type(section: &str) -> &str {
    match section {
        "user_feedbacks" => "user_feedback",
        "reasks" => "reask",
        "role_bindings" => "authz",
        "events" => "event",
        "classifiers" => "classifier",
        s => s,
    }
}

/// A config file as plain YAML (for the signal kinds routelab does not read, which coverage
/// still counts).
pub fn config_yaml(path: &std::path::Path) -> crate::Result<serde_norway::Value> {
    let p = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|cause| crate::EvalError::Io {
        path: p.clone(),
        cause,
    })?;
    serde_norway::from_str(&text).map_err(|e| crate::EvalError::Format {
        path: p,
        message: e.to_string(),
    })
}

/// `type:name` of every signal rule the config file declares, in any recipe (any kind, read
/// from the YAML as written), and of every projection output.
pub fn configured_signals(raw: &serde_norway::Value, cfg: &RouterConfig) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let recipes = raw.get("recipes").and_then(|r| r.as_sequence());
    let profiles = std::iter::once(raw.get("routing"))
        .chain(recipes.into_iter().flatten().map(|r| r.get("routing")))
        .flatten();
    for profile in profiles {
        let Some(sections) = profile.get("signals").and_then(|s| s.as_mapping()) else {
            continue;
        };
        for (key, rules) in sections {
            let (Some(section), Some(rules)) = (key.as_str(), rules.as_sequence()) else {
                continue;
            };
            for name in rules.iter().filter_map(|r| r.get("name")?.as_str()) {
                out.insert(format!("{}:{name}", response_type(section)));
            }
        }
    }
    for (_, view) in views(cfg) {
        out.extend(
            view.routing
                .projections
                .outputs()
                .map(|o| format!("projection:{}", o.name)),
        );
    }
    out
}

/// Each recipe's name and config view, the default first.
fn views(cfg: &RouterConfig) -> Vec<(&str, RouterConfig)> {
    cfg.recipe_names()
        .into_iter()
        .filter_map(|name| Some((name, cfg.recipe_view(name)?)))
        .collect()
}

/// `recipe:decision:x` of every decision of every recipe, for each `x` of `f(decision)`.
fn per_decision(cfg: &RouterConfig, f: impl Fn(&Decision) -> Vec<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (recipe, view) in views(cfg) {
        for d in &view.routing.decisions {
            out.extend(f(d).into_iter().map(|x| format!("{recipe}:{}:{x}", d.name)));
        }
    }
    out
}

/// The coverage lines of `probes` against `cfg`.
pub fn coverage(
    raw: &serde_norway::Value,
    cfg: &RouterConfig,
    probes: &[Probe],
    minima: &Coverage,
) -> Vec<CoverageLine> {
    let signals = configured_signals(raw, cfg);
    let asserted: BTreeSet<String> = probes
        .iter()
        .flat_map(|p| p.expected_signals.iter().chain(&p.forbidden_signals))
        .map(|(t, n)| format!("{t}:{n}"))
        .collect();
    let projections: BTreeSet<String> = signals
        .iter()
        .filter(|s| s.starts_with("projection:"))
        .cloned()
        .collect();
    let algorithms = per_decision(cfg, |d| vec![d.algorithm_type().to_owned()]);
    let recipe = |p: &Probe| {
        p.expected_recipe
            .clone()
            .unwrap_or_else(|| "default".into())
    };
    let asserted_algorithms: BTreeSet<String> = probes
        .iter()
        .filter_map(|p| {
            Some(format!(
                "{}:{}:{}",
                recipe(p),
                p.expected_decision,
                p.expected_algorithm.as_ref()?
            ))
        })
        .collect();
    let plugins = per_decision(cfg, |d| {
        let types = d.plugins.iter().map(|p| p.plugin_type.trim());
        types.filter(|t| !t.is_empty()).map(str::to_owned).collect()
    });
    let asserted_plugins: BTreeSet<String> = probes
        .iter()
        .flat_map(|p| {
            p.expected_plugins
                .iter()
                .map(move |t| format!("{}:{}:{t}", recipe(p), p.expected_decision))
        })
        .collect();
    vec![
        line(
            "signals",
            &signals,
            &asserted,
            minima.min_signal_assertion_percent,
        ),
        line(
            "projections",
            &projections,
            &asserted,
            minima.min_projection_assertion_percent,
        ),
        line(
            "algorithms",
            &algorithms,
            &asserted_algorithms,
            minima.min_algorithm_assertion_percent,
        ),
        line(
            "plugins",
            &plugins,
            &asserted_plugins,
            minima.min_plugin_assertion_percent,
        ),
    ]
}

/// The request shapes of a probe: `messages` or `text`, plus `tools`.
pub fn shapes(p: &Probe) -> Vec<&'static str> {
    let v = &p.variant;
    let mut out = vec![if v.messages.is_some() {
        "messages"
    } else {
        "text"
    }];
    if v.tools.as_ref().is_some_and(|t| !t.is_empty()) {
        out.push("tools");
    }
    out
}

/// The T3 categories of a probe (`tag_categories`, plus `multi_turn` for messages and `tools`
/// for tools).
pub fn categories(p: &Probe) -> BTreeSet<&'static str> {
    let mut out = BTreeSet::new();
    for tag in p.variant.tags.iter().map(|t| t.trim().to_lowercase()) {
        let t = tag.as_str();
        if t.starts_with("language:") || matches!(t, "de" | "en" | "es" | "fr" | "ja" | "zh") {
            out.insert("language");
        }
        if matches!(t, "negative" | "class:negative" | "fallback") {
            out.insert("negative");
        }
        if t == "collision" || t.ends_with(":collision") {
            out.insert("collision");
        }
        if t == "fallback" {
            out.insert("fallback");
        }
        if t.starts_with("stress:") {
            out.insert("stress");
        }
        if matches!(t, "tools" | "shape:tools") {
            out.insert("tools");
        }
        if matches!(t, "multi-turn" | "multiturn" | "shape:messages") {
            out.insert("multi_turn");
        }
    }
    let shapes = shapes(p);
    if shapes.contains(&"messages") {
        out.insert("multi_turn");
    }
    if shapes.contains(&"tools") {
        out.insert("tools");
    }
    out
}

/// Problems of the file's static minima: request shapes no probe has, tag categories with too
/// few probes.
pub fn shape_and_tag_problems(probes: &[Probe], minima: &Coverage) -> Vec<String> {
    let mut problems = Vec::new();
    let shapes: BTreeSet<&str> = probes.iter().flat_map(shapes).collect();
    for s in &minima.required_request_shapes {
        if !shapes.contains(s.as_str()) {
            problems.push(format!("no probe has request shape {s:?}"));
        }
    }
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for p in probes {
        for c in categories(p) {
            *counts.entry(c).or_default() += 1;
        }
    }
    for (category, min) in &minima.min_tag_counts {
        let n = counts.get(category.as_str()).copied().unwrap_or(0);
        if n < *min {
            problems.push(format!(
                "{n} probe(s) tagged {category}, the file asks for {min}"
            ));
        }
    }
    problems
}
