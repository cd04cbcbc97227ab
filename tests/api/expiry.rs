//! Expiry from one second: gone at once for every operation, swept in the
//! background as a write of its own.

use std::time::{Duration, Instant};

use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::helpers::{
    assert_json, json_of, kv_path, revision_of, spawn_app, spawn_app_with, test_settings, TestApp,
    TestTarantool,
};

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Response {
    let mut request = app.client.request(method, format!("{}{path}", app.address));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.body(body.to_string());
    }
    request.send().await.unwrap()
}

/// A gateway on a private Tarantool whose sweeper waits a minute between
/// runs, so what a test sees of an expired key is not the sweeper's doing.
async fn without_sweeper() -> (TestTarantool, TestApp) {
    let tarantool = TestTarantool::start_with(&[("TARANTOOL_EXPIRY_SWEEP_MS", "60000")]);
    let app = spawn_app_with(test_settings(&tarantool.address())).await;
    app.wait_ready(Duration::from_secs(5)).await;
    (tarantool, app)
}

#[tokio::test]
async fn a_ttl_in_the_body_or_the_query_sets_expires_and_expires_at() {
    let app = spawn_app().await;
    let (a, b) = (app.key("ttl/a"), app.key("ttl/b"));
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let created = send(
        &app,
        Method::POST,
        "/kv",
        &[],
        Some(json!({"key": a, "value": {"n": 1}, "ttl": 100})),
    )
    .await;
    assert_json(created, 200, json!({"result": "record created"})).await;
    let put = send(
        &app,
        Method::PUT,
        &format!("{}?upsert=true&ttl=200", kv_path(&b)),
        &[],
        Some(json!({"value": {}})),
    )
    .await;
    assert_json(put, 200, json!({"result": "record created"})).await;
    for (key, ttl) in [(&a, 100), (&b, 200)] {
        for method in [Method::GET, Method::HEAD] {
            let response = send(&app, method, &kv_path(key), &[], None).await;
            let expires = response
                .headers()
                .get("expires")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            let at = httpdate::parse_http_date(&expires).unwrap();
            let secs = at.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
            assert!(
                (started + ttl..=started + ttl + 2).contains(&secs),
                "{expires}"
            );
        }
    }
    let page = json_of(
        send(
            &app,
            Method::GET,
            &format!("/kv?prefix={}&values=true", app.key("ttl/")),
            &[],
            None,
        )
        .await,
    )
    .await;
    let at = page["items"][0]["expires_at"].as_u64().unwrap();
    assert!((started + 100..=started + 102).contains(&at), "{page}");
    assert_eq!(page["items"][0]["value"], json!({"n": 1}));
    // No ttl, no Expires.
    let plain = app.key("plain");
    app.create(&plain, &json!({})).await;
    assert!(app.get(&plain).await.headers().get("expires").is_none());
}

#[tokio::test]
async fn a_bad_ttl_is_400_naming_it_and_changes_nothing() {
    let app = spawn_app().await;
    let key = app.key("bad-ttl");
    let rule = "an integer number of seconds from 1 to 315360000 (limits.max_ttl_s)";
    for (ttl, shown) in [
        (json!(0), "0"),
        (json!(-5), "-5"),
        (json!(1.5), "1.5"),
        (json!(315360001u64), "315360001"),
    ] {
        let response = send(
            &app,
            Method::POST,
            "/kv",
            &[],
            Some(json!({"key": key, "value": {}, "ttl": ttl})),
        )
        .await;
        assert_json(response, 400, json!({"error": "invalid request body", "detail": format!("ttl must be {rule}, not {shown}")})).await;
    }
    let response = send(
        &app,
        Method::POST,
        "/kv?ttl=-1",
        &[],
        Some(json!({"key": key, "value": {}})),
    )
    .await;
    assert_json(
        response,
        400,
        json!({"error": "invalid parameter", "detail": format!("ttl must be {rule}, not \"-1\"")}),
    )
    .await;
    let both = send(
        &app,
        Method::POST,
        "/kv?ttl=5",
        &[],
        Some(json!({"key": key, "value": {}, "ttl": 5})),
    )
    .await;
    assert_json(both, 400, json!({"error": "invalid parameter", "detail": "ttl is given both in the body and as a parameter"})).await;
    let on_get = send(
        &app,
        Method::GET,
        &format!("{}?ttl=5", kv_path(&key)),
        &[],
        None,
    )
    .await;
    assert_json(on_get, 400, json!({"error": "invalid parameter", "detail": "unknown parameter \"ttl\"; this request takes no parameters"})).await;
    assert_json(app.get(&key).await, 404, json!({"error": "key not found"})).await;
}

