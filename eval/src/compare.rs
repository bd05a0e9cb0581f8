//! Offline A/B of two configs on the same log: both routers see every request in one pass;
//! paired differences get percentile-bootstrap CIs (one Poisson bootstrap over requests, so
//! quality and cost are resampled jointly) and correctness gets McNemar's test. Everything is
//! accumulated request by request: memory does not grow with the log.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use router_core::config::ModelMap;
use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;
use crate::bootstrap::{BootstrapCi, PoissonBootstrap};
use crate::error::{EvalError, Result};
use crate::evaluate::{log_sha256, sha256_file, utc_now, VERSION};
use crate::log_schema::LogRowRef;
use crate::replay::{replay, LogModels, Policy, ReplayOptions, Routed};
use crate::report::{InputFile, PolicyMetrics};
use crate::report_md::{opt, pct};
use crate::scoring::CORRECT_AT;
use crate::stats::{mcnemar, McNemar};

/// Format tag of `compare.json`.
pub const COMPARE_FORMAT: &str = "routelab-compare/v1";

/// Settings of a comparison.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    /// Config A (the baseline).
    pub config_a: PathBuf,
    /// Config B (the candidate).
    pub config_b: PathBuf,
    /// The request log.
    pub log: PathBuf,
    /// Output directory.
    pub out_dir: PathBuf,
    /// Replay settings.
    pub replay: ReplayOptions,
    /// Count requests to models without quality columns as unscored.
    pub allow_unscored: bool,
    /// Bootstrap resamples (≥ 1000 recommended).
    pub resamples: usize,
    /// Bootstrap seed.
    pub seed: u64,
    /// Flipped requests listed per direction.
    pub max_examples: usize,
    /// `--model REF=DIR` mappings applied to both configs.
    pub model_maps: Vec<ModelMap>,
    /// The signal store folder (see [`crate::evaluate::EvalOptions::signal_store`]).
    pub signal_store: Option<std::path::PathBuf>,
}

/// Paired per-category comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryDiff {
    /// Category (`(none)` when unlabelled).
    pub category: String,
    /// Requests.
    pub requests: u64,
    /// Mean quality of A (scored rows of A).
    pub quality_a: Option<f64>,
    /// Mean quality of B.
    pub quality_b: Option<f64>,
    /// Total cost of A.
    pub cost_a: f64,
    /// Total cost of B.
    pub cost_b: f64,
    /// Requests A got right and B wrong.
    pub only_a_correct: u64,
    /// Requests B got right and A wrong.
    pub only_b_correct: u64,
}

/// A request whose correctness differs between A and B.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flip {
    /// Request id.
    pub request_id: String,
    /// Category label.
    pub category: Option<String>,
    /// `regressed` (A right, B wrong), `improved` (A wrong, B right) or, where a quality is
    /// unknown (an unscored or served log), `rerouted` (another decision or model).
    pub direction: String,
    /// A's model.
    pub model_a: String,
    /// B's model.
    pub model_b: String,
    /// A's decision.
    pub decision_a: Option<String>,
    /// B's decision.
    pub decision_b: Option<String>,
    /// A's quality (`None`: unscored).
    pub quality_a: Option<f64>,
    /// B's quality (`None`: unscored).
    pub quality_b: Option<f64>,
    /// The first characters of the prompt.
    pub prompt_excerpt: String,
}

/// `compare.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareReport {
    /// [`COMPARE_FORMAT`].
    pub format: String,
    /// routelab version.
    pub routelab_version: String,
    /// Creation time (UTC).
    pub created_utc: String,
    /// Config A.
    pub config_a: InputFile,
    /// Config B.
    pub config_b: InputFile,
    /// Log.
    pub log: InputFile,
    /// The signal store both configs read model outputs from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_store: Option<crate::signal_store::StoreUse>,
    /// Requests.
    pub requests: u64,
    /// A's metrics.
    pub a: PolicyMetrics,
    /// B's metrics.
    pub b: PolicyMetrics,
    /// Requests where both chosen models are scored (the paired quality sample).
    pub paired_scored: u64,
    /// Mean of quality(B) − quality(A) over paired rows, with a percentile bootstrap CI.
    pub quality_diff: Option<BootstrapCi>,
    /// Mean of cost(B) − cost(A) per request (USD), with a percentile bootstrap CI.
    pub cost_diff: Option<BootstrapCi>,
    /// McNemar's test on correctness (quality ≥ 0.5) over paired rows.
    pub mcnemar: McNemar,
    /// Requests where A and B chose different models.
    pub model_changes: u64,
    /// Per-category breakdown.
    pub per_category: Vec<CategoryDiff>,
    /// Examples of flipped requests (up to `max_examples` per direction).
    pub flipped: Vec<Flip>,
}

