//! The streaming replay (decoder thread, batches routed in parallel while the previous one is
//! merged, optionally several requests per `Router::route_batch` call) must see exactly what a
//! plain row-by-row loop sees, for every batch size, and fail on the first bad row in row
//! order.

mod common;

use common::*;
use eval::log_reader::RequestLog;
use eval::replay::{replay, LogModels, Policy, ReplayOptions};
use router_core::inference::ModelRegistry;

const ROWS: usize = 61;

/// Row `i`: a prompt (every third row a JSON conversation instead), a category on even rows
/// only, an expected decision on every fifth row, quality that varies per model; row `bad`
/// (if any) has a conversation that is not JSON.
fn varied_log(path: &std::path::Path, bad: Option<usize>) {
    let ids: Vec<String> = (0..ROWS).map(|i| format!("q{i}")).collect();
    let texts: Vec<String> = (0..ROWS)
        .map(|i| match i % 4 {
            0 => format!("please prove lemma {i}"),
            1 => format!("hello number {i}"),
            2 => format!("the integral of x^{i}"),
            _ => "x".repeat(i * 3),
        })
        .collect();
    let prompt: Vec<Option<&str>> = (0..ROWS)
        .map(|i| (i % 3 != 0).then_some(texts[i].as_str()))
        .collect();
    let conversations: Vec<String> = (0..ROWS)
        .map(|i| {
            if Some(i) == bad {
                "[{\"role\": \"user\"".to_string()
            } else {
                format!(
                    "[{{\"role\":\"system\",\"content\":\"be brief\"}},{{\"role\":\"user\",\"content\":{:?}}}]",
                    texts[i]
                )
            }
        })
        .collect();
    let messages: Vec<Option<&str>> = (0..ROWS)
        .map(|i| (i % 3 == 0).then_some(conversations[i].as_str()))
        .collect();
    let category: Vec<Option<&str>> = (0..ROWS)
        .map(|i| (i % 2 == 0).then_some(if i % 4 == 0 { "math" } else { "chat" }))
        .collect();
    let expected: Vec<Option<&str>> = (0..ROWS).map(|i| (i % 5 == 0).then_some("math")).collect();
    let small_q: Vec<Option<f64>> = (0..ROWS).map(|i| Some((i % 3) as f64 / 2.0)).collect();
    let big_q: Vec<Option<f64>> = (0..ROWS).map(|i| (i % 7 != 0).then_some(1.0)).collect();
    write_parquet(
        path,
        vec![
            (
                "request_id",
                strs(&ids.iter().map(|s| Some(s.as_str())).collect::<Vec<_>>()),
            ),
            ("prompt", strs(&prompt)),
            ("messages", strs(&messages)),
            ("category", strs(&category)),
            ("expected_decision", strs(&expected)),
            ("small|quality", f64s(&small_q)),
            ("big|quality", f64s(&big_q)),
        ],
    );
}

/// What the callback saw for one row.
#[derive(Debug, PartialEq)]
struct Seen {
    index: u64,
    request_id: String,
    category: Option<String>,
    text: String,
    decision: Option<String>,
    model: String,
    quality: f64,
}

