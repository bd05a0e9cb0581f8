//! `report.md`: the report as markdown tables.

use std::fmt::Write;

use crate::classify::Classification;
use crate::report::{BreakdownRow, PolicyMetrics, Report};

/// Formats an optional number with `d` decimals (`n/a` when absent).
pub fn opt(v: Option<f64>, d: usize) -> String {
    v.map(|x| format!("{x:.d$}"))
        .unwrap_or_else(|| "n/a".into())
}

/// Formats an optional share as a percentage.
pub fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1}%", x * 100.0))
        .unwrap_or_else(|| "n/a".into())
}

fn policy_row(s: &mut String, m: &PolicyMetrics) {
    let _ = writeln!(
        s,
        "| {} | {} | {} | {} | {:.4} | {:.4} | {} |",
        m.name,
        opt(m.mean_quality, 4),
        pct(m.correct_rate),
        m.unscored,
        m.total_cost,
        m.cost_per_1k,
        opt(m.mean_model_latency_ms, 1)
    );
}

fn breakdown(s: &mut String, title: &str, rows: &[BreakdownRow], with_acc: bool) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n## {title}\n");
    if with_acc {
        s.push_str("| key | requests | share | mean quality | unscored | cost (USD) | signal accuracy |\n|---|---:|---:|---:|---:|---:|---:|\n");
    } else {
        s.push_str("| key | requests | share | mean quality | unscored | cost (USD) |\n|---|---:|---:|---:|---:|---:|\n");
    }
    for r in rows {
        let _ = write!(
            s,
            "| {} | {} | {} | {} | {} | {:.4} |",
            r.key,
            r.requests,
            pct(Some(r.share)),
            opt(r.mean_quality, 4),
            r.unscored,
            r.total_cost
        );
        if with_acc {
            let _ = write!(s, " {} |", pct(r.accuracy));
        }
        s.push('\n');
    }
}

fn classification(s: &mut String, title: &str, c: &Classification) {
    let _ = writeln!(
        s,
        "\n## {title}\n\naccuracy {} ({} / {}), macro-F1 {:.4}\n",
        pct(Some(c.accuracy)),
        c.correct,
        c.n,
        c.macro_f1
    );
    s.push_str("| class | support | precision | recall | F1 |\n|---|---:|---:|---:|---:|\n");
    for k in &c.per_class {
        let _ = writeln!(
            s,
            "| {} | {} | {:.4} | {:.4} | {:.4} |",
            k.label, k.support, k.precision, k.recall, k.f1
        );
    }
    s.push_str("\nConfusion matrix (rows: label, columns: predicted):\n\n| |");
    for l in &c.labels {
        let _ = write!(s, " {l} |");
    }
    s.push_str("\n|---|");
    s.push_str(&"---:|".repeat(c.labels.len()));
    s.push('\n');
    for (l, row) in c.labels.iter().zip(&c.matrix) {
        let _ = write!(s, "| **{l}** |");
        for v in row {
            let _ = write!(s, " {v} |");
        }
        s.push('\n');
    }
}

