//! The HTTP endpoints.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use eval::served_log::ServedRecord;
use router_core::engine::RouteOutcome;
use router_core::plugins::BlockAction;
use router_core::request::RouteRequest;
use serde_json::{json, Map, Value};

use super::chat;
use super::error::ApiError;
use super::live::LiveCall;
use super::policy::{ModelTarget, Policy};
use super::request_log::{unix_ms, Recorder};
use super::rewrite;
use super::state::{AppState, BlockMode};
use super::upstream;

/// Header naming the decision that routed the request.
const DECISION_HEADER: &str = "x-routelab-decision";
/// Header naming the model that answered.
const MODEL_HEADER: &str = "x-routelab-model";
/// Header saying whether the semantic cache answered (`hit`, `miss`, `off`).
const CACHE_HEADER: &str = "x-routelab-cache";
/// The recipe a request routed with, when the config has several.
const RECIPE_HEADER: &str = "x-routelab-recipe";
/// The decision name reported for requests that named a model and skipped routing.
const PASSTHROUGH: &str = "passthrough";
/// The decision name reported when no decision matched (the default model answers).
const DEFAULT_DECISION: &str = "default";

/// `GET /healthz`: the process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 once a policy is loaded, 503 before.
pub async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    match state.current_policy() {
        Ok(_) => (StatusCode::OK, "ready").into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let text = state.metrics.render(state.in_flight());
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

/// `GET /v1/models`: the auto names and every configured model.
pub async fn models(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let policy = state.current_policy()?;
    let data: Vec<Value> = state
        .settings
        .auto_names
        .iter()
        .map(String::as_str)
        .chain(policy.entrypoint_names())
        .chain(policy.model_names())
        .map(|id| json!({"id": id, "object": "model", "created": 0, "owned_by": "routelab"}))
        .collect();
    Ok(Json(json!({"object": "list", "data": data})))
}

/// Fallback for unknown paths: 404 in OpenAI's error format.
pub async fn not_found(request: Request) -> ApiError {
    ApiError::route_not_found(request.uri().path())
}

/// Reads a request body, enforcing the size limit (413) before and while reading.
async fn read_body(state: &AppState, request: Request) -> Result<(HeaderMap, Bytes), ApiError> {
    let limit = state.settings.max_body_bytes;
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::too_large(limit));
    }
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => Ok((parts.headers, bytes)),
        Err(e) => {
            let inner = e.into_inner();
            if inner.is::<http_body_util::LengthLimitError>() {
                Err(ApiError::too_large(limit))
            } else {
                Err(ApiError::bad_request(
                    format!("could not read the request body: {inner}"),
                    None,
                ))
            }
        }
    }
}

/// The decision label of an outcome (`default` when no decision matched).
fn decision_label(outcome: &RouteOutcome) -> &str {
    outcome.decision.as_deref().unwrap_or(DEFAULT_DECISION)
}

/// Routes a request (off the async threads when model signals run) and times it.
async fn route(
    state: &AppState,
    policy: Arc<Policy>,
    recipe: usize,
    request: RouteRequest,
    trace: bool,
) -> Result<RouteOutcome, ApiError> {
    let started = Instant::now();
    let result = if policy.uses_models() {
        tokio::task::spawn_blocking(move || policy.route(recipe, &request, trace))
            .await
            .map_err(|e| ApiError::internal(format!("router task failed: {e}")))?
    } else {
        policy.route(recipe, &request, trace)
    };
    let outcome = result.map_err(|e| ApiError::internal(format!("routing failed: {e}")))?;
    state.metrics.router_latency(started.elapsed());
    state.metrics.decision(decision_label(&outcome));
    Ok(outcome)
}

/// `POST /v1/route`: the decision and its trace for a chat body (or `{"prompt": "..."}`),
/// without calling any model.
pub async fn route_only(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    let (_, bytes) = read_body(&state, request).await?;
    let body = chat::parse_object(&bytes)?;
    let route_request = match body.get("prompt") {
        Some(Value::String(p)) if !body.contains_key("messages") => {
            RouteRequest::from_prompt(p.clone())
        }
        _ => chat::conversation(&body)?,
    };
    let policy = state.current_policy()?;
    let requested = body.get("model").and_then(Value::as_str);
    let recipe = requested.and_then(|m| policy.recipe_for(m)).unwrap_or(0);
    let name = policy.recipe_name(recipe).map(str::to_owned);
    let outcome = route(&state, policy, recipe, route_request, true).await?;
    let mut value = serde_json::to_value(&outcome)
        .map_err(|e| ApiError::internal(format!("cannot encode the outcome: {e}")))?;
    if let (Some(name), Some(map)) = (name, value.as_object_mut()) {
        map.insert("recipe".into(), Value::String(name));
    }
    Ok(Json(value))
}

