//! Decision engine: operators, tie-breaks, outcomes, traces and the example configs.

mod common;

use std::path::Path;

use router_core::config::LoadedConfig;
use router_core::engine::{RouteOutcome, Router};
use router_core::inference::ModelRegistry;
use router_core::plugins::{PluginConfig, SystemPromptMode};
use router_core::request::{ChatMessage, RouteRequest};
use router_core::signals::{Signal, SignalKind, SignalMatch};

/// A model-kind signal with fixed matches (stands in for a classifier).
struct Fixed(SignalKind, Vec<(&'static str, f32)>);

impl Signal for Fixed {
    fn kind(&self) -> SignalKind {
        self.0
    }
    fn evaluate(&self, _: &RouteRequest) -> router_core::Result<Vec<SignalMatch>> {
        Ok(self
            .1
            .iter()
            .map(|(n, c)| SignalMatch {
                kind: self.0,
                name: n.to_string(),
                confidence: *c,
                evidence: format!("fixed {c}"),
            })
            .collect())
    }
}

use common::matched as m;

fn d(name: &str) -> SignalMatch {
    m(SignalKind::Domain, name, 0.0)
}

/// Config with domain signals a..e and the given decisions YAML (under `decisions:`).
fn config(strategy: &str, decisions: &str) -> LoadedConfig {
    let y = format!(
        "providers:
  defaults: {{default_model: base, default_reasoning_effort: medium}}
  models: [{{name: base}}, {{name: m1}}, {{name: m2}}, {{name: m3}}]
routing:
  strategy: {strategy}
  signals:
    domains: [{{name: a}}, {{name: b}}, {{name: c}}, {{name: e}}]
  decisions:
{decisions}"
    );
    LoadedConfig::from_yaml_str(&y, "test.yaml", Path::new(".")).unwrap_or_else(|e| panic!("{e}"))
}

fn router(c: &LoadedConfig) -> Router {
    Router::with_signals(c, Vec::new()).unwrap()
}

fn with_conf(matches: &[(&str, f32)]) -> Vec<SignalMatch> {
    matches
        .iter()
        .map(|(n, c)| m(SignalKind::Domain, n, *c))
        .collect()
}

const OPS: &str = "
    - name: and_ab
      priority: 1
      rules: {operator: AND, conditions: [{type: domain, name: a}, {type: domain, name: b}]}
      modelRefs: [{model: m1}]
    - name: or_ab
      priority: 1
      rules: {operator: OR, conditions: [{type: domain, name: a}, {type: domain, name: b}]}
      modelRefs: [{model: m1}]
    - name: not_a
      priority: 1
      rules: {operator: NOT, conditions: [{type: domain, name: a}]}
      modelRefs: [{model: m1}]
    - name: nested
      priority: 1
      rules:
        operator: AND
        conditions:
          - {type: domain, name: c}
          - operator: OR
            conditions: [{type: domain, name: a}, {type: domain, name: b}]
          - operator: NOT
            conditions: [{type: domain, name: e}]
      modelRefs: [{model: m1}]
";

/// Confidence of each decision in the trace (None = no match).
fn confidences(r: &Router, matches: Vec<SignalMatch>) -> Vec<(String, Option<f32>)> {
    r.decide(matches, true)
        .trace
        .unwrap()
        .into_iter()
        .map(|t| (t.name, t.confidence))
        .collect()
}

fn conf_of(r: &Router, matches: &[(&str, f32)], decision: &str) -> Option<f32> {
    confidences(r, with_conf(matches))
        .into_iter()
        .find(|(n, _)| n == decision)
        .unwrap()
        .1
}

#[test]
fn and_is_the_mean_of_its_children() {
    let r = router(&config("priority", OPS));
    assert_eq!(conf_of(&r, &[("a", 0.9), ("b", 0.5)], "and_ab"), Some(0.7));
    assert_eq!(conf_of(&r, &[("a", 0.9)], "and_ab"), None);
    assert_eq!(conf_of(&r, &[], "and_ab"), None);
}

#[test]
fn or_is_the_max_of_matching_children() {
    let r = router(&config("priority", OPS));
    assert_eq!(conf_of(&r, &[("a", 0.3), ("b", 0.8)], "or_ab"), Some(0.8));
    assert_eq!(conf_of(&r, &[("a", 0.3)], "or_ab"), Some(0.3));
    assert_eq!(conf_of(&r, &[("c", 1.0)], "or_ab"), None);
}

#[test]
fn not_matches_when_its_child_does_not() {
    let r = router(&config("priority", OPS));
    assert_eq!(conf_of(&r, &[], "not_a"), Some(1.0));
    assert_eq!(conf_of(&r, &[("b", 0.4)], "not_a"), Some(1.0));
    assert_eq!(conf_of(&r, &[("a", 0.01)], "not_a"), None);
}

#[test]
fn nested_rules() {
    let r = router(&config("priority", OPS));
    // AND(c=0.6, OR(a=0.2, b=0.9)=0.9, NOT(e)=1.0) = (0.6 + 0.9 + 1.0) / 3
    let c = conf_of(&r, &[("c", 0.6), ("a", 0.2), ("b", 0.9)], "nested").unwrap();
    assert!((c - 2.5 / 3.0).abs() < 1e-6, "{c}");
    assert_eq!(
        conf_of(&r, &[("c", 0.6), ("a", 0.2), ("e", 0.5)], "nested"),
        None
    );
    assert_eq!(conf_of(&r, &[("c", 0.6)], "nested"), None);
}

const TIES: &str = "
    - name: zeta
      priority: 10
      rules: {operator: OR, conditions: [{type: domain, name: a}]}
      modelRefs: [{model: m1}]
    - name: alpha
      priority: 10
      rules: {operator: OR, conditions: [{type: domain, name: b}]}
      modelRefs: [{model: m2}]
    - name: high
      priority: 20
      rules: {operator: OR, conditions: [{type: domain, name: c}]}
      modelRefs: [{model: m3}]
";

fn winner(r: &Router, matches: &[(&str, f32)]) -> Option<String> {
    r.decide(with_conf(matches), false).decision
}

#[test]
fn priority_strategy_ties() {
    let r = router(&config("priority", TIES));
    // Highest priority wins even with lower confidence.
    assert_eq!(
        winner(&r, &[("a", 0.9), ("c", 0.1)]).as_deref(),
        Some("high")
    );
    // Equal priority: higher confidence wins.
    assert_eq!(
        winner(&r, &[("a", 0.9), ("b", 0.8)]).as_deref(),
        Some("zeta")
    );
    assert_eq!(
        winner(&r, &[("a", 0.7), ("b", 0.8)]).as_deref(),
        Some("alpha")
    );
    // Equal priority and confidence: lexicographically smaller name wins.
    assert_eq!(
        winner(&r, &[("a", 0.5), ("b", 0.5)]).as_deref(),
        Some("alpha")
    );
}

#[test]
fn confidence_strategy_ties() {
    let r = router(&config("confidence", TIES));
    // Highest confidence wins even with lower priority.
    assert_eq!(
        winner(&r, &[("a", 0.9), ("c", 0.1)]).as_deref(),
        Some("zeta")
    );
    // Equal confidence: higher priority wins.
    assert_eq!(
        winner(&r, &[("a", 0.5), ("c", 0.5)]).as_deref(),
        Some("high")
    );
    // Equal confidence and priority: smaller name wins.
    assert_eq!(
        winner(&r, &[("a", 0.5), ("b", 0.5)]).as_deref(),
        Some("alpha")
    );
}

#[test]
fn no_match_uses_the_default_model() {
    let r = router(&config("priority", TIES));
    let o = r.decide(vec![d("e")], false);
    assert_eq!(o.decision, None);
    assert_eq!(o.model, "base");
    assert!(!o.use_reasoning);
    assert_eq!(o.confidence, 0.0);
    assert!(o.plugins.is_empty());
    assert_eq!(o.signals.len(), 1);
}

#[test]
fn model_refs_reasoning_and_plugins() {
    let c = config(
        "priority",
        "
    - name: think
      priority: 5
      rules: {operator: AND, conditions: [{type: domain, name: a}]}
      modelRefs:
        - {model: m1, use_reasoning: true, lora_name: expert}
        - {model: m2}
      plugins:
        - type: system_prompt
          configuration: {system_prompt: Be exact., mode: insert}
        - type: fast_response
          configuration: {message: busy}
        - type: semantic_cache
          configuration: {similarity_threshold: 0.8}
        - type: header_mutation
          configuration: {add: []}
    - name: effort
      priority: 4
      rules: {operator: AND, conditions: [{type: domain, name: b}]}
      modelRefs: [{model: m2, use_reasoning: true, reasoning_effort: high}]
    - name: nothink
      priority: 3
      rules: {operator: AND, conditions: [{type: domain, name: c}]}
      modelRefs: [{model: m3, reasoning_effort: high}]
",
    );
    assert_eq!(c.ignored.len(), 1);
    assert_eq!(c.ignored[0].path, "routing.decisions[0].plugins[3]");
    let r = router(&c);
    let o = r.decide(vec![d("a")], false);
    assert_eq!(o.decision.as_deref(), Some("think"));
    assert_eq!(o.model, "m1");
    assert!(o.use_reasoning);
    assert_eq!(o.reasoning_effort.as_deref(), Some("medium"));
    assert_eq!(o.lora_name.as_deref(), Some("expert"));
    assert_eq!(o.plugins.len(), 3);
    let sp = o.system_prompt.unwrap();
    assert_eq!(
        (sp.system_prompt.as_str(), sp.mode),
        ("Be exact.", SystemPromptMode::Insert)
    );
    let b = o.block.unwrap();
    assert_eq!((b.message.as_str(), b.status), ("busy", 200));
    assert_eq!(o.cache.unwrap().similarity_threshold, 0.8);
    assert!(matches!(o.plugins[0], PluginConfig::SystemPrompt(_)));

    let o = r.decide(vec![d("b")], false);
    assert_eq!(
        (o.model.as_str(), o.reasoning_effort.as_deref()),
        ("m2", Some("high"))
    );
    let o = r.decide(vec![d("c")], false);
    assert_eq!(
        (o.model.as_str(), o.use_reasoning, o.reasoning_effort),
        ("m3", false, None)
    );
}

#[test]
fn trace_explains_each_leaf() {
    let c = config(
        "priority",
        "
    - name: mixed
      priority: 1
      rules:
        operator: AND
        conditions:
          - {type: domain, name: a}
          - {type: preference, name: hard}
          - operator: NOT
            conditions: [{type: domain, name: b}]
      modelRefs: [{model: m1}]
",
    );
    assert_eq!(
        c.ignored[0].path,
        "routing.decisions[0].rules.conditions[1]"
    );
    let r = Router::with_signals(
        &c,
        vec![Box::new(Fixed(SignalKind::Domain, vec![("a", 0.75)]))],
    )
    .unwrap();
    let o = r.route_with_trace(&RouteRequest::from_prompt("x")).unwrap();
    assert_eq!(o.decision, None);
    let t = &o.trace.as_ref().unwrap()[0];
    assert!(!t.matched);
    assert_eq!(
        t.expression,
        "AND(domain:a=0.75, preference:hard=no, NOT(domain:b=no))"
    );
    assert_eq!(t.leaves.len(), 3);
    assert_eq!(t.leaves[0].evidence, "fixed 0.75");
    assert_eq!(t.leaves[0].confidence, Some(0.75));
    assert_eq!(t.leaves[1].path, "rules.conditions[1]");
    assert_eq!(
        t.leaves[1].evidence,
        "signal type \"preference\" not implemented; never matches"
    );
    assert_eq!(t.leaves[2].evidence, "no match");
    assert!(r
        .route(&RouteRequest::from_prompt("x"))
        .unwrap()
        .trace
        .is_none());
    let json = serde_json::to_value(&o).unwrap();
    assert_eq!(json["trace"][0]["leaves"][0]["kind"], "domain");
    assert_eq!(json["signals"][0]["kind"], "domain");
}

#[test]
fn model_signals_without_models_fail_clearly() {
    let c = config("priority", TIES);
    let e = Router::new(&c, &ModelRegistry::default())
        .err()
        .expect("domain signals need a classifier");
    assert!(e.to_string().contains("domain"), "{e}");
}

fn keywords_router() -> Router {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/keywords.yaml");
    Router::new(
        &LoadedConfig::from_file(path).unwrap(),
        &ModelRegistry::default(),
    )
    .unwrap()
}

#[test]
fn keywords_example_routes_real_prompts() {
    let r = keywords_router();
    let route = |p: &str| r.route(&RouteRequest::from_prompt(p)).unwrap();

    let o = route("URGENT: my Rust code panics with a stack trace, please debug it asap");
    assert_eq!(o.decision.as_deref(), Some("urgent_code"));
    assert_eq!(o.model, "qwen3-32b");
    assert!(o.use_reasoning);
    assert_eq!(o.reasoning_effort.as_deref(), Some("medium"));

    let o = route("Here is my password: hunter2, can you store it?");
    assert_eq!(o.decision.as_deref(), Some("block_secrets"));
    assert_eq!(o.block.as_ref().unwrap().status, 403);

    // The NOT(faq) branch lets a password-reset FAQ through to the FAQ decision.
    let o = route("How do I reset my password?");
    assert_eq!(o.decision.as_deref(), Some("faq"));
    assert!(o.cache.is_some());

    let o = route("Compute the integral of x^2 from 0 to 3");
    assert_eq!(
        (o.decision.as_deref(), o.model.as_str()),
        (Some("math"), "o4-mini")
    );
    assert_eq!(o.reasoning_effort.as_deref(), Some("high"));

    let o = route(
        "Refactor this function to avoid the extra allocation in the hot loop of our service",
    );
    assert_eq!(o.decision.as_deref(), Some("code"));
    assert_eq!(
        o.system_prompt.as_ref().unwrap().mode,
        SystemPromptMode::Insert
    );

    let o = route("请详细解释一下量子计算的基本原理以及它和经典计算的区别。");
    assert_eq!(
        (o.decision.as_deref(), o.model.as_str()),
        (Some("chinese"), "qwen3-32b")
    );

    let o = route("Hola, gracias por tu ayuda de ayer con el viaje a Madrid.");
    assert_eq!(o.decision.as_deref(), Some("spanish_chat"));
    assert_eq!(
        o.system_prompt.as_ref().unwrap().mode,
        SystemPromptMode::Replace
    );

    let o = route("What is a good name for a cat that likes to sleep all day long in the sun?");
    assert_eq!((o.decision, o.model.as_str()), (None, "qwen3-8b"));

    let long = RouteRequest {
        messages: vec![
            ChatMessage::new("system", "context ".repeat(4_500)),
            ChatMessage::new("user", "Summarise the above."),
        ],
        ..Default::default()
    };
    assert_eq!(
        r.route(&long).unwrap().decision.as_deref(),
        Some("long_context")
    );

    let o = route("hi");
    assert_eq!(o.decision.as_deref(), Some("tiny_prompt"));
}

#[test]
fn bench_config_routes() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/bench-50-decisions.yaml");
    let r = Router::new(
        &LoadedConfig::from_file(path).unwrap(),
        &ModelRegistry::default(),
    )
    .unwrap();
    assert_eq!(r.used_signals().len(), 50);
    let o = r
        .route_with_trace(&RouteRequest::from_prompt(
            "Our postgres migration broke the invoice billing job; the sql query now times out.",
        ))
        .unwrap();
    assert!(o.decision.is_some());
    let t = o.trace.unwrap();
    assert_eq!(t.len(), 50);
    // The winner is the highest-priority matching decision.
    let best = t
        .iter()
        .filter(|d| d.matched)
        .map(|d| d.priority)
        .max()
        .unwrap();
    let win = t
        .iter()
        .find(|d| Some(&d.name) == o.decision.as_ref())
        .unwrap();
    assert_eq!(win.priority, best);
}

#[test]
fn reasoning_patch_through_the_router() {
    let r = keywords_router();
    assert_eq!(
        r.reasoning_patch("qwen3-32b", true, None),
        serde_json::json!({"chat_template_kwargs": {"enable_thinking": true}})
    );
    assert_eq!(
        r.reasoning_patch("o4-mini", true, Some("high")),
        serde_json::json!({"reasoning_effort": "high"})
    );
    let spec = r.model("qwen3-8b").unwrap();
    assert_eq!(spec.latency.unwrap().estimate_ms(100), 120.0 + 12.0 * 100.0);
    let p = spec.pricing.as_ref().unwrap();
    assert!((p.cost(1_000_000, 1_000_000) - 0.60).abs() < 1e-9);
}

/// Prompts that reach the default model and a blocking, a reasoning, a cached and a
/// context-band decision of `configs/keywords.yaml`.
const KEYWORD_PROMPTS: [&str; 7] = [
    "URGENT: my Rust code panics with a stack trace, please debug it asap",
    "Here is my password: hunter2, can you store it?",
    "How do I reset my password?",
    "Compute the integral of x^2 from 0 to 3",
    "tell me a joke",
    "Tell me a story about a lighthouse keeper who finds a message in a bottle one stormy night.",
    "",
];

#[test]
fn route_batch_equals_routing_one_at_a_time() {
    let r = keywords_router();
    let prompts = KEYWORD_PROMPTS;
    let requests: Vec<RouteRequest> = prompts
        .iter()
        .map(|p| RouteRequest::from_prompt(*p))
        .collect();
    let refs: Vec<&RouteRequest> = requests.iter().collect();
    let batched: Vec<RouteOutcome> = r
        .route_batch(&refs)
        .unwrap()
        .into_iter()
        .map(|d| r.outcome(d))
        .collect();
    assert_eq!(batched.len(), prompts.len());
    let decisions: Vec<Option<&str>> = batched.iter().map(|o| o.decision.as_deref()).collect();
    let distinct: std::collections::BTreeSet<_> = decisions.iter().collect();
    assert!(distinct.len() >= 3, "{decisions:?}");
    for (req, got) in requests.iter().zip(&batched) {
        assert_eq!(got, &r.route(req).unwrap(), "{:?}", req.user_text());
    }
    assert!(r.route_batch(&[]).unwrap().is_empty());
}

#[test]
fn many_signal_rules_route_like_few() {
    // 150 keyword rules used by 150 decisions: large tables route like small ones.
    let n = 150;
    let mut y = String::from(
        "providers:\n  defaults: {default_model: base}\n  models: [{name: base}, {name: m1}]\nrouting:\n  signals:\n    keywords:\n",
    );
    for i in 0..n {
        y.push_str(&format!(
            "      - {{name: k{i}, operator: OR, keywords: [\"word{i}\"]}}\n"
        ));
    }
    y.push_str("  decisions:\n");
    for i in 0..n {
        y.push_str(&format!(
            "    - name: d{i}\n      priority: {i}\n      rules: {{operator: OR, conditions: [{{type: keyword, name: k{i}}}]}}\n      modelRefs: [{{model: m1}}]\n"
        ));
    }
    let loaded = LoadedConfig::from_yaml_str(&y, "many.yaml", Path::new(".")).unwrap();
    let r = Router::new(&loaded, &ModelRegistry::default()).unwrap();
    let route = |p: &str| r.route(&RouteRequest::from_prompt(p)).unwrap();
    assert_eq!(
        route("say word149 and word3").decision.as_deref(),
        Some("d149")
    );
    assert_eq!(route("WORD7 only").decision.as_deref(), Some("d7"));
    assert_eq!(route("word1000").decision, None);
    assert_eq!(route("word120 word121").signals.len(), 2);
}

#[test]
fn compact_decision_targets_what_the_outcome_says() {
    let r = keywords_router();
    let mut seen = std::collections::BTreeSet::new();
    for p in KEYWORD_PROMPTS {
        let req = RouteRequest::from_prompt(p);
        let compact = r.route_decision(&req).unwrap();
        let target = r.target(&compact);
        let outcome = r.outcome(compact.clone());
        assert_eq!(outcome, r.route(&req).unwrap(), "{p}");
        assert_eq!(target.decision, outcome.decision.as_deref(), "{p}");
        assert_eq!(target.model, outcome.model, "{p}");
        assert_eq!(target.use_reasoning, outcome.use_reasoning, "{p}");
        assert_eq!(target.blocked, outcome.block.is_some(), "{p}");
        assert_eq!(compact.confidence, outcome.confidence, "{p}");
        assert_eq!(compact.signals, outcome.signals, "{p}");
        seen.insert((target.decision, target.use_reasoning, target.blocked));
    }
    // The prompts cover the default model, a blocking decision and a reasoning decision.
    assert!(seen.iter().any(|t| t.0.is_none()), "{seen:?}");
    assert!(seen.iter().any(|t| t.2), "{seen:?}");
    assert!(seen.iter().any(|t| t.1), "{seen:?}");
}

/// Fallback decisions as the seed evaluates them (`pkg/decision/engine.go`:
/// `evaluateDecisionWithSignals` returns (true, 0) for `Rules.IsEmpty()`, `evalAND` returns
/// (true, 0) for no children): rules absent, `{}`, `{operator: AND}` and an AND with
/// `conditions: []` all match every request with confidence 0.
const FALLBACKS: &str = "
    - name: no_rules
      priority: 1
      modelRefs: [{model: m1}]
    - name: empty_rules
      priority: 1
      rules: {}
      modelRefs: [{model: m1}]
    - name: bare_and
      priority: 1
      rules: {operator: AND}
      modelRefs: [{model: m1}]
    - name: and_no_conditions
      priority: 1
      rules: {operator: AND, conditions: []}
      modelRefs: [{model: m2}]
    - name: on_a
      priority: 5
      rules: {operator: OR, conditions: [{type: domain, name: a}]}
      modelRefs: [{model: m3}]
";

#[test]
fn fallbacks_match_everything_with_zero_confidence() {
    let r = router(&config("priority", FALLBACKS));
    for name in ["no_rules", "empty_rules", "bare_and", "and_no_conditions"] {
        assert_eq!(conf_of(&r, &[], name), Some(0.0), "{name}");
        assert_eq!(conf_of(&r, &[("a", 0.7)], name), Some(0.0), "{name}");
    }
    // Priority strategy: a higher-priority match beats the fallbacks; with none, the
    // fallbacks tie on priority and confidence and the smallest name wins.
    assert_eq!(winner(&r, &[("a", 0.2)]).as_deref(), Some("on_a"));
    assert_eq!(winner(&r, &[]).as_deref(), Some("and_no_conditions"));
    // Confidence strategy: any match with confidence above 0 beats a fallback whatever its
    // priority (`decisionResultLess`).
    let low = FALLBACKS.replace("priority: 5", "priority: 0");
    let r = router(&config("confidence", &low));
    assert_eq!(winner(&r, &[("a", 0.01)]).as_deref(), Some("on_a"));
    assert_eq!(winner(&r, &[]).as_deref(), Some("and_no_conditions"));
    let out = r.decide(Vec::new(), true);
    let trace = out.trace.unwrap();
    let fallback = trace.iter().find(|t| t.name == "bare_and").unwrap();
    assert_eq!(fallback.expression, "fallback");
}

/// Tiers (the seed's `decisionResultLess`): when any matching decision has `tier > 0`, the
/// lowest tier wins, then confidence, then priority, then name.
#[test]
fn tiers_rank_before_confidence_and_priority() {
    let r = router(&config(
        "priority",
        "
    - name: tier2_high_priority
      priority: 100
      tier: 2
      rules: {operator: OR, conditions: [{type: domain, name: a}]}
      modelRefs: [{model: m1}]
    - name: tier1
      priority: 1
      tier: 1
      rules: {operator: OR, conditions: [{type: domain, name: b}]}
      modelRefs: [{model: m2}]
    - name: catch_all
      priority: 0
      tier: 9
      rules: {operator: AND}
      modelRefs: [{model: m3}]
    - name: untiered
      priority: 50
      rules: {operator: OR, conditions: [{type: domain, name: c}]}
      modelRefs: [{model: m3}]
",
    ));
    assert_eq!(
        winner(&r, &[("a", 0.9), ("b", 0.1)]).as_deref(),
        Some("tier1")
    );
    assert_eq!(
        winner(&r, &[("a", 0.9)]).as_deref(),
        Some("tier2_high_priority")
    );
    assert_eq!(winner(&r, &[]).as_deref(), Some("catch_all"));
    // Tier 0 sorts before every tier (0 < 1), as in the seed.
    assert_eq!(
        winner(&r, &[("a", 0.9), ("c", 0.2)]).as_deref(),
        Some("untiered")
    );
}

/// A router over one of the seed's signal fragments (loaded as it is) with one decision per
/// rule, and the decisions that match `request`.
fn fragment_matches(
    fragment: &str,
    kind: &str,
    rules: &[&str],
    request: &RouteRequest,
) -> Vec<String> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../configs/vllm-sr/fragments/signal")
            .join(fragment),
    )
    .unwrap();
    let mut yaml = format!(
        "providers:\n  defaults: {{default_model: m}}\n  models: [{{name: m}}]\nrouting:\n{}  decisions:\n",
        text.replace("routing:\n", "")
    );
    for r in rules {
        yaml.push_str(&format!(
            "    - {{name: {r}, rules: {{operator: OR, conditions: [{{type: {kind}, name: {r}}}]}}, modelRefs: [{{model: m}}]}}\n"
        ));
    }
    let loaded = LoadedConfig::from_yaml_str(&yaml, fragment, Path::new(".")).unwrap();
    assert!(loaded.ignored.is_empty(), "{:?}", loaded.ignored);
    let r = Router::new(&loaded, &ModelRegistry::default()).unwrap();
    r.route_with_trace(request)
        .unwrap()
        .trace
        .unwrap()
        .into_iter()
        .filter(|t| t.matched)
        .map(|t| t.name)
        .collect()
}

