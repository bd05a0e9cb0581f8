//! The seed's probes files as routelab's conformance suite: every probe routed through the same
//! [`Router`] serve uses, judged as the seed's evaluator judges it, and summarised per decision
//! and tag category against the file's acceptance and coverage minima
//! (`tools/agent/scripts/router_calibration_support.py`: `evaluate_probes`;
//! `router_calibration_manifest.py`: `summarize_decision_results`).

pub mod coverage;
pub mod judge;
pub mod junit;
pub mod manifest;
pub mod materialize;

use std::collections::{BTreeMap, BTreeSet};

use router_core::config::{LoadedConfig, DEFAULT_RECIPE};
use router_core::engine::{Recipes, Settled};
use serde::Serialize;

use coverage::{percent, CoverageLine};
use judge::{Actual, Check};
use manifest::{Manifest, Probe};

/// Which probes run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Subset {
    /// Every probe; acceptance, tag pass rates and coverage minima all apply.
    All,
    /// Only rule-decided probes (see [`ProbeResult::rule_decided`]); the file's acceptance
    /// applies to them.
    RuleDecided,
}

/// One probe's result.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeResult {
    /// `decision_id:variant_id`.
    pub id: String,
    /// The decision group.
    pub decision_id: String,
    /// The decision expected.
    pub expected_decision: String,
    /// The decision routed to (`None`: the default model).
    pub actual_decision: Option<String>,
    /// Whether its rule signals settle the decision whatever the model signals say
    /// ([`Router::settled_by_rules`]): such a probe routes here as it does with the seed's
    /// models. The others are model-dependent.
    pub rule_decided: bool,
    /// Whether every check held.
    pub passed: bool,
    /// The checks.
    pub checks: Vec<Check>,
    /// Why the probe could not be routed, if it could not.
    pub error: Option<String>,
    /// The tag categories it counts in.
    pub categories: Vec<&'static str>,
    /// The decisions' traces, one line each (for failures).
    pub trace: Vec<String>,
}

/// Pass counts of a group of probes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Rate {
    /// Probes that passed.
    pub passed: usize,
    /// Probes.
    pub total: usize,
    /// passed / total in percent, rounded to 0.1 (0 for none).
    pub rate: f64,
}

impl Rate {
    fn of<'r>(results: impl Iterator<Item = &'r ProbeResult>) -> Rate {
        let (mut passed, mut total) = (0, 0);
        for r in results {
            total += 1;
            passed += usize::from(r.passed);
        }
        Rate {
            passed,
            total,
            rate: percent(passed, total),
        }
    }
}

/// A decision group's pass rate against its minimum.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionRate {
    /// The group id.
    pub decision_id: String,
    /// Its probes.
    pub rate: Rate,
    /// `robustness.min_pass_rate`, else the file's `min_decision_pass_rate`, else 100.
    pub minimum: f64,
    /// rate >= minimum.
    pub passed: bool,
}

/// A tag category's pass rate against the file's minimum (if it sets one).
#[derive(Debug, Clone, Serialize)]
pub struct TagRate {
    /// The category.
    pub category: String,
    /// Its probes.
    pub rate: Rate,
    /// `coverage.min_tag_pass_rate`.
    pub minimum: Option<f64>,
}

/// The outcome of a probes file.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeRun {
    /// The probes file's recipe name.
    pub name: String,
    /// Which probes ran.
    pub subset: Subset,
    /// Every probe run, in file order.
    pub results: Vec<ProbeResult>,
    /// Probes in the file (run or not).
    pub probes_in_file: usize,
    /// All probes run.
    pub overall: Rate,
    /// The rule-decided ones among them.
    pub rule_decided: Rate,
    /// The model-dependent ones among them.
    pub model_dependent: Rate,
    /// The file's `min_probe_pass_rate` (default 100).
    pub min_probe_pass_rate: f64,
    /// Per decision group.
    pub decisions: Vec<DecisionRate>,
    /// Per tag category.
    pub tags: Vec<TagRate>,
    /// Static coverage.
    pub coverage: Vec<CoverageLine>,
    /// Static problems: shapes and tag counts below the file's minima.
    pub coverage_problems: Vec<String>,
    /// Why acceptance failed (empty: it held).
    pub failures: Vec<String>,
}