#[test]
fn every_batch_size_sees_what_a_row_by_row_loop_sees() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.parquet");
    varied_log(&log, None);
    let cfg = write(dir.path(), "cfg.yaml", CONFIG);
    let models = LogModels::of(&log).unwrap();
    let policy = Policy::load(
        &cfg,
        &[],
        &ModelRegistry::default(),
        &models,
        &log,
        false,
        None,
    )
    .unwrap();

    // Reference: owned rows, one request at a time through `Router::route`.
    let mut want = Vec::new();
    let mut reader = RequestLog::open(&log, 1000).unwrap();
    let rows = reader.next().unwrap().unwrap();
    for (i, row) in rows.iter().enumerate() {
        let request = row.view().route_request("log", i as u64).unwrap();
        let outcome = policy.router.route(&request).unwrap();
        let model = if outcome.model == "big" { 1 } else { 0 };
        want.push(Seen {
            index: i as u64,
            request_id: row.request_id.clone(),
            category: row.category.clone(),
            text: request.user_text().to_string(),
            decision: outcome.decision.clone(),
            model: outcome.model.clone(),
            quality: row.outcomes[model].quality.unwrap_or(f64::NAN),
        });
    }
    assert_eq!(want.len(), ROWS);
    assert!(want.iter().any(|s| s.model == "big") && want.iter().any(|s| s.model == "small"));

    for (batch_size, router_batch) in [(1, 1), (2, 1), (7, 1), (64, 1), (1000, 1), (7, 3), (64, 5)]
    {
        let opts = ReplayOptions {
            batch_size,
            router_batch,
            ..Default::default()
        };
        let mut got = Vec::new();
        let data = replay(&log, &[&policy], &opts, &mut |index, row, routed| {
            let r = &routed[0];
            got.push(Seen {
                index,
                request_id: row.request_id.to_string(),
                category: row.category.map(str::to_string),
                text: row
                    .route_request("log", index)
                    .unwrap()
                    .user_text()
                    .to_string(),
                decision: r.target.decision.map(str::to_string),
                model: r.target.model.to_string(),
                quality: r.chosen.quality,
            });
            Ok(())
        })
        .unwrap();
        // NaN (unscored) compares unequal: compare qualities by bits.
        let key = |s: &Seen| (s.index, s.request_id.clone(), s.quality.to_bits());
        assert_eq!(
            got.iter().map(key).collect::<Vec<_>>(),
            want.iter().map(key).collect::<Vec<_>>(),
            "batch size {batch_size}, router batch {router_batch}"
        );
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(
                (&g.category, &g.text, &g.decision, &g.model),
                (&w.category, &w.text, &w.decision, &w.model),
                "batch size {batch_size}, router batch {router_batch}, row {}",
                w.index
            );
        }
        // The tallies agree with the callback: calls per model and requests per decision.
        assert_eq!(data.len(), ROWS);
        let names = data.model_names();
        let [_, per_model, per_decision] = data.runs[0].breakdowns(&data.strings, &names);
        for row in &per_model {
            let seen = want.iter().filter(|w| w.model == row.key).count() as u64;
            assert_eq!(
                row.requests, seen,
                "batch size {batch_size}, model {}",
                row.key
            );
        }
        for row in &per_decision {
            let seen = want
                .iter()
                .filter(|w| w.decision.as_deref().unwrap_or("(none)") == row.key)
                .count() as u64;
            assert_eq!(
                row.requests, seen,
                "batch size {batch_size}, decision {}",
                row.key
            );
        }
        assert_eq!(
            per_model.iter().map(|r| r.requests).sum::<u64>(),
            ROWS as u64
        );
    }
}

#[test]
fn the_first_bad_row_fails_the_replay_whatever_the_batch_size() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.parquet");
    varied_log(&log, Some(33));
    let cfg = write(dir.path(), "cfg.yaml", CONFIG);
    let models = LogModels::of(&log).unwrap();
    let policy = Policy::load(
        &cfg,
        &[],
        &ModelRegistry::default(),
        &models,
        &log,
        false,
        None,
    )
    .unwrap();
    for (batch_size, router_batch) in [(1, 1), (5, 1), (16, 1), (1000, 1), (16, 4), (1000, 7)] {
        let opts = ReplayOptions {
            batch_size,
            router_batch,
            ..Default::default()
        };
        let mut last_seen = None;
        let err = replay(&log, &[&policy], &opts, &mut |index, _, _| {
            last_seen = Some(index);
            Ok(())
        })
        .expect_err("row 33 is not JSON");
        let msg = err.to_string();
        assert!(
            msg.contains("row 33") && msg.contains("messages"),
            "batch size {batch_size}, router batch {router_batch}: {msg}"
        );
        assert!(
            last_seen.is_none_or(|i| i < 33),
            "batch size {batch_size}, router batch {router_batch}: saw row {last_seen:?}"
        );
    }
}
