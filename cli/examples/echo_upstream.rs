//! A minimal OpenAI-style upstream for load tests of `routelab serve`: answers every
//! `POST /v1/chat/completions` at once with a fixed small `chat.completion` naming the model it
//! was asked for. Listens on 127.0.0.1 only.
//!
//! `cargo run --release -p routelab --example echo_upstream -- 9100` (port 0 picks a free one;
//! the bound address is printed on stdout).

use axum::routing::post;
use axum::Json;
use serde_json::{json, Value};

async fn complete(Json(body): Json<Value>) -> Json<Value> {
    let model = body.get("model").cloned().unwrap_or(Value::Null);
    Json(json!({
        "id": "chatcmpl-echo",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    }))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = match std::env::args().nth(1) {
        Some(p) => p.parse().map_err(|e| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("port {p:?}: {e}"))
        })?,
        None => 0,
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!(
        "echo upstream listening on http://{}",
        listener.local_addr()?
    );
    let app = axum::Router::new().route("/v1/chat/completions", post(complete));
    axum::serve(listener, app).await
}