/// The user text of a row for people to read: `prompt`, else the last user turn of `messages`
/// (through the request model), else the raw cell.
fn user_text(row: &crate::log_schema::LogRowRef<'_>) -> String {
    if let Some(p) = row.prompt {
        return p.to_string();
    }
    let raw = row.messages.unwrap_or("");
    match router_core::request::parse_conversation_json(raw) {
        Ok(request) => request.user_text().to_string(),
        Err(_) => raw.to_string(),
    }
}

/// Excerpt of a prompt for tables: first `n` characters, whitespace collapsed.
pub fn excerpt(text: &str, n: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = flat.chars().take(n).collect();
    if flat.chars().count() > n {
        out.push('…');
    }
    out
}

/// Runs the comparison and writes `compare.json` and `compare.md` into `opts.out_dir`.
pub fn run_compare(opts: &CompareOptions) -> Result<CompareReport> {
    let log_models = LogModels::of(&opts.log)?;
    let store = opts
        .signal_store
        .as_deref()
        .map(crate::signal_store::SignalStore::open)
        .transpose()?;
    // One registry: a model both configs name is loaded once.
    let registry = crate::evaluate::registry_with(store.clone());
    let load = |config: &Path| {
        Policy::load(
            config,
            &opts.model_maps,
            &registry,
            &log_models,
            &opts.log,
            opts.allow_unscored,
            None,
        )
    };
    let mut a = load(&opts.config_a)?;
    let mut b = load(&opts.config_b)?;
    if a.name == b.name {
        a.name = format!("A:{}", a.name);
        b.name = format!("B:{}", b.name);
    }
    let mut flips = Flips::new(opts.max_examples);
    let mut paired = Paired::new(opts.resamples, opts.seed);
    let replay_opts = opts.replay.clone().with_store(store.clone());
    let data = replay(
        &opts.log,
        &[&a, &b],
        &replay_opts,
        &mut |index, row, routed| {
            flips.observe(&row, &routed[0], &routed[1]);
            paired.add(index, &row, &routed[0], &routed[1]);
            Ok(())
        },
    )?;
    let ma = data.runs[0].metrics(&format!("A: {}", opts.config_a.display()));
    let mb = data.runs[1].metrics(&format!("B: {}", opts.config_b.display()));
    let p = paired.finish();
    let hash = |p: &Path| -> Result<InputFile> {
        Ok(InputFile {
            path: p.display().to_string(),
            sha256: sha256_file(p)?,
        })
    };
    let report = CompareReport {
        format: COMPARE_FORMAT.into(),
        routelab_version: VERSION.into(),
        created_utc: utc_now().0,
        config_a: hash(&opts.config_a)?,
        config_b: hash(&opts.config_b)?,
        log: InputFile {
            path: opts.log.display().to_string(),
            sha256: log_sha256(&opts.log)?,
        },
        signal_store: store.as_deref().map(|s| s.finish()).transpose()?,
        requests: data.len() as u64,
        a: ma,
        b: mb,
        paired_scored: p.paired_scored,
        quality_diff: p.quality_diff,
        cost_diff: p.cost_diff,
        mcnemar: p.mcnemar,
        model_changes: p.model_changes,
        per_category: p.per_category,
        flipped: flips.flips,
    };
    let json_path = opts.out_dir.join("compare.json");
    let json = serde_json::to_string_pretty(&report).map_err(|e| EvalError::Format {
        path: json_path.display().to_string(),
        message: e.to_string(),
    })?;
    write_atomic(&json_path, json.as_bytes())?;
    write_atomic(
        &opts.out_dir.join("compare.md"),
        render_md(&report).as_bytes(),
    )?;
    Ok(report)
}

fn ci(c: &Option<BootstrapCi>, scale: f64, d: usize) -> String {
    match c {
        Some(c) => format!(
            "{:+.d$} [{:+.d$}, {:+.d$}] ({}% CI, {} bootstrap, {} resamples, seed {})",
            c.mean * scale,
            c.lo * scale,
            c.hi * scale,
            (c.level * 100.0).round(),
            c.method,
            c.resamples,
            c.seed
        ),
        None => "n/a".into(),
    }
}

