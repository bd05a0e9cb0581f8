//! Shared helpers of the `serve*` integration tests: a loopback echo upstream and a handle on a
//! `routelab serve` process started from the built binary.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// One request as the echo upstream received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub body: Value,
}

#[derive(Default)]
struct EchoState {
    name: String,
    received: Mutex<Vec<Received>>,
    last_chunk_sent: Mutex<Option<Instant>>,
}

/// A loopback upstream that records every request and echoes it back.
///
/// Behaviour is steered by request headers (which routelab forwards): `x-test-sleep-ms` waits
/// before answering, `x-test-status` answers with that status; a body with `"stream": true` is
/// answered with `x-test-chunks` SSE chunks (default 3) `x-test-delay-ms` apart.
pub struct EchoUpstream {
    pub addr: std::net::SocketAddr,
    state: Arc<EchoState>,
}

fn header_u64(h: &HeaderMap, name: &str) -> Option<u64> {
    h.get(name)?.to_str().ok()?.parse().ok()
}

async fn echo(State(state): State<Arc<EchoState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    let headers: BTreeMap<String, String> = parts
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let received = Received {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        headers,
        body: body.clone(),
    };
    state.received.lock().unwrap().push(received.clone());
    if let Some(ms) = header_u64(&parts.headers, "x-test-sleep-ms") {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if let Some(code) = header_u64(&parts.headers, "x-test-status") {
        let status = StatusCode::from_u16(code as u16).unwrap();
        return (
            status,
            axum::Json(json!({"error": {"message": "upstream says no"}})),
        )
            .into_response();
    }
    if body.get("stream") == Some(&Value::Bool(true)) {
        let chunks = header_u64(&parts.headers, "x-test-chunks").unwrap_or(3);
        let delay =
            Duration::from_millis(header_u64(&parts.headers, "x-test-delay-ms").unwrap_or(0));
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(16);
        let st = state.clone();
        // As OpenAI: the usage in a last chunk, when asked for.
        let include_usage = body
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            == Some(true);
        tokio::spawn(async move {
            for i in 0..chunks {
                if i > 0 {
                    tokio::time::sleep(delay).await;
                }
                if i + 1 == chunks {
                    *st.last_chunk_sent.lock().unwrap() = Some(Instant::now());
                }
                let chunk = json!({"object": "chat.completion.chunk", "upstream": st.name,
                                   "choices": [{"index": 0, "delta": {"content": format!("c{i}")}}]});
                if tx
                    .send(Bytes::from(format!("data: {chunk}\n\n")))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            if include_usage {
                let usage = json!({"object": "chat.completion.chunk", "choices": [],
                                   "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}});
                let _ = tx.send(Bytes::from(format!("data: {usage}\n\n"))).await;
            }
            let _ = tx.send(Bytes::from_static(b"data: [DONE]\n\n")).await;
        });
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
        });
        return Response::builder()
            .header("content-type", "text/event-stream")
            .header("x-upstream", state.name.clone())
            .body(Body::from_stream(stream))
            .unwrap();
    }
    let reply = json!({
        "id": "chatcmpl-echo", "object": "chat.completion", "model": body.get("model"),
        "upstream": state.name,
        "echo": {"method": received.method, "path": received.path, "headers": received.headers,
                 "body": received.body},
        "choices": [{"index": 0, "message": {"role": "assistant", "content": format!("hi from {}", state.name)},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14}
    });
    ([("x-upstream", state.name.clone())], axum::Json(reply)).into_response()
}

impl EchoUpstream {
    /// Starts an echo upstream named `name` on a free loopback port.
    pub async fn start(name: &str) -> EchoUpstream {
        let state = Arc::new(EchoState {
            name: name.to_string(),
            ..Default::default()
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().fallback(echo).with_state(state.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        EchoUpstream { addr, state }
    }

    /// Requests received so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// The last request received.
    pub fn last(&self) -> Received {
        self.received()
            .pop()
            .expect("the upstream received no request")
    }

    /// When the last SSE chunk was handed to the connection.
    pub fn last_chunk_sent(&self) -> Option<Instant> {
        *self.state.last_chunk_sent.lock().unwrap()
    }
}

/// A port on which nothing listens.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A running `routelab serve` process (killed on drop).
pub struct Server {
    pub child: Child,
    pub base: String,
    pub config: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    /// Writes `config` to a temp dir and starts `routelab serve` on it with `args`, waiting
    /// until it is ready.
    pub async fn start(config: &str, args: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        std::fs::write(&path, config).unwrap();
        let mut s = Self::spawn(&path, args);
        s._dir = Some(dir);
        s.wait_ready().await;
        s
    }

    /// Starts `routelab serve --config path` without waiting for readiness.
    pub fn spawn(path: &Path, args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_routelab"))
            .args(["--log-level", "warn", "serve", "--port", "0", "--config"])
            .arg(path)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start routelab serve");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .rsplit("http://")
            .next()
            .filter(|_| line.contains("listening on"))
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Server {
            child,
            base: format!("http://{addr}"),
            config: path.to_path_buf(),
            _dir: None,
        }
    }

    /// Polls `/readyz` until 200 (5 s at most).
    pub async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(r) = client.get(self.url("/readyz")).send().await {
                if r.status() == 200 {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "server not ready within 5 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Full URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a signal to the process.
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig} failed");
    }

    /// The server's metrics text.
    pub async fn metrics(&self) -> String {
        reqwest::get(self.url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A rule-only config: `small` (qwen3 family) on `small_port`, `big` (gpt family) on `big_port`;
/// `math` keywords route to `big` with reasoning and a system prompt, `forbidden` is blocked.
pub fn config(small_port: u16, big_port: u16, default_model: &str) -> String {
    format!(
        r#"
providers:
  defaults:
    default_model: {default_model}
    reasoning_families:
      qwen3: {{type: chat_template_kwargs, parameter: enable_thinking}}
      gpt: {{type: reasoning_effort, parameter: reasoning.effort}}
  models:
    - name: small
      reasoning_family: qwen3
      provider_model_id: qwen3-8b-instruct
      backend_refs:
        - {{endpoint: "127.0.0.1:{small_port}", protocol: http}}
    - name: big
      reasoning_family: gpt
      backend_refs:
        - {{base_url: "http://127.0.0.1:{big_port}/v1", api_key: big-secret}}
routing:
  signals:
    keywords:
      - {{name: math, operator: OR, keywords: [prove, integral]}}
      - {{name: forbidden, operator: OR, keywords: [forbidden]}}
  decisions:
    - name: blocked
      priority: 100
      rules: {{operator: OR, conditions: [{{type: keyword, name: forbidden}}]}}
      modelRefs: [{{model: small}}]
      plugins:
        - type: block
          configuration: {{message: "This request is not allowed.", status: 403}}
    - name: math_route
      priority: 10
      rules: {{operator: OR, conditions: [{{type: keyword, name: math}}]}}
      modelRefs: [{{model: big, use_reasoning: true, reasoning_effort: high}}]
      plugins:
        - type: system_prompt
          configuration: {{system_prompt: "You are a mathematician.", mode: insert}}
"#
    )
}

/// A chat body with one user message.
pub fn chat(model: &str, prompt: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": prompt}]})
}
