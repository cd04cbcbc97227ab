//! `/ready` tells the truth, and errors say what a client can do about them:
//! 503 with `not_applied` or `outcome_unknown` when a retry may help, 500
//! when it will not.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_json, json_of, spawn_app_with, test_settings, TestApp, TestTarantool};

/// `/ready`'s 503 body, with its `Retry-After`.
async fn not_ready(app: &TestApp) -> Value {
    let response = app.request(Method::GET, "/ready", None).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers().get("retry-after").unwrap(), "1");
    let body = json_of(response).await;
    assert_eq!(body["error"], "storage unavailable", "{body}");
    body
}

/// Waits for the first connection, which `/ready` cannot show here.
async fn connected(app: &TestApp) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = app.request(Method::GET, "/ready", None).await;
}

#[tokio::test]
async fn a_user_without_the_execute_grant_is_not_ready_and_requests_are_500() {
    let tarantool = TestTarantool::start_with_hooks(&[("TEST_BARE_USER", "bare")]);
    let mut settings = test_settings(&tarantool.address());
    settings.tarantool.user = "bare".into();
    let app = spawn_app_with(settings).await;
    connected(&app).await;
    let body = not_ready(&app).await;
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("Execute access to function 'kv_ready' is denied"),
        "{detail}"
    );
    let response = app.get("k").await;
    assert!(response.headers().get("retry-after").is_none());
    assert_json(response, 500, json!({"error": "internal error"})).await;
    let response = app.create("k", &json!({})).await;
    assert_json(response, 500, json!({"error": "internal error"})).await;
}

#[tokio::test]
async fn a_lua_side_of_another_protocol_version_is_not_ready() {
    let tarantool = TestTarantool::start_with_hooks(&[("TEST_PROTOCOL_VERSION", "1")]);
    let app = spawn_app_with(test_settings(&tarantool.address())).await;
    connected(&app).await;
    let body = not_ready(&app).await;
    assert_eq!(
        body["detail"],
        "Tarantool's kv functions speak protocol 1, this gateway speaks 6: \
         run the tarantool/ scripts of the same release as the gateway"
    );
}

#[tokio::test]
async fn a_gateway_key_limit_above_tarantools_is_not_ready_and_such_a_key_is_a_500() {
    let tarantool = TestTarantool::start_with(&[("KV_MAX_KEY_BYTES", "16")]);
    let mut settings = test_settings(&tarantool.address());
    settings.limits.max_key_bytes = 32;
    let app = spawn_app_with(settings).await;
    connected(&app).await;
    let body = not_ready(&app).await;
    assert_eq!(
        body["detail"],
        "limits.max_key_bytes is 32 but Tarantool stores keys of at most 16 bytes \
         (KV_MAX_KEY_BYTES)"
    );
    // Lua refusing what the gateway accepted is a disagreement, not bad
    // input; a read of such a key just finds nothing.
    let key = "k".repeat(20);
    assert_json(app.get(&key).await, 404, json!({"error": "key not found"})).await;
    assert_json(
        app.create(&key, &json!({})).await,
        500,
        json!({"error": "internal error"}),
    )
    .await;
}

#[tokio::test]
async fn a_write_that_never_left_the_queue_is_not_applied_and_never_is() {
    let tarantool = TestTarantool::start();
    let mut settings = test_settings(&tarantool.address());
    settings.server.workers = 1;
    settings.tarantool.batches_in_flight = 1;
    settings.tarantool.request_timeout_ms = 400;
    let app = spawn_app_with(settings).await;
    app.wait_ready(Duration::from_secs(5)).await;
    let sent = app.key("sent");
    let queued = app.key("queued");

    // The first write takes the write lane's only slot and stalls there;
    // the second waits for the slot until its caller gives up.
    tarantool.stall();
    let one = json!({"n": 1});
    let first = app.create(&sent, &one);
    let second = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        app.create(&queued, &json!({"n": 2})).await
    };
    let (first, second) = tokio::join!(first, second);
    assert_json(
        first,
        503,
        json!({"error": "storage unavailable", "code": "outcome_unknown"}),
    )
    .await;
    assert_json(
        second,
        503,
        json!({"error": "storage unavailable", "code": "not_applied"}),
    )
    .await;
    tarantool.resume();
    app.wait_ready(Duration::from_secs(5)).await;
    // The first was sent and did happen; the second never will.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_json(app.get(&sent).await, 200, json!({"value": {"n": 1}})).await;
    assert_json(
        app.get(&queued).await,
        404,
        json!({"error": "key not found"}),
    )
    .await;
}
