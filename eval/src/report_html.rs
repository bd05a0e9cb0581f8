//! `report.html`: a self-contained page (inline CSS and SVG, no scripts, no external assets)
//! with the cost-quality plot, the confusion matrix heatmap and the breakdown tables.

use std::fmt::Write;

use crate::classify::Classification;
use crate::curves::{non_decreasing_hull, CostQuality};
use crate::report::{BreakdownRow, Report};
use crate::report_md::{opt, pct};

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

struct Plot {
    w: f64,
    h: f64,
    pad: f64,
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
}

impl Plot {
    fn x(&self, v: f64) -> f64 {
        self.pad + (v - self.x0) / (self.x1 - self.x0).max(1e-12) * (self.w - 2.0 * self.pad)
    }
    fn y(&self, v: f64) -> f64 {
        self.h
            - self.pad
            - (v - self.y0) / (self.y1 - self.y0).max(1e-12) * (self.h - 2.0 * self.pad)
    }
}

/// The cost-quality SVG: single models, the zero-router hull, oracle, random, the policy and
/// its sweep curve.
pub fn cost_quality_svg(r: &Report) -> String {
    let mut pts: Vec<(String, CostQuality, &str)> = Vec::new();
    let models: Vec<CostQuality> = r
        .models
        .iter()
        .filter_map(|m| {
            m.mean_quality.map(|q| CostQuality {
                cost: m.cost_per_1k,
                quality: q,
            })
        })
        .collect();
    for m in &r.models {
        if let Some(q) = m.mean_quality {
            pts.push((
                m.name.clone(),
                CostQuality {
                    cost: m.cost_per_1k,
                    quality: q,
                },
                "#888",
            ));
        }
    }
    for b in &r.baselines {
        if b.name.starts_with("oracle")
            || (b.name.starts_with("random (") && !b.name.contains("sampled"))
        {
            if let Some(q) = b.mean_quality {
                let color = if b.name.starts_with("oracle") {
                    "#2a9d8f"
                } else {
                    "#e9c46a"
                };
                pts.push((
                    b.name.clone(),
                    CostQuality {
                        cost: b.cost_per_1k,
                        quality: q,
                    },
                    color,
                ));
            }
        }
    }
    if let Some(q) = r.policy.mean_quality {
        pts.push((
            "policy".into(),
            CostQuality {
                cost: r.policy.cost_per_1k,
                quality: q,
            },
            "#e76f51",
        ));
    }
    let sweep: Vec<CostQuality> = r
        .sweep
        .iter()
        .flat_map(|s| s.points.iter())
        .filter_map(|p| {
            p.mean_quality.map(|q| CostQuality {
                cost: p.cost_per_1k,
                quality: q,
            })
        })
        .collect();
    let all: Vec<CostQuality> = pts
        .iter()
        .map(|p| p.1)
        .chain(sweep.iter().copied())
        .collect();
    if all.is_empty() {
        return "<p>No scored points to plot.</p>".into();
    }
    let (mut x0, mut x1) = all.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |a, p| {
        (a.0.min(p.cost), a.1.max(p.cost))
    });
    let (mut y0, mut y1) = all.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |a, p| {
        (a.0.min(p.quality), a.1.max(p.quality))
    });
    let (dx, dy) = ((x1 - x0).max(1e-9) * 0.08, (y1 - y0).max(1e-3) * 0.1);
    x0 -= dx;
    x1 += dx;
    y0 -= dy;
    y1 += dy;
    let p = Plot {
        w: 640.0,
        h: 400.0,
        pad: 56.0,
        x0,
        x1,
        y0,
        y1,
    };
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}" role="img" aria-label="cost-quality plot">"#,
        p.w, p.h, p.w, p.h
    );
    let _ = write!(
        s,
        r##"<rect x="{0}" y="{0}" width="{1}" height="{2}" fill="#fafafa" stroke="#ccc"/>"##,
        p.pad,
        p.w - 2.0 * p.pad,
        p.h - 2.0 * p.pad
    );
    for i in 0..=4 {
        let xv = x0 + (x1 - x0) * i as f64 / 4.0;
        let yv = y0 + (y1 - y0) * i as f64 / 4.0;
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#444">{:.3}</text>"##,
            p.x(xv),
            p.h - p.pad + 16.0,
            xv
        );
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end" fill="#444">{:.3}</text>"##,
            p.pad - 6.0,
            p.y(yv) + 4.0,
            yv
        );
    }
    let _ = write!(
        s,
        r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle">cost per 1k requests (USD)</text>"##,
        p.w / 2.0,
        p.h - 12.0
    );
    let _ = write!(
        s,
        r##"<text x="14" y="{:.1}" font-size="12" text-anchor="middle" transform="rotate(-90 14 {:.1})">mean quality</text>"##,
        p.h / 2.0,
        p.h / 2.0
    );
    let hull = non_decreasing_hull(&models);
    if hull.len() >= 2 {
        let line: Vec<String> = hull
            .iter()
            .map(|q| format!("{:.1},{:.1}", p.x(q.cost), p.y(q.quality)))
            .collect();
        let _ = write!(
            s,
            r##"<polyline points="{}" fill="none" stroke="#888" stroke-dasharray="5,4"><title>zero router (hull of single models)</title></polyline>"##,
            line.join(" ")
        );
    }
    if sweep.len() >= 2 {
        let mut sw = sweep.clone();
        sw.sort_by(|a, b| a.cost.total_cmp(&b.cost));
        let line: Vec<String> = sw
            .iter()
            .map(|q| format!("{:.1},{:.1}", p.x(q.cost), p.y(q.quality)))
            .collect();
        let _ = write!(
            s,
            r##"<polyline points="{}" fill="none" stroke="#e76f51" stroke-width="2"><title>policy sweep</title></polyline>"##,
            line.join(" ")
        );
        for q in &sw {
            let _ = write!(
                s,
                r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="#e76f51"/>"##,
                p.x(q.cost),
                p.y(q.quality)
            );
        }
    }
    for (name, q, color) in &pts {
        let _ = write!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="6" fill="{color}" stroke="#222"><title>{}: cost {:.4}, quality {:.4}</title></circle><text x="{:.1}" y="{:.1}" font-size="11" fill="#222">{}</text>"##,
            p.x(q.cost),
            p.y(q.quality),
            esc(name),
            q.cost,
            q.quality,
            p.x(q.cost) + 8.0,
            p.y(q.quality) - 8.0,
            esc(name)
        );
    }
    s.push_str("</svg>");
    s
}