/// The seed's conversation fragment (`conversation/agentic-shape.yaml`) on an agent turn; which
/// rules match is worked out by hand from the seed's `classifier_signal_conversation.go`.
#[test]
fn the_seeds_conversation_fragment_on_an_agent_turn() {
    let request = router_core::request::parse_conversation_json(
        r#"{"tools": [{"function": {"name": "a"}}, {"function": {"name": "b"}}, {"function": {"name": "c"}}],
            "messages": [{"role": "user", "content": "book a flight"},
              {"role": "assistant", "tool_calls": [{"function": {"name": "a"}}]},
              {"role": "tool", "content": "3 flights"}]}"#,
    )
    .unwrap();
    let rules = [
        "multi_turn_user",
        "has_developer_message",
        "tool_heavy",
        "active_tool_use",
        "completed_tool_cycle",
        "current_tool_loop",
    ];
    // One user message (not multi-turn), no developer message; 3 tools, 1 call, 1 result, and
    // the last message is a tool result (an active loop).
    assert_eq!(
        fragment_matches(
            "conversation/agentic-shape.yaml",
            "conversation",
            &rules,
            &request
        ),
        [
            "tool_heavy",
            "active_tool_use",
            "completed_tool_cycle",
            "current_tool_loop"
        ]
    );
}