/// Renders the report as markdown.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# routelab eval: {}\n", r.run_name);
    let _ = writeln!(
        s,
        "- config: `{}` (sha256 `{}`)\n- log: `{}` (sha256 `{}`), {} requests\n- routelab {} , {}\n- cost: logged cost, else tokens × config prices (missing prompt tokens: chars / {}; missing completion tokens: {}; reasoning: × {} + {} tokens)",
        r.config.path,
        r.config.sha256,
        r.log.path,
        r.log.sha256,
        r.requests,
        r.routelab_version,
        r.created_utc,
        r.cost_settings.chars_per_token,
        r.cost_settings.default_output_tokens,
        r.cost_settings.reasoning_multiplier,
        r.cost_settings.reasoning_extra_tokens
    );
    if let Some(recipe) = &r.recipe {
        let _ = writeln!(s, "- recipe: `{recipe}` (every request routed with it)");
    }
    if !r.mapped_models.is_empty() {
        let _ = writeln!(
            s,
            "- models mapped with `--model` (thresholds calibrated for the config's own models may not transfer): `{}`",
            r.mapped_models.join("`, `")
        );
    }
    s.push_str("\n## Policy and baselines\n\n| policy | mean quality | correct (q ≥ 0.5) | unscored | total cost (USD) | cost / 1k req | mean model latency (ms) |\n|---|---:|---:|---:|---:|---:|---:|\n");
    policy_row(&mut s, &r.policy);
    for b in &r.baselines {
        policy_row(&mut s, b);
    }
    let _ = writeln!(
        s,
        "\nSavings vs always-strongest: {}; vs always-cheapest: {}. Zero-router quality at the policy's cost: {}.",
        pct(r.savings.vs_strongest),
        pct(r.savings.vs_cheapest),
        opt(r.curves.zero_router_quality_at_policy_cost, 4)
    );
    let c = &r.curves;
    s.push_str("\n## Curve metrics\n\n| metric | policy | random | oracle | zero router |\n|---|---:|---:|---:|---:|\n");
    let _ = writeln!(
        s,
        "| APGR | {} | {} | {} | {} |",
        opt(c.apgr, 4),
        opt(c.apgr_random, 4),
        opt(c.apgr_oracle, 4),
        opt(c.apgr_random, 4)
    );
    let _ = writeln!(
        s,
        "| AIQ | {} | {} | {} | {} |",
        opt(c.aiq, 4),
        opt(c.aiq_zero_router, 4),
        opt(c.aiq_oracle, 4),
        opt(c.aiq_zero_router, 4)
    );
    let _ = writeln!(s, "| CPT(50%) | {} | 50.0% | | |", pct(c.cpt50));
    let _ = writeln!(s, "| CPT(80%) | {} | 80.0% | | |", pct(c.cpt80));
    let _ = writeln!(s, "| PGR (this run) | {} | | | |", opt(c.pgr, 4));
    if let (Some(w), Some(st)) = (&c.weak_model, &c.strong_model) {
        let _ = writeln!(s, "\nWeak model `{w}`, strong model `{st}` (RouteLLM metrics). Random and zero router coincide for two models.");
    }
    if let Some(sw) = &r.sweep {
        let _ = writeln!(s, "\n## Sweep of `{}`\n\n| value | cost / 1k | mean quality | calls to strong | PGR |\n|---:|---:|---:|---:|---:|", sw.param);
        for p in &sw.points {
            let _ = writeln!(
                s,
                "| {} | {:.4} | {} | {} | {} |",
                p.value,
                p.cost_per_1k,
                opt(p.mean_quality, 4),
                pct(p.strong_share),
                opt(p.pgr, 4)
            );
        }
    }
    let o = &r.router_overhead_us;
    let l = &r.model_latency_ms;
    let _ = writeln!(
        s,
        "\n## Latency\n\n| | p50 | p95 | p99 | mean | max |\n|---|---:|---:|---:|---:|---:|\n| router overhead (µs) | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |\n| model latency (ms) | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |\n\nRequests with unknown model latency: {}. Requests answered by a block plugin: {}.",
        o.p50, o.p95, o.p99, o.mean, o.max, l.p50, l.p95, l.p99, l.mean, l.max, r.unknown_latency, r.blocked
    );
    if r.router_batch > 1 {
        let _ = writeln!(
            s,
            "\nRequests were routed {} at a time (`--router-batch`): each request's router overhead is an even share of its batch's time, not the per-request latency of serving.",
            r.router_batch
        );
    }
    s.push_str("\n## Models\n\n| model | prompt $/1M | completion $/1M | scored | mean quality (always) | cost / 1k (always) |\n|---|---:|---:|---|---:|---:|\n");
    for m in &r.models {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {:.4} |",
            m.name,
            opt(m.prompt_per_1m, 3),
            opt(m.completion_per_1m, 3),
            if m.scored { "yes" } else { "no" },
            opt(m.mean_quality, 4),
            m.cost_per_1k
        );
    }
    breakdown(&mut s, "Calls per model", &r.per_model, false);
    breakdown(&mut s, "Per decision", &r.per_decision, false);
    if !r.not_replayable.is_empty() {
        s.push_str("\n## Not replayable\n\nThese decisions' algorithms call models or need online state; replay sent their requests to the first modelRef.\n\n| decision | algorithm | requests |\n|---|---|---:|\n");
        for n in &r.not_replayable {
            let _ = writeln!(s, "| {} | {} | {} |", n.decision, n.algorithm, n.requests);
        }
    }
    breakdown(
        &mut s,
        "Per category",
        &r.per_category,
        r.signal_accuracy.is_some(),
    );
    if let Some(c) = &r.decision_accuracy {
        classification(&mut s, "Decision accuracy (vs expected_decision)", c);
    }
    if let Some(c) = &r.signal_accuracy {
        classification(&mut s, "Domain signal accuracy (vs category)", c);
    }
    s
}
