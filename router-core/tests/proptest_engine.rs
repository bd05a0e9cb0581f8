//! Property tests: routing never panics on arbitrary rule trees and texts, rule-tree
//! confidences follow the operator definitions, and loading never panics on YAML-ish input.

use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use router_core::config::LoadedConfig;
use router_core::engine::Router;
use router_core::inference::ModelRegistry;
use router_core::request::RouteRequest;

/// The example keyword router, built once.
fn keywords_router() -> &'static Router {
    static ROUTER: OnceLock<Router> = OnceLock::new();
    ROUTER.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/keywords.yaml");
        Router::new(
            &LoadedConfig::from_file(path).unwrap(),
            &ModelRegistry::default(),
        )
        .unwrap()
    })
}

const SIGNALS: [&str; 4] = ["k0", "k1", "k2", "k3"];

#[derive(Debug, Clone)]
enum Tree {
    Leaf(usize),
    Unknown,
    And(Vec<Tree>),
    Or(Vec<Tree>),
    Not(Box<Tree>),
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = prop_oneof![4 => (0..SIGNALS.len()).prop_map(Tree::Leaf), 1 => Just(Tree::Unknown)];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(Tree::And),
            prop::collection::vec(inner.clone(), 1..4).prop_map(Tree::Or),
            inner.prop_map(|t| Tree::Not(Box::new(t))),
        ]
    })
}

impl Tree {
    fn yaml(&self) -> String {
        match self {
            Tree::Leaf(i) => format!("{{type: keyword, name: {}}}", SIGNALS[*i]),
            Tree::Unknown => "{type: preference, name: hard}".into(),
            Tree::And(c) | Tree::Or(c) => format!(
                "{{operator: {}, conditions: [{}]}}",
                if matches!(self, Tree::And(_)) {
                    "AND"
                } else {
                    "OR"
                },
                c.iter().map(Tree::yaml).collect::<Vec<_>>().join(", ")
            ),
            Tree::Not(c) => format!("{{operator: NOT, conditions: [{}]}}", c.yaml()),
        }
    }

    /// Reference semantics: `None` = no match, else the confidence (keyword matches are 1.0).
    fn eval(&self, hit: &[bool]) -> Option<f32> {
        match self {
            Tree::Leaf(i) => hit[*i].then_some(1.0),
            Tree::Unknown => None,
            Tree::And(c) => {
                let vs: Option<Vec<f32>> = c.iter().map(|t| t.eval(hit)).collect();
                vs.map(|v| v.iter().sum::<f32>() / v.len() as f32)
            }
            Tree::Or(c) => c.iter().filter_map(|t| t.eval(hit)).reduce(f32::max),
            Tree::Not(c) => c.eval(hit).is_none().then_some(1.0),
        }
    }
}

fn config(trees: &[(Tree, i64)]) -> String {
    let mut y = String::from(
        "providers:\n  defaults: {default_model: m}\n  models: [{name: m}, {name: n}]\nrouting:\n  signals:\n    keywords:\n",
    );
    for (i, s) in SIGNALS.iter().enumerate() {
        y.push_str(&format!("      - {{name: {s}, keywords: [w{i}]}}\n"));
    }
    y.push_str("  decisions:\n");
    for (i, (t, p)) in trees.iter().enumerate() {
        y.push_str(&format!(
            "    - {{name: d{i}, priority: {p}, rules: {}, modelRefs: [{{model: n}}]}}\n",
            t.yaml()
        ));
    }
    y
}

/// A score input: keyword `k<i>`, weight, `confidence` (else binary) and binary match / miss.
type Input = (usize, f64, bool, f64, f64);