/// The seed's structure fragment (`structure/request-shape.yaml`) on two prompts; values worked
/// out by hand from the seed's `structure_classifier.go` and `structure_text.go`.
#[test]
fn the_seeds_structure_fragment_on_two_prompts() {
    let rules = [
        "many_questions",
        "at_most_one_question",
        "numbered_steps",
        "first_then_flow",
        "constraint_dense",
        "format_directive_dense",
        "low_question_density",
    ];
    // 15 text units (First, list, 1, a, table, 2, json, output, then, at, most, 3, items,
    // within, reason); 1 question mark (density 0.067, not below 0.05); numbered lines;
    // "first ... then"; constraint keywords "at most", "within" (2 / 15 = 0.13 > 0.08); format
    // keywords "table" + "json" twice (the fragment lists json and JSON, both folded) = 0.2.
    let prompt = "First, list:\n1. a table\n2. json output\nthen at most 3 items within reason?";
    let matched = fragment_matches(
        "structure/request-shape.yaml",
        "structure",
        &rules,
        &RouteRequest::from_prompt(prompt),
    );
    assert_eq!(
        matched,
        [
            "at_most_one_question",
            "numbered_steps",
            "first_then_flow",
            "constraint_dense",
            "format_directive_dense"
        ]
    );
    // Four questions in Chinese and English, no markers: many questions, and not low density.
    let matched = fragment_matches(
        "structure/request-shape.yaml",
        "structure",
        &rules,
        &RouteRequest::from_prompt("为什么？ how? why? where?"),
    );
    assert_eq!(matched, ["many_questions"]);
}