/// `POST /v1/chat/completions`: route, apply plugins, proxy.
pub async fn chat_completions(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Response, ApiError> {
    let (headers, bytes) = read_body(&state, request).await?;
    let chat = chat::parse_chat(&bytes)?;
    let policy = state.current_policy()?;
    let settings = &state.settings;
    // The recipe: the default for no model or one of `--auto-models`, else the one the
    // config's auto aliases and entrypoints give the name.
    let recipe = match chat.model.as_deref() {
        None => Some(0),
        Some(name) if settings.auto_names.iter().any(|a| a == name) => Some(0),
        Some(name) => match policy.recipe_for(name) {
            Some(r) => Some(r),
            None if policy.model(name).is_some() => (!settings.passthrough).then_some(0),
            None => return Err(ApiError::model_not_found(name)),
        },
    };
    let Some(recipe) = recipe else {
        state.metrics.decision(PASSTHROUGH);
        let name = chat.model.as_deref().unwrap_or_default();
        let model = model_target(&policy, name)?;
        let mut body = chat.body;
        rewrite::set_model(&mut body, &model.upstream_model);
        return proxy(&state, &headers, model, body, PASSTHROUGH, None, None).await;
    };
    let recipe_header = policy
        .recipe_name(recipe)
        .and_then(|n| HeaderValue::from_str(n).ok());
    let mut response = routed(&state, &policy, recipe, headers, chat).await?;
    if let Some(v) = recipe_header {
        response.headers_mut().insert(RECIPE_HEADER, v);
    }
    Ok(response)
}

/// A chat request that routes, with recipe `recipe`: route, apply plugins, answer from the
/// block plugin or the cache, or proxy.
async fn routed(
    state: &Arc<AppState>,
    policy: &Arc<Policy>,
    recipe: usize,
    headers: HeaderMap,
    chat: chat::ChatRequest,
) -> Result<Response, ApiError> {
    let settings = &state.settings;
    let arrived = unix_ms();
    let started = Instant::now();
    let outcome = route(
        state,
        policy.clone(),
        recipe,
        chat.conversation.clone(),
        false,
    )
    .await?;
    let mut record = state.recorder.as_ref().map(|recorder| {
        Recording::start(
            recorder, policy, &headers, &chat, &outcome, arrived, started,
        )
    });
    let decision = decision_label(&outcome);
    if let Some(block) = &outcome.block {
        if let Some(r) = record.take() {
            r.finish();
        }
        return Ok(block_response(
            settings.block_mode,
            decision,
            block,
            chat.stream,
        ));
    }
    let model = model_target(policy, &outcome.model)?;
    tracing::debug!(decision, model = %model.name, stream = chat.stream, "routed");
    let mut body = chat.body;
    if let Some(prompt) = &outcome.system_prompt {
        rewrite::apply_system_prompt(&mut body, &prompt.system_prompt, prompt.mode);
    }
    rewrite::set_model(&mut body, &model.upstream_model);
    policy.apply_reasoning(
        &model.name,
        &mut body,
        outcome.use_reasoning,
        outcome.reasoning_effort.as_deref(),
    );
    let cache = match &outcome.decision {
        Some(d) if !chat.stream && outcome.cache.is_some() => {
            cache_slot(policy, &policy.cache_key(recipe, d), &chat.conversation).await
        }
        _ => None,
    };
    if let Some(slot) = &cache {
        if let Some(hit) = slot.lookup(policy) {
            if let Some(r) = record.take() {
                r.finish();
            }
            return Ok(cache_hit(state, hit, decision, &model.name));
        }
        state.metrics.cache("miss");
    }
    let cache = cache.map(|slot| (policy, slot));
    proxy(state, &headers, model, body, decision, cache, record).await
}

/// The answer to a request found in its decision's cache.
fn cache_hit(state: &AppState, hit: Bytes, decision: &str, model: &str) -> Response {
    state.metrics.cache("hit");
    state.metrics.model(model);
    let content_type = HeaderValue::from_static("application/json");
    let mut response = ([(header::CONTENT_TYPE, content_type)], hit).into_response();
    add_headers(&mut response, decision, model, "hit");
    response
}

/// A routed request being recorded (`--request-log`): what is known before the upstream
/// answers; [`Recording::finish`] queues it.
struct Recording {
    recorder: Arc<Recorder>,
    models: Arc<[String]>,
    record: ServedRecord,
}

impl Recording {
    /// What is known once the request is routed.
    fn start(
        recorder: &Arc<Recorder>,
        policy: &Policy,
        headers: &HeaderMap,
        chat: &chat::ChatRequest,
        outcome: &RouteOutcome,
        arrived: i64,
        started: Instant,
    ) -> Self {
        let (messages, prompt_sha256) = recorder.conversation(&chat.conversation);
        Recording {
            recorder: Arc::clone(recorder),
            models: policy.model_list(),
            record: ServedRecord {
                request_id: request_id(headers, arrived),
                timestamp_ms: arrived,
                messages,
                prompt_sha256,
                decision: outcome.decision.clone(),
                router_us: started.elapsed().as_secs_f64() * 1e6,
                ..ServedRecord::default()
            },
        }
    }

    fn finish(self) {
        self.recorder.record(self.record, self.models);
    }

    /// Fills in the upstream's answer: status, latency and, from a JSON body, `usage`.
    fn answered(&mut self, model: &str, status: StatusCode, started: Instant, body: Option<&[u8]>) {
        let r = &mut self.record;
        r.model = Some(model.to_owned());
        r.upstream_status = Some(i64::from(status.as_u16()));
        r.latency_ms = Some(started.elapsed().as_secs_f64() * 1e3);
        let usage = body
            .and_then(|b| serde_json::from_slice::<Value>(b).ok())
            .and_then(|v| v.get("usage").cloned());
        self.usage(usage.as_ref());
    }

    /// Token counts from an OpenAI `usage` object.
    fn usage(&mut self, usage: Option<&Value>) {
        if let Some(u) = usage {
            let r = &mut self.record;
            r.input_tokens = u.get("prompt_tokens").and_then(Value::as_i64);
            r.output_tokens = u.get("completion_tokens").and_then(Value::as_i64);
        }
    }
}

/// The client's `x-request-id`, else one made from the arrival time, the process and a counter.
fn request_id(headers: &HeaderMap, arrived_ms: i64) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    if let Some(id) = headers.get("x-request-id").and_then(|v| v.to_str().ok()) {
        if !id.is_empty() {
            return id.to_owned();
        }
    }
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("rl-{arrived_ms}-{}-{n}", std::process::id())
}

