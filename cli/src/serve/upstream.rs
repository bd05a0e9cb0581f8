//! Sending a chat request to a model's backend and relaying its answer (streamed or buffered).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use futures::TryStreamExt;

use super::error::ApiError;
use super::metrics::Metrics;

/// One backend endpoint of a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// The full URL chat requests are posted to (`http://127.0.0.1:8000/v1/chat/completions`).
    pub url: String,
    /// The key sent as `Authorization: Bearer <key>` (from `api_key` or `api_key_env`); when
    /// `None` the client's own `Authorization` header is forwarded.
    pub api_key: Option<String>,
    /// Extra headers the backend requires.
    pub extra_headers: Vec<(String, String)>,
}

/// Request headers that are not forwarded upstream: hop-by-hop headers, those the proxy sets
/// itself, and `accept-encoding` (the proxy relays bodies as they are and never decompresses).
const DROPPED_REQUEST_HEADERS: [&str; 11] = [
    "host",
    "content-length",
    "content-type",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "accept-encoding",
    "authorization",
];

/// Response headers that are not relayed to the client (hop-by-hop and framing).
const DROPPED_RESPONSE_HEADERS: [&str; 7] = [
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
];

/// The headers sent upstream for a request that arrived with `incoming`.
pub fn upstream_headers(incoming: &HeaderMap, backend: &Backend) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in incoming {
        let n = name.as_str();
        if DROPPED_REQUEST_HEADERS.contains(&n) || n.starts_with("proxy-") {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let auth = match &backend.api_key {
        Some(key) => HeaderValue::from_str(&format!("Bearer {key}")).ok(),
        None => incoming.get(header::AUTHORIZATION).cloned(),
    };
    if let Some(auth) = auth {
        out.insert(header::AUTHORIZATION, auth);
    }
    for (k, v) in &backend.extra_headers {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k.as_str()), HeaderValue::from_str(v)) {
            out.insert(k, v);
        }
    }
    out
}

/// Posts `body` to the model's backends, in order, moving on to the next backend only when a
/// connection cannot be made. Any HTTP answer (also 4xx/5xx) is returned as is.
pub async fn send(
    client: &reqwest::Client,
    model: &str,
    backends: &[Backend],
    incoming: &HeaderMap,
    body: Bytes,
    metrics: &Metrics,
) -> Result<reqwest::Response, ApiError> {
    let mut last_error = ApiError::bad_gateway(format!("model `{model}` has no backend"));
    for backend in backends {
        let started = Instant::now();
        let result = client
            .post(&backend.url)
            .headers(upstream_headers(incoming, backend))
            .body(body.clone())
            .send()
            .await;
        match result {
            Ok(resp) => {
                metrics.upstream_latency(started.elapsed());
                if !resp.status().is_success() {
                    metrics.upstream_error(model, "status");
                }
                return Ok(resp);
            }
            Err(e) if e.is_timeout() => {
                metrics.upstream_error(model, "timeout");
                return Err(ApiError::gateway_timeout(format!(
                    "upstream for model `{model}` at {} timed out after {:.1}s",
                    backend.url,
                    started.elapsed().as_secs_f64()
                )));
            }
            Err(e) => {
                let kind = if e.is_connect() { "connect" } else { "request" };
                metrics.upstream_error(model, kind);
                tracing::warn!(model, url = %backend.url, error = %error_chain(&e), "upstream request failed");
                last_error = ApiError::bad_gateway(format!(
                    "upstream for model `{model}` at {} failed: {}",
                    backend.url,
                    error_chain(&e)
                ));
                if !e.is_connect() {
                    return Err(last_error);
                }
            }
        }
    }
    Err(last_error)
}

/// An error and its causes on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

/// The upstream's status and relayable headers.
fn relayed_head(resp: &reqwest::Response) -> (StatusCode, HeaderMap) {
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut headers = HeaderMap::new();
    for (name, value) in resp.headers() {
        if !DROPPED_RESPONSE_HEADERS.contains(&name.as_str()) {
            headers.append(name.clone(), value.clone());
        }
    }
    (status, headers)
}

