//! A probe run as JUnit XML: one test suite per decision group, one test case per probe, a
//! failure per failing probe with its failed checks and its trace.

use super::ProbeRun;

/// Escapes text for XML attributes and content.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// The JUnit document of `run`.
pub fn render(run: &ProbeRun) -> String {
    let failures = run.results.iter().filter(|r| !r.passed).count();
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{}\" tests=\"{}\" failures=\"{failures}\">\n",
        esc(&run.name),
        run.results.len()
    );
    for d in &run.decisions {
        let cases: Vec<_> = run
            .results
            .iter()
            .filter(|r| r.decision_id == d.decision_id)
            .collect();
        let failed = cases.iter().filter(|r| !r.passed).count();
        s.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\">\n",
            esc(&d.decision_id),
            cases.len()
        ));
        for r in cases {
            let variant = r.id.rsplit_once(':').map_or(r.id.as_str(), |(_, v)| v);
            s.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\"",
                esc(&r.decision_id),
                esc(variant)
            ));
            if r.passed {
                s.push_str("/>\n");
                continue;
            }
            let mut message: Vec<String> = r
                .checks
                .iter()
                .filter(|c| !c.passed)
                .map(|c| format!("{}: {}", c.name, c.detail))
                .collect();
            message.extend(r.error.iter().map(|e| format!("error: {e}")));
            s.push_str(&format!(
                ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                esc(&message.join("; ")),
                esc(&r.trace.join("\n"))
            ));
        }
        s.push_str("  </testsuite>\n");
    }
    s.push_str("</testsuites>\n");
    s
}
