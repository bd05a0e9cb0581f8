//! One probe's verdict, with the checks of the seed's `_compare_probe_outcome`
//! (`tools/agent/scripts/router_calibration_evaluation.py`) that an offline router can answer:
//! decision, recipe, algorithm, plugins, signals, alias and trace. The requested model is not
//! checked (routelab has no entrypoints yet), and nothing is selected but the decision's first
//! model (`static`).

use std::collections::BTreeSet;

use router_core::config::{Decision, DEFAULT_RECIPE};
use router_core::engine::RouteOutcome;
use serde::Serialize;

use super::manifest::{Probe, SignalSet};

/// One check of a probe.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// `decision`, `recipe`, `algorithm`, `plugins`, `signals`, `alias` or `trace`.
    pub name: &'static str,
    /// Whether it held.
    pub passed: bool,
    /// What was wrong (empty when it held).
    pub detail: String,
}

fn check(name: &'static str, problems: Vec<String>) -> Check {
    Check {
        name,
        passed: problems.is_empty(),
        detail: problems.join("; "),
    }
}

/// What a probe's checks compare against.
pub struct Actual<'a> {
    /// The router's outcome (with its trace).
    pub outcome: &'a RouteOutcome,
    /// The winning decision's config, if any.
    pub decision: Option<&'a Decision>,
    /// The recipe the request routed with.
    pub recipe: &'a str,
    /// The decisions the file's probes of that recipe expect (the trace must name exactly
    /// these).
    pub allowed: &'a BTreeSet<String>,
}

/// The checks of `probe` against `actual`, in the seed's order.
pub fn judge(probe: &Probe, actual: &Actual<'_>) -> Vec<Check> {
    let got = actual.outcome.decision.as_deref();
    let mut out = vec![check(
        "decision",
        if got == Some(probe.expected_decision.as_str()) {
            vec![]
        } else {
            vec![format!(
                "expected {:?}, routed to {}",
                probe.expected_decision,
                got.map_or("no decision (default model)".into(), |d| format!("{d:?}"))
            )]
        },
    )];
    let recipe = probe.expected_recipe.as_deref().unwrap_or(DEFAULT_RECIPE);
    out.push(check(
        "recipe",
        if recipe == actual.recipe {
            vec![]
        } else {
            vec![format!(
                "expected recipe {recipe:?}, routed with {:?}",
                actual.recipe
            )]
        },
    ));
    let algorithm = actual.decision.map_or("static", Decision::algorithm_type);
    out.push(check(
        "algorithm",
        match &probe.expected_algorithm {
            Some(want) if want != algorithm => vec![format!(
                "expected {want:?}, the decision's is {algorithm:?}"
            )],
            _ => vec![],
        },
    ));
    let plugins = configured_plugins(actual.decision);
    out.push(check(
        "plugins",
        compare(
            &probe.expected_plugins,
            &probe.forbidden_plugins,
            &plugins,
            probe.plugins_exact,
        ),
    ));
    let signals = matched_signals(actual.outcome);
    let as_text =
        |s: &SignalSet| -> BTreeSet<String> { s.iter().map(|(t, n)| format!("{t}:{n}")).collect() };
    out.push(check(
        "signals",
        compare(
            &as_text(&probe.expected_signals),
            &as_text(&probe.forbidden_signals),
            &as_text(&signals),
            probe.signals_exact,
        ),
    ));
    out.push(check("alias", alias(probe, actual.decision)));
    out.push(check("trace", trace(probe, actual)));
    out
}

/// The configured plugin types of the decision (executed or not), with the seed's aliases for
/// the response cache.
fn configured_plugins(decision: Option<&Decision>) -> BTreeSet<String> {
    decision
        .into_iter()
        .flat_map(|d| &d.plugins)
        .map(|p| p.plugin_type.trim())
        .filter(|t| !t.is_empty())
        .map(|t| match t {
            "semantic-cache" | "semantic_cache" | "response-cache" => "response_cache".to_string(),
            t => t.to_string(),
        })
        .collect()
}

/// The request's matched signals as `(eval key, name)`.
pub fn matched_signals(outcome: &RouteOutcome) -> SignalSet {
    outcome
        .signals
        .iter()
        .map(|s| (s.kind.eval_key().to_string(), s.name.clone()))
        .collect()
}

/// The seed's `compare_expected_signals` / `compare_expected_plugins`: every expected item
/// present, no forbidden one, and with `exact` nothing else.
fn compare(
    expected: &BTreeSet<String>,
    forbidden: &BTreeSet<String>,
    actual: &BTreeSet<String>,
    exact: bool,
) -> Vec<String> {
    let mut problems = Vec::new();
    let missing: Vec<&String> = expected.difference(actual).collect();
    if !missing.is_empty() {
        problems.push(format!("missing {missing:?}"));
    }
    let present: Vec<&String> = forbidden.intersection(actual).collect();
    if !present.is_empty() {
        problems.push(format!("forbidden {present:?}"));
    }
    if exact {
        let extra: Vec<&String> = actual.difference(expected).collect();
        if !extra.is_empty() {
            problems.push(format!("unexpected {extra:?}"));
        }
    }
    problems
}

/// `expected_alias_matches`: one of the decision's models (equal to it when it has one).
fn alias(probe: &Probe, decision: Option<&Decision>) -> Vec<String> {
    let Some(want) = &probe.expected_alias else {
        return vec![];
    };
    let models: Vec<&str> = decision
        .into_iter()
        .flat_map(|d| &d.model_refs)
        .map(|r| r.model.as_str())
        .collect();
    if models.contains(&want.as_str()) {
        vec![]
    } else {
        vec![format!(
            "expected alias {want:?}, the decision recommends {models:?}"
        )]
    }
}

/// `compare_eval_trace`: the expected decision matched, and the trace names exactly the
/// decisions the file's probes expect.
fn trace(probe: &Probe, actual: &Actual<'_>) -> Vec<String> {
    let Some(trace) = &actual.outcome.trace else {
        return vec!["no trace".into()];
    };
    let mut problems = Vec::new();
    if !trace
        .iter()
        .any(|t| t.name == probe.expected_decision && t.matched)
    {
        problems.push(format!("{:?} did not match", probe.expected_decision));
    }
    let names: BTreeSet<String> = trace.iter().map(|t| t.name.clone()).collect();
    if &names != actual.allowed {
        let untested: Vec<&String> = names.difference(actual.allowed).collect();
        let unknown: Vec<&String> = actual.allowed.difference(&names).collect();
        problems.push(format!(
            "the config's decisions differ from the probes' (no probe: {untested:?}; not in the config: {unknown:?})"
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    /// `compare_expected_signals`: contains vs exact, forbidden.
    #[test]
    fn contains_exact_and_forbidden() {
        let actual = set(&["keywords:a", "context:short"]);
        assert!(compare(&set(&["keywords:a"]), &set(&[]), &actual, false).is_empty());
        let exact = compare(&set(&["keywords:a"]), &set(&[]), &actual, true);
        assert_eq!(exact, vec!["unexpected [\"context:short\"]"]);
        let p = compare(
            &set(&["keywords:b"]),
            &set(&["context:short"]),
            &actual,
            false,
        );
        assert_eq!(
            p,
            vec!["missing [\"keywords:b\"]", "forbidden [\"context:short\"]"]
        );
    }
}