/// A confusion-matrix heatmap (cell shade = share of the row).
pub fn confusion_svg(c: &Classification) -> String {
    let k = c.labels.len();
    let cell = if k > 16 { 22.0 } else { 36.0 };
    let left = 150.0;
    let top = 120.0;
    let (w, h) = (left + cell * k as f64 + 10.0, top + cell * k as f64 + 10.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="confusion matrix">"#
    );
    for (j, l) in c.labels.iter().enumerate() {
        let x = left + cell * (j as f64 + 0.5);
        let _ = write!(
            s,
            r#"<text x="{x:.1}" y="{:.1}" font-size="10" transform="rotate(-60 {x:.1} {:.1})">{}</text>"#,
            top - 6.0,
            top - 6.0,
            esc(l)
        );
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="end">{}</text>"#,
            left - 6.0,
            top + cell * (j as f64 + 0.6),
            esc(l)
        );
    }
    for (i, row) in c.matrix.iter().enumerate() {
        let total: u64 = row.iter().sum();
        for (j, &v) in row.iter().enumerate() {
            let share = if total > 0 {
                v as f64 / total as f64
            } else {
                0.0
            };
            let shade = (255.0 - share * 200.0) as u8;
            let _ = write!(
                s,
                r##"<rect x="{:.1}" y="{:.1}" width="{cell}" height="{cell}" fill="rgb({shade},{shade},255)" stroke="#fff"><title>{} → {}: {v}</title></rect>"##,
                left + cell * j as f64,
                top + cell * i as f64,
                esc(&c.labels[i]),
                esc(&c.labels[j])
            );
            if v > 0 && cell >= 30.0 {
                let _ = write!(
                    s,
                    r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle">{v}</text>"#,
                    left + cell * (j as f64 + 0.5),
                    top + cell * (i as f64 + 0.6)
                );
            }
        }
    }
    s.push_str("</svg>");
    s
}