/// Where a response is looked up and stored: the decision's cache and the prompt's key.
struct CacheSlot {
    decision: String,
    key: Vec<f32>,
}

impl CacheSlot {
    fn lookup(&self, policy: &Policy) -> Option<Bytes> {
        policy.caches()?.lookup(&self.decision, &self.key)
    }

    fn store(&self, policy: &Policy, response: Bytes) {
        if let Some(caches) = policy.caches() {
            caches.store(&self.decision, &self.key, response);
        }
    }
}

/// Embeds the last user turn for `decision`'s cache; `None` when the decision has no cache or
/// the embedding fails (logged; the request goes on uncached).
async fn cache_slot(
    policy: &Arc<Policy>,
    decision: &str,
    conversation: &RouteRequest,
) -> Option<CacheSlot> {
    if !policy.caches()?.has(decision) {
        return None;
    }
    let text = conversation.user_text().to_owned();
    let p = policy.clone();
    let embedded = tokio::task::spawn_blocking(move || p.caches().map(|c| c.embed(&text))).await;
    match embedded {
        Ok(Some(Ok(key))) => Some(CacheSlot {
            decision: decision.to_owned(),
            key,
        }),
        Ok(Some(Err(e))) => {
            tracing::warn!(decision, error = %e, "cache key embedding failed; not cached");
            None
        }
        _ => None,
    }
}

fn model_target<'p>(policy: &'p Policy, name: &str) -> Result<&'p ModelTarget, ApiError> {
    policy.model(name).ok_or_else(|| {
        ApiError::internal(format!(
            "the decision chose model `{name}`, which the config does not define"
        ))
    })
}