/// Complexity composers, as the seed's `filterComplexityByComposer` / `evalComposerNode`
/// (`pkg/classification/classifier_composers.go`): a level stays matched only while its
/// rule's composer holds; composer operators default to AND, a `NOT` with two children and a
/// leaf type in upper case are false; the trace records the drop.
#[test]
fn complexity_composers_gate_the_levels() {
    let composer = |c: &str| {
        format!(
            "providers:
  defaults: {{default_model: base}}
  models: [{{name: base}}, {{name: m1}}, {{name: m2}}]
routing:
  signals:
    keywords: [{{name: code, keywords: [python]}}, {{name: urgent, keywords: [asap]}}]
    complexity:
      - {{name: r, threshold: 0.1, hard: {{candidates: [x]}}, easy: {{candidates: [y]}}, composer: {c}}}
      - {{name: q, hard: {{candidates: [x]}}, easy: {{candidates: [y]}}}}
  decisions:
    - {{name: hard_code, priority: 20, rules: {{type: complexity, name: 'r:hard'}}, modelRefs: [{{model: m1}}]}}
    - {{name: easy_q, priority: 10, rules: {{type: complexity, name: 'q:easy'}}, modelRefs: [{{model: m2}}]}}
"
        )
    };
    let route = |c: &str, prompt: &str| {
        let loaded = LoadedConfig::from_yaml_str(&composer(c), "c.yaml", Path::new("."))
            .unwrap_or_else(|e| panic!("{e}"));
        let fixed = Fixed(
            SignalKind::Complexity,
            vec![("r:hard", 0.4), ("q:easy", 0.3)],
        );
        let r = Router::with_signals(&loaded, vec![Box::new(fixed)]).unwrap();
        r.route(&RouteRequest::from_prompt(prompt)).unwrap()
    };
    let and = "{conditions: [{type: keyword, name: code}]}";
    assert_eq!(
        route(and, "python please").decision.as_deref(),
        Some("hard_code")
    );
    let o = route(and, "hello");
    assert_eq!(o.decision.as_deref(), Some("easy_q"));
    assert!(
        !o.signals.iter().any(|s| s.name == "r:hard"),
        "{:?}",
        o.signals
    );
    let either =
        "{operator: OR, conditions: [{type: keyword, name: code}, {type: keyword, name: urgent}]}";
    assert_eq!(route(either, "asap").decision.as_deref(), Some("hard_code"));
    let not_two =
        "{operator: NOT, conditions: [{type: keyword, name: code}, {type: keyword, name: urgent}]}";
    assert_eq!(route(not_two, "hello").decision.as_deref(), Some("easy_q"));
    let not_one = "{operator: NOT, conditions: [{type: keyword, name: code}]}";
    assert_eq!(
        route(not_one, "hello").decision.as_deref(),
        Some("hard_code")
    );
    let capital = "{conditions: [{type: Keyword, name: code}]}";
    assert_eq!(route(capital, "python").decision.as_deref(), Some("easy_q"));
    let empty_and = "{operator: AND}";
    assert_eq!(
        route(empty_and, "hello").decision.as_deref(),
        Some("hard_code")
    );
}