/// `compare.md`.
pub fn render_md(r: &CompareReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# routelab compare\n\n- A: `{}` (sha256 `{}`)\n- B: `{}` (sha256 `{}`)\n- log: `{}` (sha256 `{}`), {} requests, {} paired scored, {} with a different model\n",
        r.config_a.path, r.config_a.sha256, r.config_b.path, r.config_b.sha256, r.log.path, r.log.sha256, r.requests, r.paired_scored, r.model_changes);
    s.push_str(
        "| | mean quality | correct | unscored | cost / 1k req |\n|---|---:|---:|---:|---:|\n",
    );
    for m in [&r.a, &r.b] {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {:.4} |",
            m.name,
            opt(m.mean_quality, 4),
            pct(m.correct_rate),
            m.unscored,
            m.cost_per_1k
        );
    }
    let _ = writeln!(s, "\n- quality B − A: {}", ci(&r.quality_diff, 1.0, 4));
    let _ = writeln!(
        s,
        "- cost B − A per 1k requests (USD): {}",
        ci(&r.cost_diff, 1000.0, 4)
    );
    let m = &r.mcnemar;
    let p = if m.p_value < 1e-4 {
        format!("{:.2e}", m.p_value)
    } else {
        format!("{:.4}", m.p_value)
    };
    let _ = writeln!(
        s,
        "- McNemar ({}): A-only correct {}, B-only correct {}, both {}, neither {}; p = {p}{}",
        m.method,
        m.only_a,
        m.only_b,
        m.both_correct,
        m.both_wrong,
        m.statistic
            .map(|x| format!(", χ² = {x:.3}"))
            .unwrap_or_default()
    );
    s.push_str("\n## Per category\n\n| category | requests | quality A | quality B | cost A | cost B | A-only correct | B-only correct |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for c in &r.per_category {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {:.4} | {:.4} | {} | {} |",
            c.category,
            c.requests,
            opt(c.quality_a, 4),
            opt(c.quality_b, 4),
            c.cost_a,
            c.cost_b,
            c.only_a_correct,
            c.only_b_correct
        );
    }
    if !r.flipped.is_empty() {
        s.push_str("\n## Flipped requests (examples)\n\n| request | category | direction | A (model / decision / q) | B (model / decision / q) | prompt |\n|---|---|---|---|---|---|\n");
        for f in &r.flipped {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} / {} / {} | {} / {} / {} | {} |",
                f.request_id,
                f.category.as_deref().unwrap_or(""),
                f.direction,
                f.model_a,
                f.decision_a.as_deref().unwrap_or("(default)"),
                opt(f.quality_a, 2),
                f.model_b,
                f.decision_b.as_deref().unwrap_or("(default)"),
                opt(f.quality_b, 2),
                f.prompt_excerpt.replace('|', "\\|")
            );
        }
    }
    s
}

/// The requests whose routing flips between A and B, at most `max` per direction: regressed
/// (A correct, B not), improved (the reverse), and, for unscored requests, rerouted.
struct Flips {
    max: usize,
    counts: BTreeMap<&'static str, usize>,
    flips: Vec<Flip>,
}

impl Flips {
    fn new(max: usize) -> Self {
        Flips {
            max,
            counts: BTreeMap::new(),
            flips: Vec::new(),
        }
    }

    fn observe(&mut self, row: &LogRowRef<'_>, ra: &Routed<'_>, rb: &Routed<'_>) {
        let (qa, qb) = (ra.chosen.quality, rb.chosen.quality);
        let direction = if qa.is_nan() || qb.is_nan() {
            let moved =
                ra.target.decision != rb.target.decision || ra.target.model != rb.target.model;
            if !moved {
                return;
            }
            "rerouted"
        } else {
            match (qa >= CORRECT_AT, qb >= CORRECT_AT) {
                (true, false) => "regressed",
                (false, true) => "improved",
                _ => return,
            }
        };
        let seen = self.counts.entry(direction).or_default();
        if *seen >= self.max {
            return;
        }
        *seen += 1;
        self.flips.push(Flip {
            request_id: row.request_id.to_string(),
            category: row.category.map(str::to_string),
            direction: direction.into(),
            model_a: ra.target.model.to_string(),
            model_b: rb.target.model.to_string(),
            decision_a: ra.target.decision.map(str::to_string),
            decision_b: rb.target.decision.map(str::to_string),
            quality_a: (!qa.is_nan()).then_some(qa),
            quality_b: (!qb.is_nan()).then_some(qb),
            prompt_excerpt: excerpt(&user_text(row), 160),
        });
    }
}

/// Confidence level of the paired intervals.
const LEVEL: f64 = 0.95;

