//! `routelab serve` driven in-process: the app is built from its state by the library
//! (`routelab::serve::{build_state, app}`) and each request is one `tower::ServiceExt::oneshot`
//! call, with no socket, no child process and no sleep. The end-to-end process tests are in
//! `serve.rs`.

use std::path::Path;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use routelab::serve::reload::Reloader;
use routelab::serve::state::{AppState, BlockMode, Settings};
use routelab::serve::{app, build_state};
use serde_json::{json, Value};
use tower::ServiceExt as _;

const CONFIG: &str = r#"
providers:
  defaults: {default_model: small}
  models:
    - {name: small, backend_refs: [{endpoint: "127.0.0.1:9", protocol: http}]}
    - {name: big, backend_refs: [{endpoint: "127.0.0.1:9", protocol: http}]}
routing:
  signals:
    keywords:
      - {name: math, operator: OR, keywords: [prove, integral]}
  decisions:
    - name: math_route
      priority: 10
      rules: {operator: OR, conditions: [{type: keyword, name: math}]}
      modelRefs: [{model: big}]
    - name: fallback
      rules: {operator: AND}
      modelRefs: [{model: small}]
"#;

fn settings(config: &Path) -> Settings {
    Settings {
        config: config.to_path_buf(),
        model_maps: Vec::new(),
        auto_names: vec!["auto".into()],
        passthrough: true,
        block_mode: BlockMode::Plugin,
        max_body_bytes: 1 << 16,
        max_concurrency: 8,
        upstream_override: None,
        request_log: None,
    }
}

/// A state with `CONFIG` loaded (the same reload serve runs at start-up).
async fn loaded_state(dir: &Path) -> std::sync::Arc<AppState> {
    let config = dir.join("config.yaml");
    std::fs::write(&config, CONFIG).unwrap();
    let state = build_state(settings(&config), reqwest::Client::new()).unwrap();
    Reloader::new(state.clone()).reload("test").await.unwrap();
    state
}

async fn post(state: &std::sync::Arc<AppState>, path: &str, body: &[u8]) -> (StatusCode, Value) {
    let request = Request::post(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_vec()))
        .unwrap();
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn routes_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let state = loaded_state(dir.path()).await;
    let body = json!({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "prove it"}, {"type": "image_url", "image_url": {"url": "x"}}]}]});
    let (status, outcome) = post(&state, "/v1/route", body.to_string().as_bytes()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(outcome["decision"], "math_route");
    assert_eq!(outcome["model"], "big");
    let (_, outcome) = post(&state, "/v1/route", br#"{"prompt": "hello"}"#).await;
    assert_eq!(outcome["decision"], "fallback");
    let trace = outcome["trace"].as_array().unwrap();
    let fallback = trace.iter().find(|t| t["name"] == "fallback").unwrap();
    assert_eq!(fallback["expression"], "fallback");
}

#[tokio::test]
async fn bad_bodies_name_the_field_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let state = loaded_state(dir.path()).await;
    let cases: [(&[u8], Value); 3] = [
        (
            br#"{"messages":[{"role":"user","content":[{"type":"text","text":3}]}]}"#,
            json!("messages[0].content[0].text"),
        ),
        (
            br#"{"messages":[{"role":"assistant","tool_calls":[{"function":{}}]}]}"#,
            json!("messages[0].tool_calls[0].function.name"),
        ),
        (
            br#"{"messages":[{"role":"user"}],"tools":{}}"#,
            json!("tools"),
        ),
    ];
    for (body, param) in cases {
        let (status, err) = post(&state, "/v1/chat/completions", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
        assert_eq!(err["error"]["param"], param, "{err}");
    }
}

/// Before a policy is loaded, `/readyz` and the API answer 503 (`not_ready`) while `/healthz`
/// is 200; after the reload the server is ready.
#[tokio::test]
async fn ready_only_once_a_policy_is_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, CONFIG).unwrap();
    let state = build_state(settings(&config), reqwest::Client::new()).unwrap();
    let get = |state: std::sync::Arc<AppState>, path: &'static str| async move {
        let request = Request::get(path).body(Body::empty()).unwrap();
        app(state).oneshot(request).await.unwrap().status()
    };
    assert_eq!(get(state.clone(), "/healthz").await, StatusCode::OK);
    for path in ["/readyz", "/v1/models"] {
        assert_eq!(
            get(state.clone(), path).await,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
    let chat = br#"{"model":"auto","messages":[{"role":"user","content":"hi"}]}"#;
    let (status, body) = post(&state, "/v1/chat/completions", chat).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["code"], "not_ready");
    Reloader::new(state.clone()).reload("test").await.unwrap();
    assert_eq!(get(state, "/readyz").await, StatusCode::OK);
}
