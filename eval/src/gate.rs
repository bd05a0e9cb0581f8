//! CI regression gate: check a report (and optionally a baseline report) against thresholds,
//! and render the result as JUnit XML and a markdown summary.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{EvalError, Result};
use crate::report::Report;

/// Gate thresholds (`gate.yaml`); every field is optional, unknown keys are an error.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Minimum mean quality of the policy.
    #[serde(default)]
    pub min_quality: Option<f64>,
    /// Maximum cost per 1k requests (USD).
    #[serde(default)]
    pub max_cost_per_1k: Option<f64>,
    /// Maximum absolute drop of mean quality vs the baseline report.
    #[serde(default)]
    pub max_quality_drop: Option<f64>,
    /// Maximum cost-per-1k increase vs the baseline report, in percent.
    #[serde(default)]
    pub max_cost_increase_pct: Option<f64>,
    /// Maximum router overhead p99 in microseconds.
    #[serde(default)]
    pub max_router_p99_us: Option<f64>,
    /// Minimum decision accuracy vs `expected_decision`.
    #[serde(default)]
    pub min_decision_accuracy: Option<f64>,
    /// Minimum domain-signal accuracy vs `category`.
    #[serde(default)]
    pub min_signal_accuracy: Option<f64>,
}

impl Thresholds {
    /// Reads thresholds from a YAML file.
    pub fn load(path: &Path) -> Result<Thresholds> {
        let text = std::fs::read_to_string(path).map_err(|e| EvalError::io(path, e))?;
        let t: Thresholds = serde_norway::from_str(&text).map_err(|e| EvalError::Format {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Ok(t)
    }
}

/// Reads a `report.json`.
pub fn load_report(path: &Path) -> Result<Report> {
    let text = std::fs::read_to_string(path).map_err(|e| EvalError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| EvalError::Format {
        path: path.display().to_string(),
        message: format!("not a routelab eval report: {e}"),
    })
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// Threshold key (`min_quality`, ...).
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// The measured value (`None` when the report lacks it).
    pub actual: Option<f64>,
    /// The threshold.
    pub threshold: f64,
    /// The baseline's value, for relative checks and as context.
    pub baseline: Option<f64>,
    /// One-line explanation.
    pub message: String,
}

/// The result of gating a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateResult {
    /// The checks, in threshold order.
    pub checks: Vec<Check>,
}

impl GateResult {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// Number of failed checks.
    pub fn failures(&self) -> usize {
        self.checks.iter().filter(|c| !c.passed).count()
    }
}

fn absolute(
    name: &str,
    actual: Option<f64>,
    threshold: f64,
    baseline: Option<f64>,
    at_least: bool,
    what: &str,
) -> Check {
    let (passed, message) = match actual {
        None => (false, format!("{what} is missing from the report")),
        Some(a) if at_least => (
            a >= threshold,
            format!(
                "{what} {a:.4} {} minimum {threshold:.4}",
                if a >= threshold { ">=" } else { "<" }
            ),
        ),
        Some(a) => (
            a <= threshold,
            format!(
                "{what} {a:.4} {} maximum {threshold:.4}",
                if a <= threshold { "<=" } else { ">" }
            ),
        ),
    };
    Check {
        name: name.into(),
        passed,
        actual,
        threshold,
        baseline,
        message,
    }
}

/// Runs every configured check. Relative checks need `baseline`; asking for one without a
/// baseline report is an input error.
pub fn evaluate(report: &Report, baseline: Option<&Report>, t: &Thresholds) -> Result<GateResult> {
    let mut checks = Vec::new();
    absolute_checks(report, baseline, t, &mut checks);
    relative_checks(report, baseline, t, &mut checks)?;
    router_check(report, baseline, t, &mut checks);
    accuracy_checks(report, baseline, t, &mut checks);
    if checks.is_empty() {
        return Err(EvalError::Invalid(
            "the thresholds file sets no threshold".into(),
        ));
    }
    Ok(GateResult { checks })
}

/// `min_quality`, `max_cost_per_1k`.
fn absolute_checks(
    report: &Report,
    baseline: Option<&Report>,
    t: &Thresholds,
    checks: &mut Vec<Check>,
) {
    let quality = report.policy.mean_quality;
    let base_quality = baseline.and_then(|b| b.policy.mean_quality);
    let cost = report.policy.cost_per_1k;
    let base_cost = baseline.map(|b| b.policy.cost_per_1k);
    if let Some(th) = t.min_quality {
        checks.push(absolute(
            "min_quality",
            quality,
            th,
            base_quality,
            true,
            "mean quality",
        ));
    }
    if let Some(th) = t.max_cost_per_1k {
        checks.push(absolute(
            "max_cost_per_1k",
            Some(cost),
            th,
            base_cost,
            false,
            "cost per 1k requests (USD)",
        ));
    }
}

/// `max_quality_drop`, `max_cost_increase_pct` (against `baseline`, which they need).
fn relative_checks(
    report: &Report,
    baseline: Option<&Report>,
    t: &Thresholds,
    checks: &mut Vec<Check>,
) -> Result<()> {
    let quality = report.policy.mean_quality;
    let base_quality = baseline.and_then(|b| b.policy.mean_quality);
    let cost = report.policy.cost_per_1k;
    let need_baseline = |key: &str| {
        EvalError::Invalid(format!(
            "threshold `{key}` compares against a baseline; pass --baseline"
        ))
    };
    if let Some(th) = t.max_quality_drop {
        let b = baseline.ok_or_else(|| need_baseline("max_quality_drop"))?;
        let drop = match (b.policy.mean_quality, quality) {
            (Some(bq), Some(q)) => Some(bq - q),
            _ => None,
        };
        let mut c = absolute(
            "max_quality_drop",
            drop,
            th,
            base_quality,
            false,
            "quality drop vs baseline",
        );
        if drop.is_none() {
            c.message = "mean quality is missing from the report or the baseline".into();
        }
        checks.push(c);
    }
    if let Some(th) = t.max_cost_increase_pct {
        let b = baseline.ok_or_else(|| need_baseline("max_cost_increase_pct"))?;
        let base = b.policy.cost_per_1k;
        let pct = if base > 0.0 {
            Some((cost - base) / base * 100.0)
        } else if cost <= 0.0 {
            Some(0.0)
        } else {
            None
        };
        let mut c = absolute(
            "max_cost_increase_pct",
            pct,
            th,
            Some(base),
            false,
            "cost increase vs baseline (%)",
        );
        if pct.is_none() {
            c.message =
                format!("baseline cost is 0 and the report's is {cost:.4}: increase is unbounded");
        }
        checks.push(c);
    }
    Ok(())
}

/// `max_router_p99_us` (per-request overheads only).
fn router_check(
    report: &Report,
    baseline: Option<&Report>,
    t: &Thresholds,
    checks: &mut Vec<Check>,
) {
    if let Some(th) = t.max_router_p99_us {
        // A batched replay's overhead is a share of each batch's time, not a request latency.
        let per_request = report.router_batch <= 1;
        let mut c = absolute(
            "max_router_p99_us",
            per_request.then_some(report.router_overhead_us.p99),
            th,
            baseline.map(|b| b.router_overhead_us.p99),
            false,
            "router overhead p99 (us)",
        );
        if !per_request {
            c.message = format!(
                "the report was replayed with --router-batch {}: its router overhead is a share of batch time, not a per-request latency; replay with --router-batch 1 to gate on it",
                report.router_batch
            );
        }
        checks.push(c);
    }
}

/// `min_decision_accuracy`, `min_signal_accuracy`.
fn accuracy_checks(
    report: &Report,
    baseline: Option<&Report>,
    t: &Thresholds,
    checks: &mut Vec<Check>,
) {
    if let Some(th) = t.min_decision_accuracy {
        let mut c = absolute(
            "min_decision_accuracy",
            report.decision_accuracy.as_ref().map(|a| a.accuracy),
            th,
            baseline.and_then(|b| b.decision_accuracy.as_ref().map(|a| a.accuracy)),
            true,
            "decision accuracy",
        );
        if c.actual.is_none() {
            c.message =
                "decision accuracy is missing (the log has no expected_decision labels)".into();
        }
        checks.push(c);
    }
    if let Some(th) = t.min_signal_accuracy {
        let mut c = absolute(
            "min_signal_accuracy",
            report.signal_accuracy.as_ref().map(|a| a.accuracy),
            th,
            baseline.and_then(|b| b.signal_accuracy.as_ref().map(|a| a.accuracy)),
            true,
            "domain signal accuracy",
        );
        if c.actual.is_none() {
            c.message =
                "signal accuracy is missing (no category labels or no domain signal)".into();
        }
        checks.push(c);
    }
}

/// Escapes text for XML attributes and content.
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: one `<testcase>` per check, a `<failure>` with the message for failed ones.
pub fn junit_xml(result: &GateResult, suite: &str) -> String {
    let n = result.checks.len();
    let f = result.failures();
    let suite = xml_escape(suite);
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str(&format!(
        "<testsuites name=\"{suite}\" tests=\"{n}\" failures=\"{f}\" errors=\"0\">\n"
    ));
    s.push_str(&format!(
        "  <testsuite name=\"{suite}\" tests=\"{n}\" failures=\"{f}\" errors=\"0\" skipped=\"0\">\n"
    ));
    for c in &result.checks {
        let name = xml_escape(&c.name);
        if c.passed {
            s.push_str(&format!(
                "    <testcase classname=\"routelab.gate\" name=\"{name}\"/>\n"
            ));
        } else {
            let msg = xml_escape(&c.message);
            s.push_str(&format!(
                "    <testcase classname=\"routelab.gate\" name=\"{name}\">\n"
            ));
            s.push_str(&format!(
                "      <failure message=\"{msg}\" type=\"threshold\">{msg}</failure>\n"
            ));
            s.push_str("    </testcase>\n");
        }
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "n/a".into())
}

/// Markdown summary for CI (e.g. `$GITHUB_STEP_SUMMARY`).
pub fn markdown_summary(
    result: &GateResult,
    report: &Report,
    report_path: &str,
    baseline_path: Option<&str>,
) -> String {
    let verdict = if result.passed() { "PASS" } else { "FAIL" };
    let mut s = format!("## routelab gate: {verdict}\n\n");
    s.push_str(&format!(
        "Report `{report_path}` (run `{}`, config sha256 `{}`, log sha256 `{}`)",
        report.run_name,
        short_hash(&report.config.sha256),
        short_hash(&report.log.sha256)
    ));
    match baseline_path {
        Some(b) => s.push_str(&format!(" vs baseline `{b}`.\n\n")),
        None => s.push_str(".\n\n"),
    }
    s.push_str(&format!(
        "{} of {} checks passed.\n\n| check | threshold | actual | baseline | result |\n|---|---:|---:|---:|---|\n",
        result.checks.len() - result.failures(),
        result.checks.len()
    ));
    for c in &result.checks {
        s.push_str(&format!(
            "| `{}` | {:.4} | {} | {} | {} |\n",
            c.name,
            c.threshold,
            fmt_opt(c.actual),
            fmt_opt(c.baseline),
            if c.passed {
                "pass".to_string()
            } else {
                format!("**FAIL**: {}", c.message)
            }
        ));
    }
    s
}

fn short_hash(h: &str) -> &str {
    &h[..h.len().min(12)]
}