/// Paired differences of run B against run A, accumulated request by request.
struct Paired {
    /// Cost B − A of every request and quality B − A of the requests both scored, resampled
    /// jointly.
    diffs: PoissonBootstrap,
    paired_scored: u64,
    /// McNemar's cells: both correct, only A, only B, neither.
    cells: [u64; 4],
    model_changes: u64,
    per_category: BTreeMap<String, CategoryTally>,
}

/// One category's row with its running quality sums (A, B: sum and count).
struct CategoryTally {
    diff: CategoryDiff,
    quality: [(f64, u64); 2],
}

/// What [`Paired`] reports.
struct PairedResult {
    paired_scored: u64,
    quality_diff: Option<BootstrapCi>,
    cost_diff: Option<BootstrapCi>,
    mcnemar: McNemar,
    model_changes: u64,
    per_category: Vec<CategoryDiff>,
}

impl Paired {
    fn new(resamples: usize, seed: u64) -> Self {
        Paired {
            diffs: PoissonBootstrap::new(2, resamples, seed),
            paired_scored: 0,
            cells: [0; 4],
            model_changes: 0,
            per_category: BTreeMap::new(),
        }
    }

    /// Counts request `index` (`row`), routed by A to `ra` and by B to `rb`.
    fn add(&mut self, index: u64, row: &LogRowRef<'_>, ra: &Routed<'_>, rb: &Routed<'_>) {
        let (oa, ob) = (ra.chosen, rb.chosen);
        let both_scored = !oa.quality.is_nan() && !ob.quality.is_nan();
        let quality = both_scored.then_some(ob.quality - oa.quality);
        self.diffs.add(index, &[Some(ob.cost - oa.cost), quality]);
        self.model_changes += u64::from(ra.model != rb.model);
        let e = self.category(row.category.unwrap_or(crate::classify::NO_PREDICTION));
        e.diff.requests += 1;
        e.diff.cost_a += oa.cost;
        e.diff.cost_b += ob.cost;
        for (k, q) in [oa.quality, ob.quality].into_iter().enumerate() {
            if !q.is_nan() {
                e.quality[k].0 += q;
                e.quality[k].1 += 1;
            }
        }
        if !both_scored {
            return;
        }
        let cell = match (oa.quality >= CORRECT_AT, ob.quality >= CORRECT_AT) {
            (true, true) => 0,
            (true, false) => {
                e.diff.only_a_correct += 1;
                1
            }
            (false, true) => {
                e.diff.only_b_correct += 1;
                2
            }
            (false, false) => 3,
        };
        self.cells[cell] += 1;
        self.paired_scored += 1;
    }

    /// The row of category `cat`, created empty on first sight.
    fn category(&mut self, cat: &str) -> &mut CategoryTally {
        if !self.per_category.contains_key(cat) {
            let diff = CategoryDiff {
                category: cat.to_string(),
                requests: 0,
                quality_a: None,
                quality_b: None,
                cost_a: 0.0,
                cost_b: 0.0,
                only_a_correct: 0,
                only_b_correct: 0,
            };
            self.per_category.insert(
                cat.to_string(),
                CategoryTally {
                    diff,
                    quality: [(0.0, 0); 2],
                },
            );
        }
        self.per_category.get_mut(cat).expect("inserted")
    }

    fn finish(self) -> PairedResult {
        let [both, only_a, only_b, neither] = self.cells;
        let mean = |(s, n): (f64, u64)| (n > 0).then(|| s / n as f64);
        let mut cis = self.diffs.finish(LEVEL).into_iter();
        let (cost_diff, quality_diff) = (cis.next().flatten(), cis.next().flatten());
        PairedResult {
            paired_scored: self.paired_scored,
            quality_diff,
            cost_diff,
            mcnemar: mcnemar(both, only_a, only_b, neither),
            model_changes: self.model_changes,
            per_category: self
                .per_category
                .into_values()
                .map(|t| CategoryDiff {
                    quality_a: mean(t.quality[0]),
                    quality_b: mean(t.quality[1]),
                    ..t.diff
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log_schema::LogRowRef;

    #[test]
    fn flips_show_the_user_text_of_a_conversation() {
        let row = |prompt, messages| LogRowRef {
            request_id: "r",
            prompt,
            messages,
            category: None,
            expected_decision: None,
            outcomes: &[],
        };
        let conversation = r#"{"messages": [{"role": "user", "content": [{"type": "text", "text": "debug"},
            {"type": "text", "text": "my code"}]}, {"role": "assistant", "content": null}]}"#;
        assert_eq!(user_text(&row(None, Some(conversation))), "debug my code");
        assert_eq!(user_text(&row(Some("plain"), Some(conversation))), "plain");
        assert_eq!(user_text(&row(None, Some("not json"))), "not json");
    }
}