/// Sends the request to the model and relays the answer with routelab's headers. An answer
/// that is not a stream is read whole: its `usage` goes to the live latencies and the request
/// log, and with a cache slot a successful one is stored. A stream is relayed as it comes and
/// recorded when it ends (or the client leaves), with the `usage` one of its events carried.
/// The call counts as in flight for its model meanwhile ([`LiveCall`]).
async fn proxy(
    state: &AppState,
    headers: &HeaderMap,
    model: &ModelTarget,
    body: Map<String, Value>,
    decision: &str,
    cache: Option<(&Arc<Policy>, CacheSlot)>,
    mut record: Option<Recording>,
) -> Result<Response, ApiError> {
    state.metrics.model(&model.name);
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let payload = serde_json::to_vec(&Value::Object(body))
        .map_err(|e| ApiError::internal(format!("cannot encode the upstream request: {e}")))?;
    let started = Instant::now();
    let live = LiveCall::begin(&state.stats, &model.name);
    // A request whose upstream failed is still recorded: its decision and model, no status.
    let failed = |record: Option<Recording>, e: ApiError| {
        if let Some(mut r) = record {
            r.record.model = Some(model.name.clone());
            r.finish();
        }
        e
    };
    let upstream_response = match upstream::send(
        &state.client,
        &model.name,
        &model.backends,
        headers,
        Bytes::from(payload),
        &state.metrics,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => return Err(failed(record, e)),
    };
    live.first_byte();
    // An answer that is not a stream is read whole, for its `usage` (latency per token).
    let (mut response, cache_state) = if !stream {
        let buffered =
            match upstream::buffer_response(upstream_response, &model.name, &state.metrics).await {
                Ok(b) => b,
                Err(e) => return Err(failed(record, e)),
            };
        live.finished_body(&buffered.body);
        if let Some(r) = record.as_mut() {
            r.answered(&model.name, buffered.status, started, Some(&buffered.body));
        }
        let cache_state = match cache {
            Some((policy, slot)) => {
                if buffered.status.is_success() {
                    slot.store(policy, buffered.body.clone());
                }
                "miss"
            }
            None => "off",
        };
        (buffered.into_response(), cache_state)
    } else {
        let mut record = record.take();
        if let Some(r) = record.as_mut() {
            r.answered(&model.name, upstream_response.status(), started, None);
        }
        let on_end = Box::new(move |usage: Option<Value>| {
            live.finished(usage.as_ref());
            if let Some(mut r) = record {
                r.usage(usage.as_ref());
                r.finish();
            }
        }) as upstream::OnStreamEnd;
        let metrics = state.metrics.clone();
        (
            upstream::stream_response(upstream_response, model.name.clone(), metrics, Some(on_end)),
            "off",
        )
    };
    if let Some(r) = record {
        r.finish();
    }
    add_headers(&mut response, decision, &model.name, cache_state);
    Ok(response)
}

fn add_headers(response: &mut Response, decision: &str, model: &str, cache: &'static str) {
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(decision) {
        h.insert(DECISION_HEADER, v);
    }
    if let Ok(v) = HeaderValue::from_str(model) {
        h.insert(MODEL_HEADER, v);
    }
    h.insert(CACHE_HEADER, HeaderValue::from_static(cache));
}

/// The answer to a request a block plugin stopped; no upstream is called.
fn block_response(mode: BlockMode, decision: &str, block: &BlockAction, stream: bool) -> Response {
    let plugin_status = StatusCode::from_u16(block.status).unwrap_or(StatusCode::FORBIDDEN);
    let as_error = match mode {
        BlockMode::Plugin => (!plugin_status.is_success()).then_some(plugin_status),
        BlockMode::Completion => None,
        BlockMode::Error => Some(if plugin_status.is_client_error() {
            plugin_status
        } else {
            StatusCode::FORBIDDEN
        }),
    };
    let mut response = match as_error {
        Some(status) => {
            let mut e = ApiError::bad_request(block.message.clone(), None);
            e.status = status;
            e.code = "content_blocked";
            e.into_response()
        }
        None => block_completion(&block.message, stream),
    };
    if let Ok(v) = HeaderValue::from_str(decision) {
        response.headers_mut().insert(DECISION_HEADER, v);
    }
    response
        .headers_mut()
        .insert(CACHE_HEADER, HeaderValue::from_static("off"));
    response
}

/// A `chat.completion` (or, for a stream, one SSE chunk and `[DONE]`) carrying `message`.
fn block_completion(message: &str, stream: bool) -> Response {
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let id = format!("chatcmpl-routelab-block-{created}");
    if stream {
        let chunk = json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": "routelab",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": message},
                         "finish_reason": "content_filter"}]
        });
        let sse = format!("data: {chunk}\n\ndata: [DONE]\n\n");
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            )],
            Body::from(sse),
        )
            .into_response()
    } else {
        Json(json!({
            "id": id, "object": "chat.completion", "created": created, "model": "routelab",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": message},
                         "finish_reason": "content_filter"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        }))
        .into_response()
    }
}

/// Fallback for a known path with the wrong method: 405 in OpenAI's error format.
pub async fn method_not_allowed(request: Request) -> ApiError {
    let mut e = ApiError::route_not_found(request.uri().path());
    e.status = StatusCode::METHOD_NOT_ALLOWED;
    e.message = format!(
        "{} is not allowed on {}",
        request.method(),
        request.uri().path()
    );
    e.code = "method_not_allowed";
    e
}
