//! Event and metadata rules end to end: a request body's `metadata` object and its text, the
//! decisions they route to, and what is refused (the seed's `validateMetadataContracts`,
//! `extractMetadataFast` limits, `event_classifier.go`).

use std::path::Path;

use router_core::config::LoadedConfig;
use router_core::engine::Router;
use router_core::request::parse_conversation_json;

const CONFIG: &str = r#"
providers:
  defaults: {default_model: cloud}
  models: [{name: cloud}, {name: local}, {name: oncall}]
routing:
  signals:
    events:
      - name: critical_payment_event
        event_types: [payment_failed, transaction_declined]
        severities: [critical, high]
        action_codes: [TXN_DECLINE]
        temporal: true
    metadata:
      - {name: consent-denied, key: consent, predicate: {equals: denied}}
  decisions:
    - name: keep_local
      priority: 20
      rules: {type: metadata, name: consent-denied}
      modelRefs: [{model: local}]
    - name: incident
      priority: 10
      rules: {type: event, name: critical_payment_event}
      modelRefs: [{model: oncall}]
"#;

fn router() -> Router {
    let loaded = LoadedConfig::from_yaml_str(CONFIG, "c.yaml", Path::new(".")).unwrap();
    Router::with_signals(&loaded, Vec::new()).unwrap()
}

fn route(router: &Router, body: &str) -> (Option<String>, f32) {
    let request = parse_conversation_json(body).unwrap();
    let out = router.route(&request).unwrap();
    (out.decision, out.confidence)
}

#[test]
fn metadata_and_events_route() {
    let r = router();
    let msg = |text: &str, metadata: &str| {
        format!(r#"{{"messages": [{{"role": "user", "content": "{text}"}}]{metadata}}}"#)
    };
    let denied = r#", "metadata": {"consent": "denied", "cohort": "beta"}"#;
    assert_eq!(
        route(&r, &msg("TXN_DECLINE again", denied)).0.as_deref(),
        Some("keep_local")
    );
    assert_eq!(
        route(&r, &msg("hello", r#", "metadata": {"consent": "Denied"}"#)).0,
        None
    );
    // 2 of 4 criteria (the action code and `now`): 0.5 + 0.5 · 2/4.
    assert_eq!(
        route(&r, &msg("TXN_DECLINE now", "")),
        (Some("incident".into()), 0.75)
    );
    assert_eq!(route(&r, &msg("what is the weather", "")).0, None);
}

#[test]
fn bad_metadata_is_refused_with_its_path() {
    let err = |metadata: &str| {
        let body = format!(
            r#"{{"messages": [{{"role": "user", "content": "x"}}], "metadata": {metadata}}}"#
        );
        parse_conversation_json(&body).unwrap_err().to_string()
    };
    assert!(err("null").contains("`metadata` must be an object of strings"));
    assert!(err(r#"{"cohort": 1}"#).contains("`metadata.cohort` must be a string"));
    assert!(err(r#"{"": "x"}"#).contains("key must be 1 to 128 bytes"));
    let long = format!(r#"{{"k": "{}"}}"#, "v".repeat(1025));
    assert!(err(&long).contains("longer than 1024 bytes"));
    let many: Vec<String> = (0..33).map(|i| format!(r#""k{i}": "v""#)).collect();
    assert!(err(&format!("{{{}}}", many.join(", "))).contains("33 entries, at most 32"));
}

#[test]
fn metadata_rules_are_checked_and_unknown_severities_listed() {
    let bad = CONFIG
        .replace(
            "predicate: {equals: denied}",
            "predicate: {equals: denied, exists: true}",
        )
        .replace("key: consent,", "key: \" consent\",");
    let err = LoadedConfig::from_yaml_str(&bad, "c.yaml", Path::new("."))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("routing.signals.metadata[0].predicate: predicate must set exactly one"),
        "{err}"
    );
    assert!(
        err.contains("routing.signals.metadata[0].key: key must not have surrounding whitespace"),
        "{err}"
    );
    let odd = CONFIG.replace(
        "severities: [critical, high]",
        "severities: [critical, severe]",
    );
    let loaded = LoadedConfig::from_yaml_str(&odd, "c.yaml", Path::new(".")).unwrap();
    let listed: Vec<&str> = loaded.ignored.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(listed, ["routing.signals.events[0].severities[1]"]);
    // Metadata is no projection input, as in the seed.
    let projection = format!(
        "{CONFIG}  projections:
    scores:
      - name: s
        method: weighted_sum
        inputs: [{{type: metadata, name: consent-denied, weight: 1}}]
"
    );
    let err = LoadedConfig::from_yaml_str(&projection, "c.yaml", Path::new("."))
        .unwrap_err()
        .to_string();
    assert!(err.contains("metadata"), "{err}");
}