impl ProbeRun {
    /// Whether the file's acceptance held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Runs `manifest`'s probes (those of `subset`) through `recipes`, built from `loaded`: each
/// probe with the recipe its `model` selects (the default without one).
pub fn run(
    loaded: &LoadedConfig,
    raw: &serde_norway::Value,
    recipes: &Recipes,
    manifest: &Manifest,
    subset: Subset,
) -> ProbeRun {
    let cfg = &loaded.config;
    let probes = manifest.probes();
    // The seed's trace check: a recipe's trace names exactly its probes' decisions.
    let mut allowed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in &probes {
        let recipe = p.expected_recipe.as_deref().unwrap_or(DEFAULT_RECIPE);
        allowed
            .entry(recipe.to_owned())
            .or_default()
            .insert(p.expected_decision.clone());
    }
    let results: Vec<ProbeResult> = probes
        .iter()
        .map(|p| run_one(recipes, manifest, p, &allowed))
        // A probe that cannot be routed is never left out: it fails.
        .filter(|r| subset == Subset::All || r.rule_decided || r.error.is_some())
        .collect();
    summarise(manifest, cfg, raw, &probes, results, subset)
}

/// The recipe probe `p` routes with: the one its `model` selects, else the default.
fn recipe_of(recipes: &Recipes, p: &Probe) -> Result<usize, String> {
    match p.model.as_deref() {
        None => Ok(0),
        Some(m) => recipes.for_model(m).ok_or_else(|| {
            format!("model {m:?} is neither an auto alias nor an entrypoint of the config")
        }),
    }
}

fn run_one(
    recipes: &Recipes,
    manifest: &Manifest,
    probe: &Probe,
    allowed: &BTreeMap<String, BTreeSet<String>>,
) -> ProbeResult {
    let mut result = ProbeResult {
        id: probe.id.clone(),
        decision_id: probe.decision_id.clone(),
        expected_decision: probe.expected_decision.clone(),
        actual_decision: None,
        rule_decided: false,
        passed: false,
        checks: Vec::new(),
        error: None,
        categories: coverage::categories(probe).into_iter().collect(),
        trace: Vec::new(),
    };
    let recipe = match recipe_of(recipes, probe) {
        Ok(r) => r,
        Err(e) => {
            result.error = Some(e);
            return result;
        }
    };
    let router = recipes.router(recipe);
    let routed = materialize::request(manifest, probe).and_then(|req| {
        let outcome = router.route_with_trace(&req).map_err(|e| e.to_string())?;
        let settled = router.settled_by_rules(&req).map_err(|e| e.to_string())?;
        Ok((outcome, settled))
    });
    let (outcome, settled) = match routed {
        Ok(o) => o,
        Err(e) => {
            result.error = Some(e);
            return result;
        }
    };
    let decision = outcome
        .decision
        .as_deref()
        .and_then(|name| router.config().decision(name));
    let recipe_name = recipes.names()[recipe].as_str();
    let no_decisions = BTreeSet::new();
    result.rule_decided = settled != Settled::Open;
    result.checks = judge::judge(
        probe,
        &Actual {
            outcome: &outcome,
            decision,
            recipe: recipe_name,
            allowed: allowed.get(recipe_name).unwrap_or(&no_decisions),
        },
    );
    result.passed = result.checks.iter().all(|c| c.passed);
    result.actual_decision = outcome.decision.clone();
    result.trace = outcome
        .trace
        .iter()
        .flatten()
        .map(|t| {
            format!(
                "{} {}: {}",
                if t.matched { "+" } else { "-" },
                t.name,
                t.expression
            )
        })
        .collect();
    result
}

fn summarise(
    manifest: &Manifest,
    cfg: &router_core::config::RouterConfig,
    raw: &serde_norway::Value,
    probes: &[Probe],
    results: Vec<ProbeResult>,
    subset: Subset,
) -> ProbeRun {
    let acceptance = &manifest.acceptance;
    let min_probe = acceptance.min_probe_pass_rate.unwrap_or(100.0);
    let decisions = decision_rates(manifest, &results);
    let tags = tag_rates(manifest, &results);
    let coverage = coverage::coverage(raw, cfg, probes, &manifest.coverage);
    let coverage_problems = coverage::shape_and_tag_problems(probes, &manifest.coverage);
    let overall = Rate::of(results.iter());
    let mut failures = Vec::new();
    if overall.total == 0 {
        failures.push("no probe ran: none of the file's probes is rule-decided".into());
    } else if overall.rate < min_probe {
        failures.push(format!("probe pass rate {}% < {min_probe}%", overall.rate));
    }
    for d in decisions.iter().filter(|d| !d.passed) {
        failures.push(format!(
            "decision {:?}: {}% < {}%",
            d.decision_id, d.rate.rate, d.minimum
        ));
    }
    if subset == Subset::All {
        for t in &tags {
            if let Some(min) = t.minimum.filter(|m| t.rate.rate < *m) {
                failures.push(format!(
                    "tag category {}: {}% < {min}%",
                    t.category, t.rate.rate
                ));
            }
        }
        for c in coverage.iter().filter(|c| !c.passed()) {
            failures.push(format!(
                "{} coverage {}% < {}%",
                c.what, c.percent, c.minimum
            ));
        }
        failures.extend(coverage_problems.iter().cloned());
    }
    ProbeRun {
        name: manifest.name.clone(),
        subset,
        probes_in_file: probes.len(),
        overall,
        rule_decided: Rate::of(results.iter().filter(|r| r.rule_decided)),
        model_dependent: Rate::of(results.iter().filter(|r| !r.rule_decided)),
        min_probe_pass_rate: min_probe,
        decisions,
        tags,
        coverage,
        coverage_problems,
        failures,
        results,
    }
}

/// Per decision group (sorted by id) among the probes run.
fn decision_rates(manifest: &Manifest, results: &[ProbeResult]) -> Vec<DecisionRate> {
    let default_min = manifest.acceptance.min_decision_pass_rate.unwrap_or(100.0);
    let mut groups: BTreeMap<&str, Vec<&ProbeResult>> = BTreeMap::new();
    for r in results {
        groups.entry(&r.decision_id).or_default().push(r);
    }
    groups
        .into_iter()
        .map(|(id, rs)| {
            let minimum = manifest
                .decisions
                .iter()
                .find(|d| d.id.trim() == id)
                .and_then(|d| d.robustness.as_ref()?.min_pass_rate)
                .map_or(default_min, |m| {
                    ((m * 10.0).round() / 10.0).clamp(0.0, 100.0)
                });
            let rate = Rate::of(rs.into_iter());
            DecisionRate {
                decision_id: id.to_string(),
                passed: rate.rate >= minimum,
                rate,
                minimum,
            }
        })
        .collect()
}

/// Per tag category: those the probes run have, and those the file sets a minimum for.
fn tag_rates(manifest: &Manifest, results: &[ProbeResult]) -> Vec<TagRate> {
    let minima = &manifest.coverage.min_tag_pass_rate;
    let mut names: BTreeSet<String> = minima.keys().cloned().collect();
    names.extend(
        results
            .iter()
            .flat_map(|r| r.categories.iter().map(|c| c.to_string())),
    );
    names
        .into_iter()
        .map(|c| TagRate {
            rate: Rate::of(
                results
                    .iter()
                    .filter(|r| r.categories.contains(&c.as_str())),
            ),
            minimum: minima.get(&c).copied(),
            category: c,
        })
        .collect()
}

/// The run as text: totals, decisions, tags, coverage, then each failing probe with its checks
/// and trace.
pub fn render(run: &ProbeRun) -> String {
    let mut s = String::new();
    let r = |x: &Rate| format!("{}/{} ({}%)", x.passed, x.total, x.rate);
    s.push_str(&format!(
        "probes {} ({:?}): {} of {} in the file ran; passed {} (minimum {}%)\n",
        run.name,
        run.subset,
        run.overall.total,
        run.probes_in_file,
        r(&run.overall),
        run.min_probe_pass_rate
    ));
    s.push_str(&format!(
        "  rule-decided {}, model-dependent {}\n",
        r(&run.rule_decided),
        r(&run.model_dependent)
    ));
    s.push_str("decisions:\n");
    for d in &run.decisions {
        let mark = if d.passed { "ok  " } else { "FAIL" };
        s.push_str(&format!(
            "  {mark} {:<40} {} (minimum {}%)\n",
            d.decision_id,
            r(&d.rate),
            d.minimum
        ));
    }
    s.push_str("tag categories:\n");
    for t in &run.tags {
        let min = t
            .minimum
            .map_or(String::new(), |m| format!(" (minimum {m}%)"));
        s.push_str(&format!("  {:<12} {}{min}\n", t.category, r(&t.rate)));
    }
    s.push_str("coverage:\n");
    for c in &run.coverage {
        s.push_str(&format!(
            "  {:<12} {}/{} ({}%, minimum {}%)\n",
            c.what, c.covered, c.configured, c.percent, c.minimum
        ));
    }
    for p in &run.coverage_problems {
        s.push_str(&format!("  {p}\n"));
    }
    for p in run.results.iter().filter(|p| !p.passed) {
        s.push_str(&format!(
            "\nFAIL {} (expected {:?}, got {:?})\n",
            p.id, p.expected_decision, p.actual_decision
        ));
        if let Some(e) = &p.error {
            s.push_str(&format!("  error: {e}\n"));
        }
        for c in p.checks.iter().filter(|c| !c.passed) {
            s.push_str(&format!("  {}: {}\n", c.name, c.detail));
        }
        for t in &p.trace {
            s.push_str(&format!("    {t}\n"));
        }
    }
    s.push_str(&match run.failures.as_slice() {
        [] => "\nacceptance: passed\n".to_string(),
        f => format!("\nacceptance: FAILED\n  {}\n", f.join("\n  ")),
    });
    s
}