/// A config whose score sums `inputs` over the keyword signals, banded at `threshold` with
/// `slope` (0: the default), and a decision on each band.
fn projection_config(inputs: &[Input], threshold: f64, slope: f64) -> String {
    let mut y = config(&[]);
    y = y.replace("  decisions:\n", "");
    y.push_str("  projections:\n    scores:\n      - name: s\n        method: weighted_sum\n        inputs:\n");
    for (k, w, conf, on, off) in inputs {
        let source = if *conf { "confidence" } else { "binary" };
        y.push_str(&format!(
            "          - {{type: keyword, name: k{k}, weight: {w}, value_source: {source}, match: {on}, miss: {off}}}\n"
        ));
    }
    y.push_str(&format!(
        "    mappings:\n      - name: band\n        source: s\n        calibration: {{slope: {slope}}}\n        outputs: [{{name: low, lt: {threshold}}}, {{name: high, gte: {threshold}}}]\n"
    ));
    y.push_str("  decisions:\n    - {name: on_high, rules: {type: projection, name: high}, modelRefs: [{model: m}]}\n    - {name: on_low, rules: {type: projection, name: low}, modelRefs: [{model: m}]}\n");
    y
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Projections follow the seed's formulas (`projectionInputValue`,
    /// `projectionOutputConfidence`) for any weights, value sources, bands and hits.
    #[test]
    fn projections_match_the_reference_formulas(
        inputs in prop::collection::vec(
            (0..SIGNALS.len(), -2.0f64..2.0, any::<bool>(), prop_oneof![Just(0.0), -1.0f64..3.0], -1.0f64..1.0),
            1..6,
        ),
        threshold in -1.0f64..2.0,
        slope in prop_oneof![Just(0.0), 0.5f64..20.0],
        hit in prop::collection::vec(any::<bool>(), SIGNALS.len()),
    ) {
        let y = projection_config(&inputs, threshold, slope);
        let loaded = LoadedConfig::from_yaml_str(&y, "p.yaml", Path::new("."))
            .map_err(|e| TestCaseError::fail(format!("{e}\n{y}")))?;
        let router = Router::new(&loaded, &ModelRegistry::default()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let text: String = hit.iter().enumerate().filter(|(_, h)| **h).map(|(i, _)| format!(" w{i} ")).collect();
        let out = router.route(&RouteRequest::from_prompt(text)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        // The sum, in input order; a keyword match has confidence 1.
        let score: f64 = inputs.iter().map(|(k, w, conf, on, off)| {
            let v = match (hit[*k], *conf) {
                (true, true) => 1.0,
                (false, true) => 0.0,
                (true, false) => if *on == 0.0 { 1.0 } else { *on },
                (false, false) => *off,
            };
            w * v
        }).sum();
        let slope = if slope > 0.0 { slope } else { 12.0 };
        let want = (1.0 / (1.0 + (-slope * (score - threshold).abs()).exp())) as f32;
        let decision = if score >= threshold { "on_high" } else { "on_low" };
        prop_assert_eq!(out.decision.as_deref(), Some(decision));
        prop_assert!((out.confidence - want).abs() < 1e-5, "got {} want {}", out.confidence, want);
    }

    #[test]
    fn routing_matches_the_reference_semantics(
        trees in prop::collection::vec((tree(), -5i64..5), 1..6),
        hit in prop::collection::vec(any::<bool>(), SIGNALS.len()),
        noise in "\\PC{0,40}",
    ) {
        let loaded = LoadedConfig::from_yaml_str(&config(&trees), "p.yaml", Path::new("."))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let router = Router::new(&loaded, &ModelRegistry::default()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let text: String = hit
            .iter()
            .enumerate()
            .filter(|(_, h)| **h)
            .map(|(i, _)| format!(" w{i} "))
            .collect::<String>()
            + " ";
        // Noise without the digits/`w` of keywords keeps the hit pattern intact.
        let noise: String = noise.chars().filter(|c| !c.is_alphanumeric()).collect();
        let out = router.route_with_trace(&RouteRequest::from_prompt(format!("{text}{noise}")))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let trace = out.trace.unwrap();
        let mut best: Option<(i64, f32, String)> = None;
        for (i, (t, p)) in trees.iter().enumerate() {
            let want = t.eval(&hit);
            prop_assert_eq!(trace[i].confidence.is_some(), want.is_some());
            if let (Some(got), Some(w)) = (trace[i].confidence, want) {
                prop_assert!((got - w).abs() < 1e-5, "d{} got {} want {}", i, got, w);
                let cand = (*p, w, format!("d{i}"));
                let better = match &best {
                    None => true,
                    Some(b) => (cand.0, cand.1).partial_cmp(&(b.0, b.1)) == Some(std::cmp::Ordering::Greater)
                        || ((cand.0, cand.1) == (b.0, b.1) && cand.2 < b.2),
                };
                if better { best = Some(cand); }
            }
        }
        prop_assert_eq!(out.decision, best.map(|b| b.2));
    }

    #[test]
    fn routing_never_panics_on_arbitrary_text(text in "\\PC{0,200}") {
        let out = keywords_router().route_with_trace(&RouteRequest::from_prompt(text)).unwrap();
        prop_assert!(out.confidence >= 0.0 && out.confidence <= 1.0);
    }

    #[test]
    fn loading_never_panics_on_yaml_ish_input(
        parts in prop::collection::vec(prop_oneof![
            Just("providers:\n".to_string()),
            Just("  defaults: {default_model: m}\n".to_string()),
            Just("  models: [{name: m}]\n".to_string()),
            Just("routing:\n".to_string()),
            Just("  decisions:\n".to_string()),
            Just("    - name: d\n".to_string()),
            Just("      rules: {operator: NOT, conditions: []}\n".to_string()),
            Just("      rules: {type: keyword, name: x}\n".to_string()),
            Just("  signals: {keywords: [{name: x, keywords: [a], regexes: ['(']}]}\n".to_string()),
            Just("  strategy: confidence\n".to_string()),
            Just("      modelRefs: [{model: m}]\n".to_string()),
            Just("      plugins: [{type: block, configuration: {status: 9}}]\n".to_string()),
            Just("- \n".to_string()),
            Just("{[:\n".to_string()),
            Just("&a *a\n".to_string()),
            "[ -~\\n]{0,20}",
        ], 0..12)
    ) {
        let y: String = parts.concat();
        let _ = LoadedConfig::from_yaml_str(&y, "fuzz.yaml", Path::new("."));
    }
}
