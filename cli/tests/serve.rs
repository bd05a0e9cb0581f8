//! Integration tests of `routelab serve`: the built binary on 127.0.0.1:0 in front of loopback
//! echo upstreams, with a rule-only (keyword) config written by each test.

mod serve_support;

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{json, Value};
use serve_support::{chat, closed_port, config, EchoUpstream, Server};

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn post(server: &Server, path: &str, body: &Value) -> reqwest::Response {
    client()
        .post(server.url(path))
        .header("authorization", "Bearer client-key")
        .json(body)
        .send()
        .await
        .unwrap()
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("<absent>")
}

/// Asserts an OpenAI-shaped error with the given status, type and param.
async fn assert_error(
    r: reqwest::Response,
    status: u16,
    kind: &str,
    param: Option<&str>,
) -> String {
    assert_eq!(r.status(), status);
    let body: Value = r.json().await.unwrap();
    let e = &body["error"];
    assert_eq!(e["type"], kind, "{body}");
    assert_eq!(
        e["param"],
        param.map_or(Value::Null, |p| json!(p)),
        "{body}"
    );
    assert!(e["code"].is_string(), "{body}");
    e["message"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn routes_by_prompt_and_rewrites_the_request() {
    let small = EchoUpstream::start("small").await;
    let big = EchoUpstream::start("big").await;
    let server = Server::start(&config(small.addr.port(), big.addr.port(), "small"), &[]).await;

    // No keyword: default model, qwen3 family gets enable_thinking=false, fields pass through.
    let mut body = chat("auto", "hello there");
    body["temperature"] = json!(0.25);
    body["custom_field"] = json!({"nested": [1, 2]});
    let r = post(&server, "/v1/chat/completions", &body).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-routelab-decision"), "default");
    assert_eq!(header(&r, "x-routelab-model"), "small");
    assert_eq!(header(&r, "x-routelab-cache"), "off");
    assert_eq!(header(&r, "x-upstream"), "small");
    let reply: Value = r.json().await.unwrap();
    assert_eq!(reply["choices"][0]["message"]["content"], "hi from small");
    let got = small.last();
    assert_eq!(got.method, "POST");
    assert_eq!(got.path, "/v1/chat/completions");
    assert_eq!(got.headers["authorization"], "Bearer client-key");
    assert_eq!(got.headers["content-type"], "application/json");
    assert_eq!(
        got.body,
        json!({"model": "qwen3-8b-instruct", "messages": [{"role": "user", "content": "hello there"}],
               "temperature": 0.25, "custom_field": {"nested": [1, 2]},
               "chat_template_kwargs": {"enable_thinking": false}})
    );

    // Keyword `prove`: big model, reasoning.effort=high, system prompt inserted before the
    // client's own, the backend's api_key replaces the client's Authorization.
    let body = json!({"model": "auto", "messages": [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "please prove that 2+2=4"}]});
    let r = post(&server, "/v1/chat/completions", &body).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-routelab-decision"), "math_route");
    assert_eq!(header(&r, "x-routelab-model"), "big");
    let got = big.last();
    assert_eq!(got.path, "/v1/chat/completions");
    assert_eq!(got.headers["authorization"], "Bearer big-secret");
    assert_eq!(
        got.body,
        json!({"model": "big", "reasoning": {"effort": "high"}, "messages": [
            {"role": "system", "content": "You are a mathematician.\n\nBe terse."},
            {"role": "user", "content": "please prove that 2+2=4"}]})
    );
    assert_eq!(small.received().len(), 1);

    // Signals read the last user turn, content parts included; no system message -> inserted.
    let body = json!({"model": "auto", "messages": [
        {"role": "user", "content": "prove it"},
        {"role": "assistant", "content": "sure"},
        {"role": "user", "content": [{"type": "text", "text": "an"}, {"type": "text", "text": "integral"}]}]});
    let r = post(&server, "/v1/chat/completions", &body).await;
    assert_eq!(header(&r, "x-routelab-model"), "big");
    let got = big.last();
    assert_eq!(
        got.body["messages"][0],
        json!({"role": "system", "content": "You are a mathematician."})
    );
    assert_eq!(got.body["messages"].as_array().unwrap().len(), 4);
    let body = json!({"model": "auto", "messages": [
        {"role": "user", "content": "prove it"}, {"role": "user", "content": "hello"}]});
    let r = post(&server, "/v1/chat/completions", &body).await;
    assert_eq!(header(&r, "x-routelab-model"), "small");

    // A configured model name passes through without routing or reasoning changes.
    let r = post(
        &server,
        "/v1/chat/completions",
        &chat("big", "prove nothing"),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-routelab-decision"), "passthrough");
    let got = big.last();
    assert_eq!(
        got.body,
        json!({"model": "big", "messages": [{"role": "user", "content": "prove nothing"}]})
    );
    assert_eq!(big.received().len(), 3);
}

#[tokio::test]
async fn passthrough_can_be_turned_off() {
    let small = EchoUpstream::start("small").await;
    let big = EchoUpstream::start("big").await;
    let cfg = config(small.addr.port(), big.addr.port(), "small");
    let server = Server::start(
        &cfg,
        &[
            "--passthrough-models",
            "false",
            "--auto-models",
            "auto,router",
        ],
    )
    .await;
    let r = post(&server, "/v1/chat/completions", &chat("big", "hello")).await;
    assert_eq!(header(&r, "x-routelab-decision"), "default");
    assert_eq!(header(&r, "x-routelab-model"), "small");
    let r = post(
        &server,
        "/v1/chat/completions",
        &chat("router", "an integral"),
    )
    .await;
    assert_eq!(header(&r, "x-routelab-model"), "big");
    let r = post(
        &server,
        "/v1/chat/completions",
        &chat("gpt-unknown", "hello"),
    )
    .await;
    let msg = assert_error(r, 404, "invalid_request_error", Some("model")).await;
    assert!(msg.contains("gpt-unknown"), "{msg}");
}

#[tokio::test]
async fn block_plugin_answers_without_calling_upstream() {
    let small = EchoUpstream::start("small").await;
    let big = EchoUpstream::start("big").await;
    let cfg = config(small.addr.port(), big.addr.port(), "small");

    // Default: as the plugin says (status 403 -> error).
    let server = Server::start(&cfg, &[]).await;
    let r = post(
        &server,
        "/v1/chat/completions",
        &chat("auto", "this is forbidden"),
    )
    .await;
    assert_eq!(header(&r, "x-routelab-decision"), "blocked");
    let msg = assert_error(r, 403, "invalid_request_error", None).await;
    assert_eq!(msg, "This request is not allowed.");
    drop(server);

    // As a completion, also streamed.
    let server = Server::start(&cfg, &["--block-response", "completion"]).await;
    let r = post(
        &server,
        "/v1/chat/completions",
        &chat("auto", "forbidden stuff"),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-routelab-decision"), "blocked");
    let reply: Value = r.json().await.unwrap();
    assert_eq!(reply["object"], "chat.completion");
    assert_eq!(
        reply["choices"][0]["message"]["content"],
        "This request is not allowed."
    );
    assert_eq!(reply["choices"][0]["finish_reason"], "content_filter");
    let mut body = chat("auto", "forbidden stuff");
    body["stream"] = json!(true);
    let r = post(&server, "/v1/chat/completions", &body).await;
    assert_eq!(header(&r, "content-type"), "text/event-stream");
    let text = r.text().await.unwrap();
    assert!(text.starts_with("data: {"), "{text}");
    assert!(text.contains("This request is not allowed."), "{text}");
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    assert!(small.received().is_empty() && big.received().is_empty());
}

#[tokio::test]
async fn streams_chunk_by_chunk() {
    let small = EchoUpstream::start("small").await;
    let big = EchoUpstream::start("big").await;
    let server = Server::start(&config(small.addr.port(), big.addr.port(), "small"), &[]).await;
    let mut body = chat("auto", "prove a stream");
    body["stream"] = json!(true);
    let r = client()
        .post(server.url("/v1/chat/completions"))
        .header("x-test-chunks", "4")
        .header("x-test-delay-ms", "150")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), "text/event-stream");
    assert_eq!(header(&r, "x-routelab-model"), "big");
    let mut stream = r.bytes_stream();
    let first = stream.next().await.unwrap().unwrap();
    let first_seen = Instant::now();
    assert!(
        String::from_utf8_lossy(&first).contains("\"c0\""),
        "{first:?}"
    );
    let mut all = first.to_vec();
    while let Some(chunk) = stream.next().await {
        all.extend_from_slice(&chunk.unwrap());
    }
    let last_sent = big.last_chunk_sent().expect("upstream sent its last chunk");
    assert!(
        first_seen < last_sent,
        "the first chunk arrived only after the upstream sent the last one"
    );
    let text = String::from_utf8(all).unwrap();
    let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(events.len(), 5, "{text}");
    for (i, e) in events[..4].iter().enumerate() {
        assert!(e.contains(&format!("\"c{i}\"")), "{e}");
    }
    assert_eq!(events[4], "data: [DONE]");
    assert_eq!(big.last().body["stream"], true);
}

#[tokio::test]
async fn bad_requests_get_openai_errors() {
    let small = EchoUpstream::start("small").await;
    let big = EchoUpstream::start("big").await;
    let cfg = config(small.addr.port(), big.addr.port(), "small");
    let server = Server::start(&cfg, &["--max-body-bytes", "2000"]).await;
    let url = server.url("/v1/chat/completions");
    let raw = |body: Vec<u8>| {
        client()
            .post(url.clone())
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let msg = assert_error(
        raw(b"{\"messages\": [".to_vec()).await.unwrap(),
        400,
        "invalid_request_error",
        None,
    )
    .await;
    assert!(msg.contains("not valid JSON"), "{msg}");
    let msg = assert_error(
        raw(b"{\"messages\":[{\"role\":\"user\",\"content\":\"caf\xe9\"}]}".to_vec())
            .await
            .unwrap(),
        400,
        "invalid_request_error",
        None,
    )
    .await;
    assert!(msg.contains("UTF-8"), "{msg}");
    let r = post(
        &server,
        "/v1/chat/completions",
        &json!({"model": "auto", "messages": []}),
    )
    .await;
    assert_error(r, 400, "invalid_request_error", Some("messages")).await;
    let r = post(
        &server,
        "/v1/chat/completions",
        &json!({"model": "auto", "messages": "hi"}),
    )
    .await;
    assert_error(r, 400, "invalid_request_error", Some("messages")).await;
    let r = post(
        &server,
        "/v1/chat/completions",
        &json!({"model": 7, "messages": [{"role": "user", "content": "x"}]}),
    )
    .await;
    assert_error(r, 400, "invalid_request_error", Some("model")).await;
    let r = post(
        &server,
        "/v1/chat/completions",
        &json!({"messages": [{"role": "user", "content": {"a": 1}}]}),
    )
    .await;
    assert_error(r, 400, "invalid_request_error", Some("messages[0].content")).await;
    let big_prompt = "x".repeat(3000);
    let r = post(&server, "/v1/chat/completions", &chat("auto", &big_prompt)).await;
    assert_error(r, 413, "invalid_request_error", None).await;
    // Oversized without a Content-Length (chunked upload).
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..30).map(|_| Ok(vec![b' '; 100])).collect();
    let r = client()
        .post(url.clone())
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_error(r, 413, "invalid_request_error", None).await;
    let r = post(
        &server,
        "/v1/chat/completions",
        &chat("no-such-model", "hi"),
    )
    .await;
    assert_error(r, 404, "invalid_request_error", Some("model")).await;
    let r = client()
        .get(server.url("/v1/nothing"))
        .send()
        .await
        .unwrap();
    assert_error(r, 404, "invalid_request_error", None).await;
    let r = client().get(url.clone()).send().await.unwrap();
    assert_error(r, 405, "invalid_request_error", None).await;
    assert!(small.received().is_empty() && big.received().is_empty());
}

#[tokio::test]
async fn upstream_failures_are_502_and_504() {
    let small = EchoUpstream::start("small").await;
    let dead = closed_port();
    let cfg = config(small.addr.port(), dead, "small");
    let server = Server::start(&cfg, &["--upstream-timeout-ms", "400"]).await;
    let r = post(&server, "/v1/chat/completions", &chat("auto", "prove it")).await;
    let msg = assert_error(r, 502, "upstream_error", None).await;
    assert!(
        msg.contains("`big`") && msg.contains(&dead.to_string()),
        "{msg}"
    );
    let r = client()
        .post(server.url("/v1/chat/completions"))
        .header("x-test-sleep-ms", "2000")
        .json(&chat("auto", "hello"))
        .send()
        .await
        .unwrap();
    let msg = assert_error(r, 504, "upstream_error", None).await;
    assert!(msg.contains("timed out"), "{msg}");
    // An upstream error status is relayed as is.
    let r = client()
        .post(server.url("/v1/chat/completions"))
        .header("x-test-status", "429")
        .json(&chat("auto", "hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(header(&r, "x-routelab-model"), "small");
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("routelab_upstream_errors_total{model=\"big\",kind=\"connect\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("routelab_upstream_errors_total{model=\"small\",kind=\"timeout\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("routelab_upstream_errors_total{model=\"small\",kind=\"status\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "routelab_http_requests_total{endpoint=\"/v1/chat/completions\",status=\"502\"} 1\n"
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn route_models_health_and_metrics_endpoints() {
    let small = EchoUpstream::start("small").await;
    let big = EchoUpstream::start("big").await;
    let server = Server::start(&config(small.addr.port(), big.addr.port(), "small"), &[]).await;

    let r = post(
        &server,
        "/v1/route",
        &json!({"prompt": "compute this integral"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let outcome: Value = r.json().await.unwrap();
    assert_eq!(outcome["decision"], "math_route");
    assert_eq!(outcome["model"], "big");
    assert_eq!(outcome["use_reasoning"], true);
    assert_eq!(outcome["reasoning_effort"], "high");
    assert_eq!(outcome["signals"][0]["kind"], "keyword");
    assert_eq!(outcome["signals"][0]["name"], "math");
    let trace = outcome["trace"].as_array().unwrap();
    assert_eq!(trace.len(), 2);
    let r = post(&server, "/v1/route", &chat("auto", "hello")).await;
    let outcome: Value = r.json().await.unwrap();
    assert_eq!(outcome["decision"], Value::Null);
    assert_eq!(outcome["model"], "small");
    assert!(small.received().is_empty() && big.received().is_empty());

    let models: Value = reqwest::get(server.url("/v1/models"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["auto", "small", "big"]);
    assert_eq!(models["object"], "list");

    let r = reqwest::get(server.url("/healthz")).await.unwrap();
    assert_eq!(r.status(), 200);
    let r = reqwest::get(server.url("/readyz")).await.unwrap();
    assert_eq!(r.status(), 200);

    post(&server, "/v1/chat/completions", &chat("auto", "hello")).await;
    post(
        &server,
        "/v1/chat/completions",
        &chat("auto", "hello again"),
    )
    .await;
    post(
        &server,
        "/v1/chat/completions",
        &chat("auto", "an integral"),
    )
    .await;
    post(&server, "/v1/chat/completions", &chat("small", "hi")).await;
    let r = reqwest::get(server.url("/metrics")).await.unwrap();
    assert!(header(&r, "content-type").starts_with("text/plain; version=0.0.4"));
    let m = r.text().await.unwrap();
    for line in [
        "routelab_http_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"} 4\n",
        "routelab_http_requests_total{endpoint=\"/v1/route\",status=\"200\"} 2\n",
        "routelab_decisions_total{decision=\"default\"} 3\n",
        "routelab_decisions_total{decision=\"math_route\"} 2\n",
        "routelab_decisions_total{decision=\"passthrough\"} 1\n",
        "routelab_model_requests_total{model=\"big\"} 1\n",
        "routelab_model_requests_total{model=\"small\"} 3\n",
        "routelab_router_latency_seconds_count 5\n",
        "routelab_upstream_latency_seconds_count 4\n",
        "routelab_config_reloads_total{result=\"ok\"} 1\n",
        "# TYPE routelab_router_latency_seconds histogram\n",
        "routelab_router_latency_seconds_bucket{le=\"+Inf\"} 5\n",
    ] {
        assert!(m.contains(line), "missing {line:?} in\n{m}");
    }
}

/// Replaces `path`'s contents at once (write a sibling, rename), as editors save: a plain
/// `fs::write` truncates first, and the watcher may read the empty or half-written file.
fn replace_file(path: &std::path::Path, text: &str) {
    let tmp = path.with_extension("yaml.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[tokio::test]
async fn reloads_on_file_change_and_keeps_the_old_config_when_invalid() {
    let small = EchoUpstream::start("small").await;
    let big = EchoUpstream::start("big").await;
    let (sp, bp) = (small.addr.port(), big.addr.port());
    let server = Server::start(&config(sp, bp, "small"), &["--reload-poll-ms", "50"]).await;
    let route_model = || async {
        let r = post(&server, "/v1/route", &json!({"prompt": "hello"})).await;
        let v: Value = r.json().await.unwrap();
        v["model"].as_str().unwrap().to_string()
    };
    assert_eq!(route_model().await, "small");

    // A request in flight during the reload finishes with the config it started with.
    let in_flight = tokio::spawn(
        client()
            .post(server.url("/v1/chat/completions"))
            .header("x-test-sleep-ms", "500")
            .json(&chat("auto", "hello"))
            .send(),
    );
    while small.received().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    replace_file(&server.config, &config(sp, bp, "big"));
    let deadline = Instant::now() + Duration::from_secs(5);
    while route_model().await != "big" {
        assert!(
            Instant::now() < deadline,
            "the changed config was not picked up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let r = in_flight.await.unwrap().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-routelab-model"), "small");
    assert_eq!(r.json::<Value>().await.unwrap()["upstream"], "small");
    let r = post(&server, "/v1/chat/completions", &chat("auto", "hello")).await;
    assert_eq!(header(&r, "x-routelab-model"), "big");

    // Invalid: unknown default model, then broken YAML. Both rejected; `big` keeps serving.
    replace_file(&server.config, &config(sp, bp, "missing-model"));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server
        .metrics()
        .await
        .contains("routelab_config_reloads_total{result=\"error\"} 1\n")
    {
        assert!(
            Instant::now() < deadline,
            "the invalid config was not noticed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    replace_file(&server.config, "routing: [unclosed");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server
        .metrics()
        .await
        .contains("routelab_config_reloads_total{result=\"error\"} 2\n")
    {
        assert!(
            Instant::now() < deadline,
            "the broken config was not noticed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(route_model().await, "big");
    let r = post(&server, "/v1/chat/completions", &chat("auto", "hello")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-routelab-model"), "big");
    assert_eq!(
        reqwest::get(server.url("/readyz")).await.unwrap().status(),
        200
    );

    // SIGHUP reloads too (back to `small` after the file is fixed).
    let server2 = Server::start(&config(sp, bp, "small"), &["--reload-poll-ms", "0"]).await;
    std::fs::write(&server2.config, config(sp, bp, "big")).unwrap();
    server2.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let v: Value = post(&server2, "/v1/route", &json!({"prompt": "hello"}))
            .await
            .json()
            .await
            .unwrap();
        if v["model"] == "big" {
            break;
        }
        assert!(Instant::now() < deadline, "SIGHUP did not reload");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn concurrency_limit_answers_429() {
    let small = EchoUpstream::start("small").await;
    let big = EchoUpstream::start("big").await;
    let cfg = config(small.addr.port(), big.addr.port(), "small");
    let server = Server::start(&cfg, &["--max-concurrency", "2"]).await;
    let slow = || {
        client()
            .post(server.url("/v1/chat/completions"))
            .header("x-test-sleep-ms", "600")
            .json(&chat("auto", "hello"))
            .send()
    };
    let (a, b) = (tokio::spawn(slow()), tokio::spawn(slow()));
    // Wait until both hold their permits (the upstream has seen both).
    let deadline = Instant::now() + Duration::from_secs(5);
    while small.received().len() < 2 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let r = post(&server, "/v1/chat/completions", &chat("auto", "hello")).await;
    let msg = assert_error(r, 429, "rate_limit_error", None).await;
    assert!(msg.contains('2'), "{msg}");
    // Health and metrics are not limited.
    assert_eq!(
        reqwest::get(server.url("/healthz")).await.unwrap().status(),
        200
    );
    assert!(server
        .metrics()
        .await
        .contains("routelab_in_flight_requests 2\n"));
    assert_eq!(a.await.unwrap().unwrap().status(), 200);
    assert_eq!(b.await.unwrap().unwrap().status(), 200);
    let r = post(&server, "/v1/chat/completions", &chat("auto", "hello")).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn graceful_shutdown_finishes_streams_in_flight() {
    let small = EchoUpstream::start("small").await;
    let big = EchoUpstream::start("big").await;
    let mut server = Server::start(&config(small.addr.port(), big.addr.port(), "small"), &[]).await;
    let mut body = chat("auto", "hello");
    body["stream"] = json!(true);
    let r = client()
        .post(server.url("/v1/chat/completions"))
        .header("x-test-chunks", "3")
        .header("x-test-delay-ms", "200")
        .json(&body)
        .send()
        .await
        .unwrap();
    let mut stream = r.bytes_stream();
    let mut text = String::from_utf8(stream.next().await.unwrap().unwrap().to_vec()).unwrap();
    server.signal("TERM");
    while let Some(chunk) = stream.next().await {
        text.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
    }
    assert!(
        text.contains("\"c2\"") && text.ends_with("data: [DONE]\n\n"),
        "{text}"
    );
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn invalid_config_at_start_up_exits_with_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, config(1, 2, "nowhere")).unwrap();
    let mut server = Server::spawn(&path, &[]);
    let status = server.child.wait().unwrap();
    assert!(!status.success());
    let mut err = String::new();
    std::io::Read::read_to_string(server.child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(err.contains("nowhere"), "{err}");
}

/// The all-MiniLM-L6-v2 directory the cache test embeds with.
fn minilm_dir() -> std::path::PathBuf {
    let dir = router_core::paths::default_model_dir();
    assert!(
        dir.join("model.safetensors").is_file(),
        "all-MiniLM-L6-v2 not found at {} (set ROUTELAB_MODEL_DIR or run scripts/fetch-model.sh)",
        dir.display()
    );
    dir
}

#[tokio::test]
async fn semantic_cache_answers_similar_prompts() {
    let small = EchoUpstream::start("small").await;
    let big = EchoUpstream::start("big").await;
    // Append a cache plugin to math_route's plugin list, and the embedding model.
    let cfg = format!(
        "{}        - type: semantic_cache\n          configuration: {{similarity_threshold: 0.9, ttl_seconds: 600}}\nglobal:\n  model_catalog:\n    embeddings:\n      semantic:\n        bert_model_path: {}\n",
        config(small.addr.port(), big.addr.port(), "small"),
        minilm_dir().display()
    );
    let server = Server::start(&cfg, &[]).await;

    let first = post(
        &server,
        "/v1/chat/completions",
        &chat("auto", "Prove that the square root of two is irrational"),
    )
    .await;
    assert_eq!(first.status(), 200);
    assert_eq!(header(&first, "x-routelab-cache"), "miss");
    let first_body = first.bytes().await.unwrap();
    assert_eq!(big.received().len(), 1);

    for prompt in [
        "Prove that the square root of two is irrational",
        "prove that the square root of 2 is irrational",
    ] {
        let r = post(&server, "/v1/chat/completions", &chat("auto", prompt)).await;
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "x-routelab-cache"), "hit", "{prompt}");
        assert_eq!(header(&r, "x-routelab-decision"), "math_route");
        assert_eq!(header(&r, "x-routelab-model"), "big");
        assert_eq!(r.bytes().await.unwrap(), first_body);
    }
    assert_eq!(big.received().len(), 1, "a hit must not call the upstream");

    let r = post(
        &server,
        "/v1/chat/completions",
        &chat("auto", "prove there are infinitely many primes"),
    )
    .await;
    assert_eq!(header(&r, "x-routelab-cache"), "miss");
    assert_eq!(big.received().len(), 2);

    // Streams and other decisions do not use the cache.
    let mut body = chat("auto", "Prove that the square root of two is irrational");
    body["stream"] = json!(true);
    let r = post(&server, "/v1/chat/completions", &body).await;
    assert_eq!(header(&r, "x-routelab-cache"), "off");
    r.bytes().await.unwrap();
    assert_eq!(big.received().len(), 3);
    let r = post(&server, "/v1/chat/completions", &chat("auto", "hello")).await;
    assert_eq!(header(&r, "x-routelab-cache"), "off");

    let m = server.metrics().await;
    assert!(
        m.contains("routelab_cache_lookups_total{result=\"hit\"} 2\n"),
        "{m}"
    );
    assert!(
        m.contains("routelab_cache_lookups_total{result=\"miss\"} 2\n"),
        "{m}"
    );
}

/// The same conversations, posted to `serve`'s `/v1/route` and replayed from a request log's
/// `messages` column, reach the same decision: both go through router-core's one parser
/// (`router_core::request::parse_conversation`) and one router. Bodies cover content parts
/// (typed and untyped text, images, audio), `null` content, tool definitions, legacy
/// `functions`, assistant tool calls and tool results.
#[tokio::test]
async fn serve_and_replay_route_the_same_conversations() {
    use eval::log_schema::{LogRow, ModelField, ModelOutcome};
    use eval::replay::{replay, LogModels, Policy, ReplayOptions};
    use router_core::inference::ModelRegistry;

    let small = EchoUpstream::start("small").await;
    let big = EchoUpstream::start("big").await;
    let cfg = config(small.addr.port(), big.addr.port(), "small");
    let server = Server::start(&cfg, &[]).await;
    let image = json!({"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}});
    let bodies = [
        // Content parts: text joined, image counted.
        json!({"messages": [{"role": "user", "content": [
            {"type": "text", "text": "please"}, image, {"type": "text", "text": "prove it"}]}]}),
        // The last user turn with text is the current one; tool traffic after it.
        json!({"tools": [{"type": "function", "function": {"name": "calc", "description": "math"}}],
               "messages": [
            {"role": "user", "content": "compute the integral"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "calc", "arguments": "{\"x\":1}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "forbidden"},
            {"role": "user", "content": [image]}]}),
        // A blocked keyword in the second text part.
        json!({"messages": [{"role": "user", "content": [
            {"type": "text", "text": "hello"}, {"type": "text", "text": "forbidden words"}]}]}),
        // Untyped text part, legacy functions, an audio part.
        json!({"functions": [{"name": "f"}], "messages": [{"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"text": "an integral"}, {"type": "input_audio", "input_audio": {}}]}]}),
        // No keyword anywhere: the default model.
        json!({"messages": [{"role": "user", "content": "hello"}, {"role": "assistant", "content": null}]}),
    ];
    let mut served = Vec::new();
    for body in &bodies {
        let r = post(&server, "/v1/route", body).await;
        assert_eq!(r.status(), 200, "{body}");
        let outcome: Value = r.json().await.unwrap();
        served.push(outcome["decision"].as_str().map(str::to_string));
    }
    assert_eq!(
        served,
        [
            Some("math_route"),
            Some("math_route"),
            Some("blocked"),
            Some("math_route"),
            None
        ]
        .map(|d| d.map(str::to_string))
    );

    let tmp = tempfile::tempdir().unwrap();
    let cfg_path = tmp.path().join("config.yaml");
    std::fs::write(&cfg_path, &cfg).unwrap();
    let log_path = tmp.path().join("log.parquet");
    let models = ["small".to_string(), "big".to_string()];
    let mut writer = eval::log_writer::RequestLogWriter::create(
        &log_path,
        &models,
        &[ModelField::Quality],
        true,
    )
    .unwrap();
    for (i, body) in bodies.iter().enumerate() {
        let outcome = ModelOutcome {
            quality: Some(1.0),
            ..Default::default()
        };
        writer
            .push(LogRow {
                request_id: format!("r{i}"),
                messages: Some(body.to_string()),
                outcomes: vec![outcome.clone(), outcome],
                ..Default::default()
            })
            .unwrap();
    }
    writer.finish().unwrap();
    let log_models = LogModels::of(&log_path).unwrap();
    let registry = ModelRegistry::default();
    let policy = Policy::load(
        &cfg_path,
        &[],
        &registry,
        &log_models,
        &log_path,
        false,
        None,
    )
    .unwrap();
    let mut replayed = vec![None; bodies.len()];
    replay(
        &log_path,
        &[&policy],
        &ReplayOptions::default(),
        &mut |i, _, routed| {
            replayed[i as usize] = Some(routed[0].target.decision.map(str::to_string));
            Ok(())
        },
    )
    .unwrap();
    let replayed: Vec<Option<String>> = replayed.into_iter().map(Option::unwrap).collect();
    assert_eq!(replayed, served);
}

/// Trains a tiny domain classifier (`math` / `code`) from a random tiny base with `seed` and
/// exports it into `out`, replacing what is there (as a user re-running `routelab train` does).
fn train_tiny_classifier(work: &std::path::Path, out: &std::path::Path, seed: u64) {
    use train::config::TrainConfig;
    use train::pipeline::{run, RunResult};
    use train::trainer::RunOptions;
    let words = ["integral", "algebra", "python", "compile", "please", "the"];
    let base = work.join(format!("base-{seed}"));
    train::synthetic::write_base_model(&base, &words, 32, 2, seed).unwrap();
    let data = work.join("train.jsonl");
    let rows: Vec<String> = (0..8)
        .map(|i| {
            let (text, label) = if i % 2 == 0 {
                (words[i % 4 / 2], "math")
            } else {
                (words[2 + i % 4 / 2], "code")
            };
            json!({"text": format!("please {text}"), "label": label}).to_string()
        })
        .collect();
    std::fs::write(&data, rows.join("\n")).unwrap();
    let cfg = TrainConfig {
        base_model: base,
        train_file: data,
        output_dir: out.to_path_buf(),
        checkpoint_dir: Some(work.join(format!("ckpt-{seed}"))),
        max_length: 16,
        batch_size: 4,
        epochs: 1,
        seed,
        ..TrainConfig::default()
    };
    let RunResult::Exported(_) = run(&cfg, &RunOptions::default()).unwrap() else {
        panic!("training paused")
    };
}

/// `math`'s probability for "please integral", as the served domain signal reports it.
async fn served_probability(server: &Server) -> f64 {
    let r = post(server, "/v1/route", &json!({"prompt": "please integral"})).await;
    assert_eq!(r.status(), 200);
    let outcome: Value = r.json().await.unwrap();
    let signals = outcome["signals"].as_array().unwrap();
    let domain = signals.iter().find(|s| s["kind"] == "domain").unwrap();
    let p = domain["confidence"].as_f64().unwrap();
    if domain["name"] == "math" {
        p
    } else {
        1.0 - p
    }
}

/// Models are keyed by content: re-exporting a different model into the directory a config
/// names, then SIGHUP, serves the new model's probabilities (a registry keyed by path kept the
/// old weights).
#[tokio::test]
async fn sighup_after_a_re_export_serves_the_new_model() {
    let work = tempfile::tempdir().unwrap();
    let model_dir = work.path().join("domain-model");
    train_tiny_classifier(work.path(), &model_dir, 1);
    let cfg = format!(
        r#"
providers:
  defaults: {{default_model: small}}
  models: [{{name: small}}, {{name: big}}]
routing:
  signals:
    domains:
      - {{name: math, mmlu_categories: [math]}}
      - {{name: code, mmlu_categories: [code]}}
  decisions:
    - name: math_route
      priority: 10
      rules: {{operator: OR, conditions: [{{type: domain, name: math}}]}}
      modelRefs: [{{model: big}}]
    - name: code_route
      priority: 10
      rules: {{operator: OR, conditions: [{{type: domain, name: code}}]}}
      modelRefs: [{{model: small}}]
global:
  model_catalog:
    system: {{domain_classifier: "{}"}}
    modules: {{classifier: {{domain: {{threshold: 0.0}}}}}}
"#,
        model_dir.display()
    );
    let server = Server::start(&cfg, &["--reload-poll-ms", "0"]).await;
    let before = served_probability(&server).await;

    train_tiny_classifier(work.path(), &model_dir, 2);
    server.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !server
        .metrics()
        .await
        .contains("routelab_config_reloads_total{result=\"ok\"} 2\n")
    {
        assert!(Instant::now() < deadline, "SIGHUP did not reload");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let after = served_probability(&server).await;
    assert!(
        (after - before).abs() > 1e-4,
        "the reload kept the old weights: p(math) {before} -> {after}"
    );
}

/// `--request-log DIR` records what serve routed as rotated request-log/v2 files; the folder
/// replays through the same router to the same decisions, with the upstream's usage and the
/// served model in the files. Hashed prompts make a log that replay refuses, naming why.
#[tokio::test]
async fn served_traffic_is_recorded_and_replays() {
    use eval::replay::{replay, LogModels, Policy, ReplayOptions};
    use router_core::inference::ModelRegistry;

    let small = EchoUpstream::start("small").await;
    let big = EchoUpstream::start("big").await;
    let cfg = config(small.addr.port(), big.addr.port(), "small");
    let logs = tempfile::tempdir().unwrap();
    let dir = logs.path().join("served");
    let dir_arg = dir.display().to_string();
    let mut server = Server::start(
        &cfg,
        &["--request-log", &dir_arg, "--request-log-rows", "2"],
    )
    .await;
    let bodies = [
        json!({"model": "auto", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "prove"}, {"type": "image_url", "image_url": {"url": "x"}}]}]}),
        json!({"model": "auto", "messages": [{"role": "user", "content": "hello"}],
               "tools": [{"type": "function", "function": {"name": "f"}}]}),
        json!({"model": "auto", "messages": [{"role": "user", "content": "forbidden"}]}),
        json!({"model": "auto", "stream": true, "stream_options": {"include_usage": true},
               "messages": [{"role": "user", "content": "an integral"}]}),
        json!({"model": "auto", "messages": [{"role": "user", "content": "hi"}]}),
    ];
    let mut served = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        let r = client()
            .post(server.url("/v1/chat/completions"))
            .header("x-request-id", format!("req-{i}"))
            .json(body)
            .send()
            .await
            .unwrap();
        let decision = header(&r, "x-routelab-decision").to_string();
        let model = header(&r, "x-routelab-model").to_string();
        let _ = r.bytes().await.unwrap();
        served.push((decision, model));
    }
    server.signal("TERM");
    assert!(server.child.wait().unwrap().success());

    // Five rows, two per file: three finished files, no temporary file left.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names
        .iter()
        .all(|n| n.starts_with("requests-") && n.ends_with(".parquet")));
    let mut log = eval::log_reader::RequestLog::open(&dir, 1024).unwrap();
    assert_eq!(log.num_rows(), 5);
    assert_eq!(log.models(), ["small", "big"]);
    let rows: Vec<_> = log.by_ref().flat_map(|b| b.unwrap()).collect();
    let ids: Vec<&str> = rows.iter().map(|r| r.request_id.as_str()).collect();
    assert_eq!(ids, ["req-0", "req-1", "req-2", "req-3", "req-4"]);
    // The served model's usage (the echo reports 11 + 3 tokens) and latency; quality unscored.
    let big_at = 1;
    assert_eq!(rows[0].outcomes[big_at].input_tokens, Some(11));
    assert_eq!(rows[0].outcomes[big_at].output_tokens, Some(3));
    assert!(rows[0].outcomes[big_at].latency_ms.is_some());
    assert_eq!(rows[0].outcomes[0], Default::default());
    assert!(rows
        .iter()
        .all(|r| r.outcomes.iter().all(|o| o.quality.is_none())));
    // The blocked request went to no model; the stream's usage came in its last event.
    assert!(rows[2].outcomes.iter().all(|o| *o == Default::default()));
    assert_eq!(rows[3].outcomes[big_at].input_tokens, Some(7));
    assert_eq!(rows[3].outcomes[big_at].output_tokens, Some(3));
    assert!(rows[3].outcomes[big_at].latency_ms.is_some());

    let cfg_path = logs.path().join("config.yaml");
    std::fs::write(&cfg_path, &cfg).unwrap();
    let log_models = LogModels::of(&dir).unwrap();
    let registry = ModelRegistry::default();
    let policy = Policy::load(&cfg_path, &[], &registry, &log_models, &dir, true, None).unwrap();
    let mut replayed = Vec::new();
    replay(
        &dir,
        &[&policy],
        &ReplayOptions::default(),
        &mut |_, _, routed| {
            let t = &routed[0].target;
            replayed.push((
                t.decision.unwrap_or("default").to_string(),
                t.model.to_string(),
            ));
            Ok(())
        },
    )
    .unwrap();
    // Blocked requests carry no model header; compare decisions everywhere, models elsewhere.
    for (i, ((sd, sm), (rd, rm))) in served.iter().zip(&replayed).enumerate() {
        assert_eq!(sd, rd, "request {i}");
        if i != 2 {
            assert_eq!(sm, rm, "request {i}");
        }
    }
    assert_eq!(served[2].0, "blocked");

    // `routelab eval -l DIR` reports the unscored folder: decisions, calls per model, cost.
    let out = logs.path().join("report");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_routelab"))
        .args([
            "--log-level",
            "warn",
            "eval",
            "--no-progress",
            "--name",
            "served",
            "-c",
        ])
        .arg(&cfg_path)
        .arg("-l")
        .arg(&dir)
        .arg("--out")
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["requests"], 5);
    assert_eq!(report["policy"]["unscored"], 5);
    assert_eq!(report["blocked"], 1);
    let decisions: Vec<&str> = report["per_decision"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert!(
        decisions.contains(&"math_route") && decisions.contains(&"blocked"),
        "{decisions:?}"
    );

    // Hashed prompts: counted, joinable, but replay refuses the log and says why.
    let hashed = logs.path().join("hashed");
    let hashed_arg = hashed.display().to_string();
    let mut server = Server::start(
        &cfg,
        &[
            "--request-log",
            &hashed_arg,
            "--request-log-prompts",
            "hash",
        ],
    )
    .await;
    let r = post(&server, "/v1/chat/completions", &chat("auto", "hello")).await;
    assert_eq!(r.status(), 200);
    server.signal("TERM");
    assert!(server.child.wait().unwrap().success());
    let err = match LogModels::of(&hashed) {
        Ok(_) => panic!("a log without prompts was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("recorded without prompts"), "{err}");
}

/// A multi-recipe config (`configs/recipes-example`): the requested model selects the recipe
/// (the seed's `RecipeForRoutingModel`), whose own signals decide; the answer names it.
#[tokio::test]
async fn entrypoints_select_the_recipe() {
    let upstream = EchoUpstream::start("any").await;
    let cfg = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../configs/recipes-example/config.yaml"),
    )
    .unwrap();
    let base = format!("http://{}/v1", upstream.addr);
    let server = Server::start(&cfg, &["--upstream", &base]).await;
    let cases = [
        (
            "acme/balanced",
            "prove that 2+2=4",
            "balanced",
            "hard_or_long",
            "large-model",
        ),
        (
            "acme/general",
            "hello",
            "balanced",
            "everything_else",
            "small-model",
        ),
        (
            "acme/private",
            "my ssn is 123",
            "private",
            "sensitive_local",
            "private-model",
        ),
        // `prove` is a keyword of the other recipe: no decision here, the default model.
        (
            "acme/private",
            "prove that 2+2=4",
            "private",
            "default",
            "small-model",
        ),
    ];
    for (model, prompt, recipe, decision, routed) in cases {
        let r = post(&server, "/v1/chat/completions", &chat(model, prompt)).await;
        assert_eq!(r.status(), 200, "{model} {prompt}");
        assert_eq!(header(&r, "x-routelab-recipe"), recipe, "{model} {prompt}");
        assert_eq!(
            header(&r, "x-routelab-decision"),
            decision,
            "{model} {prompt}"
        );
        assert_eq!(header(&r, "x-routelab-model"), routed, "{model} {prompt}");
    }
    // A configured model passes through, untouched by any recipe.
    let r = post(
        &server,
        "/v1/chat/completions",
        &chat("large-model", "hello"),
    )
    .await;
    assert_eq!(header(&r, "x-routelab-decision"), "passthrough");
    assert_eq!(header(&r, "x-routelab-recipe"), "<absent>");
    let r = post(
        &server,
        "/v1/route",
        &json!({"model": "acme/private", "prompt": "my salary"}),
    )
    .await;
    let out: Value = r.json().await.unwrap();
    assert_eq!(
        (out["recipe"].as_str(), out["decision"].as_str()),
        (Some("private"), Some("sensitive_local"))
    );
}
