//! Tarantool down, killed, restarted or stalled: quick 503s, no hangs,
//! recovery without a gateway restart, and no lost or ghost writes.

use std::time::{Duration, Instant};

use reqwest::{Method, Response};
use serde_json::json;

use crate::helpers::{assert_json, json_of, spawn_app_with, test_settings, TestApp, TestTarantool};

/// Asserts a 503 "not applied" with `Retry-After` that came back within `within`.
async fn assert_quick_503(within: Duration, request: impl std::future::Future<Output = Response>) {
    let started = Instant::now();
    let response = request.await;
    let took = started.elapsed();
    assert!(took < within, "503 took {took:?}, more than {within:?}");
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned())
            .as_deref(),
        Some("1")
    );
    if response.url().path() == "/ready" {
        assert_eq!(response.status(), 503);
        let body = json_of(response).await;
        assert_eq!(body["error"], "storage unavailable");
        assert!(body["detail"].as_str().is_some(), "{body}");
        return;
    }
    assert_json(
        response,
        503,
        json!({"error": "storage unavailable", "code": "not_applied"}),
    )
    .await;
}

async fn assert_all_present(app: &TestApp, keys: &[String]) {
    for (i, key) in keys.iter().enumerate() {
        assert_json(app.get(key).await, 200, json!({"value": {"i": i}})).await;
    }
}

#[tokio::test]
async fn the_gateway_starts_before_tarantool_and_serves_once_it_is_up() {
    let mut tarantool = TestTarantool::prepare(&[]);
    let app = spawn_app_with(test_settings(&tarantool.address())).await;
    assert_quick_503(Duration::from_millis(500), app.get("early")).await;
    assert_quick_503(Duration::from_millis(500), app.create("early", &json!({}))).await;
    tarantool.restart();
    let up = Instant::now();
    app.wait_ready(Duration::from_secs(5)).await;
    assert!(
        up.elapsed() < Duration::from_secs(2),
        "reconnecting took {:?}",
        up.elapsed()
    );
    // The write refused while Tarantool was down was never applied.
    assert_json(
        app.get("early").await,
        404,
        json!({"error": "key not found"}),
    )
    .await;
}

#[tokio::test]
async fn a_killed_tarantool_gives_quick_503s_and_the_gateway_recovers_with_every_acknowledged_write(
) {
    let mut tarantool = TestTarantool::start();
    let app = spawn_app_with(test_settings(&tarantool.address())).await;
    app.wait_ready(Duration::from_secs(5)).await;
    let keys: Vec<String> = (0..20).map(|i| app.key(&format!("acked-{i}"))).collect();
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(app.create(key, &json!({"i": i})).await.status(), 200);
    }

    tarantool.kill();
    // A request racing the kill may have been written to the dying socket
    // (outcome unknown); once the gateway has seen the connection go, every
    // refusal is quick and means "not applied".
    app.wait_not_ready(Duration::from_secs(2)).await;
    let refused = app.key("refused-while-down");
    assert_quick_503(Duration::from_millis(500), app.get(&keys[0])).await;
    assert_quick_503(Duration::from_millis(500), app.create(&refused, &json!({}))).await;
    assert_quick_503(
        Duration::from_millis(500),
        app.update(&keys[0], &json!({"i": -1})),
    )
    .await;
    assert_quick_503(Duration::from_millis(500), app.delete(&keys[1])).await;
    assert_quick_503(
        Duration::from_millis(500),
        app.request(Method::GET, "/ready", None),
    )
    .await;

    tarantool.restart();
    let up = Instant::now();
    app.wait_ready(Duration::from_secs(5)).await;
    assert!(
        up.elapsed() < Duration::from_secs(2),
        "reconnecting took {:?}",
        up.elapsed()
    );
    assert_all_present(&app, &keys).await;
    assert_json(
        app.get(&refused).await,
        404,
        json!({"error": "key not found"}),
    )
    .await;
}

#[tokio::test]
async fn writes_refused_while_reconnecting_are_not_applied_when_tarantool_is_back() {
    let mut tarantool = TestTarantool::start();
    let mut settings = test_settings(&tarantool.address());
    // A long pause between attempts: the client would queue calls made
    // during it and send them after reconnecting, if we let it.
    settings.tarantool.reconnect_interval_ms = 1500;
    let app = spawn_app_with(settings).await;
    app.wait_ready(Duration::from_secs(5)).await;
    let existing = app.key("existing");
    app.create(&existing, &json!({"v": "before"})).await;

    tarantool.restart();
    let ghost = app.key("ghost");
    assert_quick_503(Duration::from_millis(300), app.create(&ghost, &json!({}))).await;
    assert_quick_503(
        Duration::from_millis(300),
        app.update(&existing, &json!({"v": "ghost"})),
    )
    .await;

    app.wait_ready(Duration::from_secs(5)).await;
    assert_json(
        app.get(&ghost).await,
        404,
        json!({"error": "key not found"}),
    )
    .await;
    assert_json(
        app.get(&existing).await,
        200,
        json!({"value": {"v": "before"}}),
    )
    .await;
}

#[tokio::test]
async fn a_stalled_tarantool_gives_503_within_the_request_timeout() {
    let tarantool = TestTarantool::start();
    let mut settings = test_settings(&tarantool.address());
    settings.server.workers = 1;
    settings.tarantool.request_timeout_ms = 300;
    let app = spawn_app_with(settings).await;
    app.wait_ready(Duration::from_secs(5)).await;
    let key = app.key("stall");
    app.create(&key, &json!({"v": 1})).await;

    tarantool.stall();
    // The first GET is sent and gets no answer; the second waits behind it
    // for the read lane and is never sent: Tarantool is held no more work.
    for code in ["outcome_unknown", "not_applied"] {
        let started = Instant::now();
        let response = app.get(&key).await;
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(250),
            "answered in {took:?}: not stalled?"
        );
        assert!(
            took < Duration::from_millis(1500),
            "took {took:?} with a 300 ms timeout"
        );
        assert_eq!(response.headers().get("retry-after").unwrap(), "1");
        assert_json(
            response,
            503,
            json!({"error": "storage unavailable", "code": code}),
        )
        .await;
    }
    tarantool.resume();
    app.wait_ready(Duration::from_secs(5)).await;
    assert_json(app.get(&key).await, 200, json!({"value": {"v": 1}})).await;
}