#[tokio::test]
async fn a_one_second_ttl_ends_one_second_after_the_acknowledgement() {
    let app = spawn_app().await;
    let key = app.key("precise");
    let response = send(
        &app,
        Method::POST,
        "/kv",
        &[],
        Some(json!({"key": key, "value": {}, "ttl": 1})),
    )
    .await;
    let acknowledged = Instant::now();
    assert_eq!(response.status(), 200);
    let mut seen = Vec::new();
    while acknowledged.elapsed() < Duration::from_millis(1400) {
        let start = acknowledged.elapsed();
        let status = app.get(&key).await.status().as_u16();
        seen.push((start, acknowledged.elapsed(), status));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for (start, end, status) in &seen {
        if *end < Duration::from_millis(950) {
            assert_eq!(*status, 200, "gone too early: asked at {start:?}");
        }
        if *start > Duration::from_millis(1050) {
            assert_eq!(*status, 404, "still there: asked at {start:?}");
        }
    }
    assert!(seen
        .iter()
        .any(|(_, end, s)| *s == 200 && *end > Duration::from_millis(700)));
}

#[tokio::test]
async fn an_expired_key_is_gone_for_every_operation_before_it_is_swept() {
    let (_tarantool, app) = without_sweeper().await;
    let key = app.key("gone");
    let sibling = app.key("gone-not");
    send(
        &app,
        Method::POST,
        "/kv",
        &[],
        Some(json!({"key": key, "value": {"v": 1}, "ttl": 1})),
    )
    .await;
    app.create(&sibling, &json!({})).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let not_found = || json!({"error": "key not found"});
    assert_json(app.get(&key).await, 404, not_found()).await;
    let head = send(&app, Method::HEAD, &kv_path(&key), &[], None).await;
    assert_eq!(head.status(), 404);
    assert_json(app.update(&key, &json!({})).await, 404, not_found()).await;
    let patch = send(
        &app,
        Method::PATCH,
        &kv_path(&key),
        &[],
        Some(json!({"a": 1})),
    )
    .await;
    assert_json(patch, 404, not_found()).await;
    assert_json(app.delete(&key).await, 404, not_found()).await;
    let guarded = send(
        &app,
        Method::PUT,
        &kv_path(&key),
        &[("if-match", "*")],
        Some(json!({"value": {}})),
    )
    .await;
    assert_json(guarded, 412, json!({"error": "precondition failed"})).await;
    let page = json_of(
        send(
            &app,
            Method::GET,
            &format!("/kv?prefix={}", app.key("gone")),
            &[],
            None,
        )
        .await,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page["items"][0]["key"], json!(sibling));
    let check = send(
        &app,
        Method::POST,
        "/txn",
        &[],
        Some(json!({"ops": [{"op": "check", "key": key, "absent": true}]})),
    )
    .await;
    assert_eq!(check.status(), 200);
    // And it may be created again at once.
    assert_json(
        app.create(&key, &json!({"v": 2})).await,
        200,
        json!({"result": "record created"}),
    )
    .await;
    assert_json(app.get(&key).await, 200, json!({"value": {"v": 2}})).await;
    assert!(app.get(&key).await.headers().get("expires").is_none());
}

#[tokio::test]
async fn put_without_a_ttl_removes_the_expiry_and_patch_keeps_it() {
    let (_tarantool, app) = without_sweeper().await;
    let (replaced, patched) = (app.key("replaced"), app.key("patched"));
    for key in [&replaced, &patched] {
        send(
            &app,
            Method::POST,
            "/kv",
            &[],
            Some(json!({"key": key, "value": {"v": 1}, "ttl": 1})),
        )
        .await;
    }
    assert_eq!(app.update(&replaced, &json!({"v": 2})).await.status(), 200);
    let patch = send(
        &app,
        Method::PATCH,
        &kv_path(&patched),
        &[],
        Some(json!({"w": 2})),
    )
    .await;
    assert_eq!(patch.status(), 200);
    assert!(app.get(&replaced).await.headers().get("expires").is_none());
    assert!(app.get(&patched).await.headers().get("expires").is_some());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_json(app.get(&replaced).await, 200, json!({"value": {"v": 2}})).await;
    assert_json(
        app.get(&patched).await,
        404,
        json!({"error": "key not found"}),
    )
    .await;
}

#[tokio::test]
async fn the_sweeper_deletes_expired_records_as_writes_of_their_own() {
    let tarantool = TestTarantool::start_with(&[("TARANTOOL_EXPIRY_SWEEP_MS", "50")]);
    let app = spawn_app_with(test_settings(&tarantool.address())).await;
    app.wait_ready(Duration::from_secs(5)).await;
    let created = send(
        &app,
        Method::POST,
        "/kv?ttl=1",
        &[],
        Some(json!({"key": "swept", "value": {}})),
    )
    .await;
    let rev = revision_of(&created);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let next = app.create("after", &json!({})).await;
    assert_eq!(
        revision_of(&next),
        rev + 2,
        "the expiry took revision {}",
        rev + 1
    );
}

#[tokio::test]
async fn an_expiry_survives_a_restart() {
    let mut tarantool = TestTarantool::start_with(&[("TARANTOOL_EXPIRY_SWEEP_MS", "60000")]);
    let app = spawn_app_with(test_settings(&tarantool.address())).await;
    app.wait_ready(Duration::from_secs(5)).await;
    send(
        &app,
        Method::POST,
        "/kv?ttl=2",
        &[],
        Some(json!({"key": "k", "value": {}})),
    )
    .await;
    tarantool.restart();
    app.wait_ready(Duration::from_secs(5)).await;
    assert!(app.get("k").await.headers().get("expires").is_some());
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_json(app.get("k").await, 404, json!({"error": "key not found"})).await;
}
