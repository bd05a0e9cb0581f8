//! Decision evaluation benchmark: `configs/bench-50-decisions.yaml` (50 decisions over 50
//! keyword signals, 300 keywords) on a few realistic prompts.
//!
//! * `select/*`: decision evaluation alone (winner + confidence) on precomputed matches;
//! * `decide/*`: the same plus building the full outcome (clones the matches);
//! * `route/*`: the whole request path (keyword scan + decisions + outcome);
//! * `route_with_trace/*`: the same with a per-decision trace;
//! * `recipe_route/*`: the seed's agent recipe (`configs/vllm-sr/recipes/agent`) routing one
//!   request with its rule signals (regex keywords, structure, conversation, context, ...); its
//!   model signals are left out (`Router::with_signals` with none), as no model is loaded here.
//!
//! Run: `cargo bench -p router-core --bench decision -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use router_core::config::LoadedConfig;
use router_core::engine::Router;
use router_core::inference::ModelRegistry;
use router_core::request::RouteRequest;

const PROMPTS: [(&str, &str); 3] = [
    (
        "short",
        "Why does my docker container restart every few minutes?",
    ),
    (
        "medium",
        "Our postgres migration broke the invoice billing job last night: the sql query that joins \
         payments and subscriptions now times out, and customers are asking for a refund. What \
         index should we add, and how do we roll back the deployment safely?",
    ),
    (
        "long",
        "I am preparing a report for the board about our cloud costs. We run most services on aws \
         with a few serverless lambda functions, a kubernetes cluster with about forty pods per \
         deployment, and a postgres database with two read replicas and nightly snapshot backups. \
         Finance wants a breakdown by team, marketing wants to know the cost per conversion of the \
         last campaign, and the security team asks whether the firewall rules were patched after \
         the last cve. Please write an outline with sections, a short paragraph for each, and a \
         spreadsheet formula I can use to compute the monthly total per team from a pivot table.",
    ),
];

fn bench(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/bench-50-decisions.yaml");
    let loaded = LoadedConfig::from_file(&path).expect("bench config loads");
    let router = Router::new(&loaded, &ModelRegistry::default()).expect("bench config compiles");
    for (name, prompt) in PROMPTS {
        let req = RouteRequest::from_prompt(prompt);
        let matches = router.signals(&req).expect("signals");
        c.bench_function(&format!("select/{name}"), |b| {
            b.iter(|| router.select(black_box(&matches)))
        });
        c.bench_function(&format!("decide/{name}"), |b| {
            b.iter(|| router.decide(black_box(matches.clone()), false))
        });
        c.bench_function(&format!("route/{name}"), |b| {
            b.iter(|| router.route(black_box(&req)).unwrap())
        });
        c.bench_function(&format!("route_with_trace/{name}"), |b| {
            b.iter(|| router.route_with_trace(black_box(&req)).unwrap())
        });
    }
}

/// The agent recipe's rule-signal route on a plain prompt and on an agent conversation.
fn recipe(c: &mut Criterion) {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/vllm-sr/recipes/agent/config.yaml");
    let loaded = LoadedConfig::from_file(&path).expect("agent recipe loads");
    let router = Router::with_signals(&loaded, Vec::new()).expect("agent recipe compiles");
    let agent_turn = router_core::request::parse_conversation_json(
        r#"{"tools": [{"function": {"name": "search"}}, {"function": {"name": "run"}}],
            "messages": [{"role": "system", "content": "You are a coding agent."},
              {"role": "user", "content": "First reproduce the failing test, then fix it and run the suite."},
              {"role": "assistant", "tool_calls": [{"function": {"name": "run", "arguments": "{}"}}]},
              {"role": "tool", "content": "1 failed"}]}"#,
    )
    .expect("agent turn parses");
    let requests = [
        ("prompt", RouteRequest::from_prompt(PROMPTS[1].1)),
        ("agent_turn", agent_turn),
    ];
    for (name, req) in requests {
        c.bench_function(&format!("recipe_route/{name}"), |b| {
            b.iter(|| router.route(black_box(&req)).unwrap())
        });
    }
}

criterion_group!(benches, bench, recipe);
criterion_main!(benches);