/// What a relayed stream calls at its end with the `usage` it carried (see [`super::usage`]).
pub type OnStreamEnd = Box<dyn FnOnce(Option<serde_json::Value>) + Send>;

/// Relays the upstream response chunk by chunk as it arrives (SSE streams included); with
/// `on_end`, the chunks are scanned for the answer's `usage`.
pub fn stream_response(
    resp: reqwest::Response,
    model: String,
    metrics: Arc<Metrics>,
    on_end: Option<OnStreamEnd>,
) -> Response {
    let (status, headers) = relayed_head(&resp);
    let stream = resp.bytes_stream().inspect_err(move |e| {
        let kind = if e.is_timeout() { "timeout" } else { "body" };
        metrics.upstream_error(&model, kind);
        tracing::warn!(model, error = %error_chain(e), "upstream stream broke off");
    });
    let body = match on_end {
        Some(f) => Body::from_stream(super::usage::watch(stream, f)),
        None => Body::from_stream(stream),
    };
    let mut out = Response::new(body);
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    out
}

/// A fully read upstream response.
pub struct Buffered {
    /// The upstream status.
    pub status: StatusCode,
    /// Relayable headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Buffered {
    /// Turns the buffered answer into a response to the client.
    pub fn into_response(self) -> Response {
        let mut out = Response::new(Body::from(self.body));
        *out.status_mut() = self.status;
        *out.headers_mut() = self.headers;
        out
    }
}

/// Reads the whole upstream response (used when it is to be stored in the cache).
pub async fn buffer_response(
    resp: reqwest::Response,
    model: &str,
    metrics: &Metrics,
) -> Result<Buffered, ApiError> {
    let (status, headers) = relayed_head(&resp);
    match resp.bytes().await {
        Ok(body) => Ok(Buffered {
            status,
            headers,
            body,
        }),
        Err(e) if e.is_timeout() => {
            metrics.upstream_error(model, "timeout");
            Err(ApiError::gateway_timeout(format!(
                "upstream for model `{model}` timed out while sending its body"
            )))
        }
        Err(e) => {
            metrics.upstream_error(model, "body");
            Err(ApiError::bad_gateway(format!(
                "upstream for model `{model}` broke off its body: {}",
                error_chain(&e)
            )))
        }
    }
}

/// Builds the HTTP client used for every upstream.
pub fn client(
    connect_timeout: Duration,
    total_timeout: Duration,
) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .timeout(total_timeout)
        .pool_max_idle_per_host(256)
        .build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwards_client_headers_but_not_hop_by_hop_and_picks_auth() {
        let mut incoming = HeaderMap::new();
        incoming.insert("authorization", HeaderValue::from_static("Bearer client"));
        incoming.insert("x-request-id", HeaderValue::from_static("r1"));
        incoming.insert("connection", HeaderValue::from_static("keep-alive"));
        incoming.insert("host", HeaderValue::from_static("router:8080"));
        incoming.insert("content-length", HeaderValue::from_static("12"));
        let mut backend = Backend {
            url: "http://127.0.0.1:1/v1/chat/completions".into(),
            api_key: None,
            extra_headers: vec![("X-Tenant".into(), "t1".into())],
        };
        let out = upstream_headers(&incoming, &backend);
        assert_eq!(out["authorization"], "Bearer client");
        assert_eq!(out["x-request-id"], "r1");
        assert_eq!(out["x-tenant"], "t1");
        assert_eq!(out["content-type"], "application/json");
        assert!(out.get("connection").is_none());
        assert!(out.get("host").is_none());
        assert!(out.get("content-length").is_none());
        backend.api_key = Some("backend-key".into());
        let out = upstream_headers(&incoming, &backend);
        assert_eq!(out["authorization"], "Bearer backend-key");
    }
}