fn table(s: &mut String, title: &str, rows: &[BreakdownRow], with_acc: bool) {
    if rows.is_empty() {
        return;
    }
    let _ = write!(s, "<h2>{}</h2><table><tr><th>key</th><th>requests</th><th>share</th><th>mean quality</th><th>unscored</th><th>cost (USD)</th>", esc(title));
    if with_acc {
        s.push_str("<th>signal accuracy</th>");
    }
    s.push_str("</tr>");
    for r in rows {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.4}</td>",
            esc(&r.key),
            r.requests,
            pct(Some(r.share)),
            opt(r.mean_quality, 4),
            r.unscored,
            r.total_cost
        );
        if with_acc {
            let _ = write!(s, "<td>{}</td>", pct(r.accuracy));
        }
        s.push_str("</tr>");
    }
    s.push_str("</table>");
}

/// Renders the whole page.
pub fn render(r: &Report) -> String {
    let mut s = String::from("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>routelab eval</title><style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}code{background:#f3f3f3}</style></head><body>");
    let _ = write!(
        s,
        "<h1>routelab eval: {}</h1><p>config <code>{}</code> (sha256 <code>{}</code>)<br>log <code>{}</code> (sha256 <code>{}</code>), {} requests<br>routelab {}, {}</p>",
        esc(&r.run_name), esc(&r.config.path), esc(&r.config.sha256), esc(&r.log.path), esc(&r.log.sha256), r.requests, esc(&r.routelab_version), esc(&r.created_utc)
    );
    if let Some(recipe) = &r.recipe {
        let _ = write!(
            s,
            "<p>recipe <code>{}</code> (every request routed with it)</p>",
            esc(recipe)
        );
    }
    s.push_str("<h2>Cost vs quality</h2>");
    s.push_str(&cost_quality_svg(r));
    s.push_str("<table><tr><th>policy</th><th>mean quality</th><th>correct</th><th>unscored</th><th>total cost</th><th>cost / 1k</th></tr>");
    for m in std::iter::once(&r.policy).chain(&r.baselines) {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.4}</td><td>{:.4}</td></tr>",
            esc(&m.name),
            opt(m.mean_quality, 4),
            pct(m.correct_rate),
            m.unscored,
            m.total_cost,
            m.cost_per_1k
        );
    }
    s.push_str("</table>");
    let c = &r.curves;
    let _ = write!(
        s,
        "<p>Savings vs always-strongest {}, vs always-cheapest {}. APGR {} (random {}, oracle {}); CPT(50%) {}, CPT(80%) {}; AIQ {} (zero router {}, oracle {}).</p>",
        pct(r.savings.vs_strongest), pct(r.savings.vs_cheapest), opt(c.apgr, 4), opt(c.apgr_random, 4), opt(c.apgr_oracle, 4), pct(c.cpt50), pct(c.cpt80), opt(c.aiq, 4), opt(c.aiq_zero_router, 4), opt(c.aiq_oracle, 4)
    );
    let o = &r.router_overhead_us;
    let _ = write!(
        s,
        "<p>Router overhead: p50 {:.1} µs, p95 {:.1} µs, p99 {:.1} µs{}.</p>",
        o.p50,
        o.p95,
        o.p99,
        if r.router_batch > 1 {
            format!(
                " (routed {} requests at a time: shares of each batch's time)",
                r.router_batch
            )
        } else {
            String::new()
        }
    );
    table(&mut s, "Calls per model", &r.per_model, false);
    table(&mut s, "Per decision", &r.per_decision, false);
    if !r.not_replayable.is_empty() {
        s.push_str("<h2>Not replayable</h2><p>These decisions' algorithms call models or need online state; replay sent their requests to the first modelRef.</p><table><tr><th>decision</th><th>algorithm</th><th>requests</th></tr>");
        for n in &r.not_replayable {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&n.decision),
                esc(&n.algorithm),
                n.requests
            );
        }
        s.push_str("</table>");
    }
    table(
        &mut s,
        "Per category",
        &r.per_category,
        r.signal_accuracy.is_some(),
    );
    for (title, cls) in [
        ("Domain signal vs category", &r.signal_accuracy),
        ("Decision vs expected_decision", &r.decision_accuracy),
    ] {
        if let Some(cl) = cls {
            let _ = write!(
                s,
                "<h2>{title}</h2><p>accuracy {}, macro-F1 {:.4}</p>",
                pct(Some(cl.accuracy)),
                cl.macro_f1
            );
            s.push_str(&confusion_svg(cl));
        }
    }
    s.push_str("</body></html>\n");
    s
}
