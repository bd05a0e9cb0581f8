//! `routelab mock-upstream`: a stand-in OpenAI-compatible model server for trying a config with
//! `routelab serve --upstream` before any real model is reachable, and for load tests.
//!
//! It answers `POST /v1/chat/completions` at once (or after `--delay-ms`) with an assistant
//! message that says which model was asked and which reasoning parameters arrived, so the
//! router's rewrites are visible; `"stream": true` gets the same text as SSE chunks.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::Context as _;
use axum::body::{Body, Bytes};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use futures::StreamExt as _;
use serde_json::{json, Value};

/// Arguments of `routelab mock-upstream`.
#[derive(clap::Args, Debug)]
pub struct MockUpstreamArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to listen on (0 picks a free one; the bound address is printed on stdout).
    #[arg(long, default_value_t = 9100)]
    pub port: u16,
    /// Wait this long before answering (and between streamed chunks), in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub delay_ms: u64,
    /// Worker threads of the async runtime (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Runs the mock upstream until SIGINT/SIGTERM.
pub fn run(args: MockUpstreamArgs) -> anyhow::Result<()> {
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Some(n) = args.threads {
        runtime.worker_threads(n.max(1));
    }
    runtime.build()?.block_on(serve(
        SocketAddr::new(args.host, args.port),
        Duration::from_millis(args.delay_ms),
    ))
}

async fn serve(bind: SocketAddr, delay: Duration) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind}"))?;
    let addr = listener.local_addr()?;
    println!("routelab mock-upstream listening on http://{addr}");
    tracing::info!(%addr, "mock upstream ready: POST /v1/chat/completions");
    let app = axum::Router::new()
        .route(
            "/v1/chat/completions",
            post(move |body: Bytes| complete(body, delay)),
        )
        .route(
            "/v1/models",
            get(|| async { Json(json!({"object": "list", "data": []})) }),
        );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("mock upstream server error")
}

/// Answers one chat request.
async fn complete(body: Bytes, delay: Duration) -> Response {
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            let error = json!({"error": {"message": "body is not a JSON object",
                "type": "invalid_request_error", "code": "invalid_json"}});
            return (StatusCode::BAD_REQUEST, Json(error)).into_response();
        }
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let model = request
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let text = reply_text(&request);
    if request.get("stream").and_then(Value::as_bool) == Some(true) {
        stream_reply(model, text, delay)
    } else {
        Json(completion(&model, &request, &text)).into_response()
    }
}

/// The assistant text: the model asked for, the number of messages, the reasoning parameters
/// received, and the start of the last user turn.
fn reply_text(request: &Value) -> String {
    let model = request.get("model").and_then(Value::as_str).unwrap_or("");
    let messages = request.get("messages").and_then(Value::as_array);
    let count = messages.map_or(0, Vec::len);
    let last_user = messages
        .and_then(|m| {
            m.iter()
                .rev()
                .find(|msg| msg.get("role").and_then(Value::as_str) == Some("user"))
        })
        .and_then(|msg| msg.get("content"))
        .map(|c| match c {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .unwrap_or_default();
    let snippet: String = last_user.chars().take(60).collect();
    let ellipsis = if last_user.chars().count() > 60 {
        "..."
    } else {
        ""
    };
    let reasoning: Vec<String> = ["chat_template_kwargs", "reasoning_effort", "reasoning"]
        .iter()
        .filter_map(|key| request.get(*key).map(|v| format!("{key}={v}")))
        .collect();
    let reasoning = if reasoning.is_empty() {
        "none".to_owned()
    } else {
        reasoning.join(", ")
    };
    format!(
        "mock reply from {model} ({count} message(s); reasoning params: {reasoning}) to \"{snippet}{ellipsis}\""
    )
}

/// A whole `chat.completion` object.
fn completion(model: &str, request: &Value, text: &str) -> Value {
    let prompt_chars: usize = request
        .get("messages")
        .and_then(Value::as_array)
        .map_or(0, |m| m.iter().map(|msg| msg.to_string().len()).sum());
    let prompt_tokens = prompt_chars.div_ceil(4);
    let completion_tokens = text.split_whitespace().count();
    json!({
        "id": "chatcmpl-mock",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens}
    })
}

/// The SSE events of a streamed answer: a role chunk, one chunk per word, a finish chunk and
/// `[DONE]`.
fn stream_events(model: &str, text: &str) -> Vec<String> {
    let chunk = |delta: Value, finish: Value| {
        let c = json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 0,
            "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
        format!("data: {c}\n\n")
    };
    let mut events = vec![chunk(json!({"role": "assistant"}), Value::Null)];
    for (i, word) in text.split(' ').enumerate() {
        let piece = if i == 0 {
            word.to_owned()
        } else {
            format!(" {word}")
        };
        events.push(chunk(json!({"content": piece}), Value::Null));
    }
    events.push(chunk(json!({}), json!("stop")));
    events.push("data: [DONE]\n\n".to_owned());
    events
}

fn stream_reply(model: String, text: String, delay: Duration) -> Response {
    let events = stream_events(&model, &text);
    let body = futures::stream::iter(events).then(move |event| async move {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        Ok::<_, Infallible>(Bytes::from(event))
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(body))
        .expect("static headers are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_names_model_reasoning_and_last_user_turn() {
        let request = json!({
            "model": "qwen3-8b",
            "chat_template_kwargs": {"enable_thinking": true},
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "first question"},
                {"role": "assistant", "content": "an answer"},
                {"role": "user", "content": "second question"}
            ]
        });
        assert_eq!(
            reply_text(&request),
            "mock reply from qwen3-8b (4 message(s); reasoning params: \
             chat_template_kwargs={\"enable_thinking\":true}) to \"second question\""
        );
        let long = json!({"model": "m", "messages": [{"role": "user", "content": "x".repeat(70)}]});
        assert!(reply_text(&long).ends_with(&format!("\"{}...\"", "x".repeat(60))));
        assert!(reply_text(&long).contains("reasoning params: none"));
    }

    #[test]
    fn completion_counts_tokens() {
        let request = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        let c = completion("m", &request, "two words");
        // `{"content":"hi","role":"user"}` is 30 bytes: 8 prompt tokens at 4 bytes each.
        assert_eq!(c["usage"]["prompt_tokens"], 8);
        assert_eq!(c["usage"]["completion_tokens"], 2);
        assert_eq!(c["usage"]["total_tokens"], 10);
        assert_eq!(c["choices"][0]["message"]["content"], "two words");
    }

    #[test]
    fn stream_rebuilds_the_text_and_ends_with_done() {
        let events = stream_events("m", "a b c");
        assert_eq!(events.len(), 1 + 3 + 1 + 1);
        assert_eq!(events.last().unwrap(), "data: [DONE]\n\n");
        let mut text = String::new();
        for e in &events[..events.len() - 1] {
            let v: Value = serde_json::from_str(e.strip_prefix("data: ").unwrap().trim()).unwrap();
            if let Some(piece) = v["choices"][0]["delta"]["content"].as_str() {
                text.push_str(piece);
            }
        }
        assert_eq!(text, "a b c");
        assert!(events[4].contains("\"finish_reason\":\"stop\""));
    }
}
