//! `GET /ws`: kv operations over a WebSocket answer exactly as HTTP does;
//! watches; malformed messages; pings; the rate limit per message.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{
    kv_path, shared_tarantool, spawn_app, spawn_app_with, test_settings, TestApp,
};
use crate::streams::Ws;

/// An HTTP request and the WebSocket message that must get the same answer.
struct Case {
    name: &'static str,
    /// Records to create first (key suffix, value).
    setup: Vec<(&'static str, Value)>,
    method: Method,
    /// Path with `{k}` for the key (percent-encoded).
    path: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Option<String>,
    /// The message, with "{k}" where the key goes.
    message: Value,
}

fn case(name: &'static str, method: Method, path: &'static str, message: Value) -> Case {
    Case {
        name,
        setup: vec![("k", json!({"a": 1, "list": [1, 2]}))],
        method,
        path,
        headers: Vec::new(),
        body: None,
        message,
    }
}

impl Case {
    fn body(mut self, body: &str) -> Case {
        self.body = Some(body.to_owned());
        self
    }
    fn header(mut self, name: &'static str, value: &str) -> Case {
        self.headers.push((name, value.to_owned()));
        self
    }
    fn empty(mut self) -> Case {
        self.setup.clear();
        self
    }
}

fn cases() -> Vec<Case> {
    vec![
        case("get", Method::GET, "/kv/{k}", json!({"op": "get", "key": "{k}"})),
        case("get missing", Method::GET, "/kv/{k}", json!({"op": "get", "key": "{k}"})).empty(),
        case("head", Method::HEAD, "/kv/{k}", json!({"op": "head", "key": "{k}"})),
        case("create", Method::POST, "/kv", json!({"op": "create", "key": "{k}", "value": {"x": 2.0}}))
            .empty()
            .body(r#"{"key":"{k}","value":{"x":2.0}}"#),
        case("create taken", Method::POST, "/kv", json!({"op": "create", "key": "{k}", "value": {}}))
            .body(r#"{"key":"{k}","value":{}}"#),
        case("create not an object", Method::POST, "/kv", json!({"op": "create", "key": "{k}", "value": [1]}))
            .body(r#"{"key":"{k}","value":[1]}"#),
        case("create ttl 0", Method::POST, "/kv", json!({"op": "create", "key": "{k}", "value": {}, "ttl": 0}))
            .empty()
            .body(r#"{"key":"{k}","value":{},"ttl":0}"#),
        case("update", Method::PUT, "/kv/{k}", json!({"op": "update", "key": "{k}", "value": {"b": 1}}))
            .body(r#"{"value":{"b":1}}"#),
        case("update missing", Method::PUT, "/kv/{k}", json!({"op": "update", "key": "{k}", "value": {}}))
            .empty()
            .body(r#"{"value":{}}"#),
        case("upsert", Method::PUT, "/kv/{k}?upsert=true", json!({"op": "update", "key": "{k}", "value": {}, "upsert": true}))
            .empty()
            .body(r#"{"value":{}}"#),
        case("update stale revision", Method::PUT, "/kv/{k}", json!({"op": "update", "key": "{k}", "value": {}, "if_match": "\"1\""}))
            .header("If-Match", "\"1\"")
            .body(r#"{"value":{}}"#),
        case("create only", Method::PUT, "/kv/{k}", json!({"op": "update", "key": "{k}", "value": {}, "if_none_match": "*"}))
            .header("If-None-Match", "*")
            .body(r#"{"value":{}}"#),
        case("bad if-match", Method::PUT, "/kv/{k}", json!({"op": "update", "key": "{k}", "value": {}, "if_match": "1"}))
            .header("If-Match", "1")
            .body(r#"{"value":{}}"#),
        case("merge patch", Method::PATCH, "/kv/{k}", json!({"op": "patch", "key": "{k}", "merge": {"a": null, "c": 3}}))
            .body(r#"{"a":null,"c":3}"#),
        case("json patch", Method::PATCH, "/kv/{k}", json!({"op": "patch", "key": "{k}", "json_patch": [{"op": "add", "path": "/list/-", "value": 3}]}))
            .header("Content-Type", "application/json-patch+json")
            .body(r#"[{"op":"add","path":"/list/-","value":3}]"#),
        case("patch conflict", Method::PATCH, "/kv/{k}", json!({"op": "patch", "key": "{k}", "json_patch": [{"op": "test", "path": "/a", "value": 2}]}))
            .header("Content-Type", "application/json-patch+json")
            .body(r#"[{"op":"test","path":"/a","value":2}]"#),
        case("patch missing", Method::PATCH, "/kv/{k}", json!({"op": "patch", "key": "{k}", "merge": {}}))
            .empty()
            .body("{}"),
        case("delete", Method::DELETE, "/kv/{k}", json!({"op": "delete", "key": "{k}"})),
        case("delete missing", Method::DELETE, "/kv/{k}", json!({"op": "delete", "key": "{k}"})).empty(),
        case("txn", Method::POST, "/txn", json!({"op": "txn", "ops": [{"op": "get", "key": "{k}"}, {"op": "delete", "key": "{k}"}]}))
            .body(r#"{"ops":[{"op":"get","key":"{k}"},{"op":"delete","key":"{k}"}]}"#),
        case("txn aborted", Method::POST, "/txn", json!({"op": "txn", "ops": [{"op": "delete", "key": "{k}"}, {"op": "create", "key": "{k}", "value": {}}, {"op": "create", "key": "{k}", "value": {}}]}))
            .body(r#"{"ops":[{"op":"delete","key":"{k}"},{"op":"create","key":"{k}","value":{}},{"op":"create","key":"{k}","value":{}}]}"#),
    ]
}

/// Replaces `{k}` in `text` with `key` (as JSON string content).
fn with_key(text: &str, key: &str) -> String {
    text.replace("{k}", key)
}

/// Every `revision` member set to 0: two runs of a case take different ones.
fn without_revisions(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (name, member) in map.iter_mut() {
                if name == "revision" {
                    *member = json!(0);
                } else {
                    without_revisions(member);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(without_revisions),
        _ => {}
    }
}

async fn over_http(app: &TestApp, case: &Case, key: &str) -> (u16, Value, Option<u64>) {
    let path = case
        .path
        .replace("{k}", kv_path(key).trim_start_matches("/kv/"));
    let mut request = app
        .client
        .request(case.method.clone(), format!("{}{path}", app.address));
    for (name, value) in &case.headers {
        request = request.header(*name, value.as_str());
    }
    if let Some(body) = &case.body {
        request = request.body(with_key(body, key));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let etag = response
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().trim_matches('"').parse().unwrap());
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    (status, body, etag)
}

#[tokio::test]
async fn every_operation_answers_over_a_websocket_exactly_as_over_http() {
    let app = spawn_app().await;
    let mut ws = Ws::connect(&app.address).await;
    for (n, case) in cases().iter().enumerate() {
        let (http_key, ws_key) = (app.key(&format!("h{n}")), app.key(&format!("w{n}")));
        for key in [&http_key, &ws_key] {
            for (_, value) in &case.setup {
                assert_eq!(app.create(key, value).await.status(), 200);
            }
        }
        let (status, body, etag) = over_http(&app, case, &http_key).await;
        let message = with_key(&case.message.to_string(), &ws_key);
        let mut message: Value = serde_json::from_str(&message).unwrap();
        message["id"] = json!(n);
        let mut reply = ws.call(&message).await;
        assert_eq!(reply["id"], json!(n), "{}", case.name);
        assert_eq!(reply["status"], json!(status), "{}: {reply}", case.name);
        // The bodies name the keys; otherwise they are the same bytes.
        let ws_body = with_key(&reply["body"].to_string(), "K").replace(&ws_key, "K");
        let http_body = body.to_string().replace(&http_key, "K");
        let (mut ws_body, mut http_body): (Value, Value) = (
            serde_json::from_str(&ws_body).unwrap(),
            serde_json::from_str(&http_body).unwrap(),
        );
        without_revisions(&mut ws_body);
        without_revisions(&mut http_body);
        assert_eq!(ws_body, http_body, "{}", case.name);
        assert_eq!(
            reply.get("revision").is_some(),
            etag.is_some(),
            "{}: {reply}",
            case.name
        );
        reply.as_object_mut().unwrap().remove("revision");
        assert_eq!(
            reply.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["body", "id", "status"],
            "{}",
            case.name
        );
    }
}

#[tokio::test]
async fn a_not_modified_read_has_no_body_and_the_revision() {
    let app = spawn_app().await;
    let key = app.key("k");
    app.create(&key, &json!({})).await;
    let mut ws = Ws::connect(&app.address).await;
    let found = ws.call(&json!({"id": 1, "op": "get", "key": key})).await;
    let revision = found["revision"].as_u64().unwrap();
    let again = ws
        .call(&json!({"id": 2, "op": "get", "key": key, "if_none_match": revision}))
        .await;
    assert_eq!(
        again,
        json!({"id": 2, "status": 304, "body": null, "revision": revision})
    );
}

#[tokio::test]
async fn a_watch_over_a_websocket_gets_changes_from_another_gateway_until_unwatched() {
    let (a, b) = (spawn_app().await, spawn_app().await);
    let mut ws = Ws::connect(&b.address).await;
    let prefix = a.key("");
    let started = ws
        .call(&json!({"id": "w", "op": "watch", "prefix": prefix}))
        .await;
    assert_eq!(started["id"], "w");
    assert_eq!(started["status"], 200);
    assert_eq!(started["body"]["result"], "watching");
    a.create(&a.key("x"), &json!({"v": 1})).await;
    a.delete(&a.key("x")).await;
    let put = ws.recv().await;
    let revision = put["revision"].as_u64().unwrap();
    assert_eq!(
        put,
        json!({"watch": "w", "event": "put", "key": a.key("x"), "value": {"v": 1}, "revision": revision})
    );
    let delete = ws.recv().await;
    assert_eq!(
        delete,
        json!({"watch": "w", "event": "delete", "key": a.key("x"), "revision": revision + 1})
    );
    // A second watch with history, on the same connection.
    let replay = ws
        .call(&json!({"id": 7, "op": "watch", "key": a.key("x"), "since": revision - 1}))
        .await;
    assert_eq!(
        replay["body"],
        json!({"result": "watching", "revision": revision - 1})
    );
    assert_eq!(ws.recv().await["watch"], 7);
    assert_eq!(ws.recv().await["event"], "delete");
    let duplicate = ws.call(&json!({"id": "w", "op": "watch"})).await;
    assert_eq!(duplicate["status"], 400);
    // Unwatched: its events stop; the reply comes after any queued before.
    let done = ws.call(&json!({"id": "w", "op": "unwatch"})).await;
    assert_eq!(
        done,
        json!({"id": "w", "status": 200, "body": {"result": "unwatched"}})
    );
    let done = ws.call(&json!({"id": 7, "op": "unwatch"})).await;
    assert_eq!(done["status"], 200);
    a.create(&a.key("y"), &json!({})).await;
    let reply = ws
        .call(&json!({"id": "after", "op": "get", "key": a.key("y")}))
        .await;
    assert_eq!(reply["id"], "after", "no event after unwatch: {reply}");
    let unknown = ws.call(&json!({"id": "w", "op": "unwatch"})).await;
    assert_eq!(unknown["status"], 400);
}

#[tokio::test]
async fn malformed_messages_get_400_and_the_connection_stays_open() {
    let mut settings = test_settings(shared_tarantool());
    settings.limits.max_body_bytes = 1024;
    let app = spawn_app_with(settings).await;
    let mut ws = Ws::connect(&app.address).await;
    let too_large = format!(r#"{{"id":1,"op":"get","key":"{}"}}"#, "x".repeat(1500));
    for (text, id) in [
        ("not json".to_owned(), json!(null)),
        ("[1,2]".to_owned(), json!(null)),
        (r#"{"id": 5}"#.to_owned(), json!(5)),
        (r#"{"id": [5], "op": "fly"}"#.to_owned(), json!([5])),
        (
            r#"{"id": "t", "op": "get", "key": 12}"#.to_owned(),
            json!("t"),
        ),
        (
            r#"{"id": "u", "op": "create", "key": "k"}"#.to_owned(),
            json!("u"),
        ),
        (too_large, json!(null)),
    ] {
        ws.send_text(text.clone()).await;
        let reply = ws.recv().await;
        assert_eq!(reply["id"], id, "{text}");
        assert_eq!(reply["status"], 400, "{text}: {reply}");
        assert!(reply["body"]["error"].is_string(), "{reply}");
    }
    ws.socket
        .send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    let reply = ws.recv().await;
    assert_eq!(reply["status"], 400);
    assert_eq!(reply["id"], Value::Null);
    let key = app.key("k");
    let created = ws
        .call(&json!({"id": 9, "op": "create", "key": key, "value": {}}))
        .await;
    assert_eq!(created["status"], 200, "the connection still works");
}

#[tokio::test]
async fn a_client_that_answers_no_pings_is_closed_and_one_that_does_stays() {
    let mut settings = test_settings(shared_tarantool());
    settings.websocket.ping_interval_ms = 100;
    settings.websocket.idle_timeout_ms = 400;
    let app = spawn_app_with(settings).await;
    // tungstenite answers pings only while it is read from.
    let mut silent = Ws::connect(&app.address).await;
    let mut lively = Ws::connect(&app.address).await;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(900);
    while tokio::time::Instant::now() < deadline {
        let _ = tokio::time::timeout(Duration::from_millis(50), lively.socket.next()).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Closed with 1001; tungstenite may hit the closed socket answering the
    // pings that came before the close frame, and report that instead.
    assert!(matches!(silent.closed().await, None | Some(1001)));
    let reply = lively
        .call(&json!({"id": 1, "op": "get", "key": app.key("none")}))
        .await;
    assert_eq!(reply["status"], 404);
}

#[tokio::test]
async fn the_rate_limit_applies_to_every_message() {
    let mut settings = test_settings(shared_tarantool());
    settings.rate_limit.per_second = 1;
    settings.rate_limit.burst = 3;
    let app = spawn_app_with(settings).await;
    let mut ws = Ws::connect(&app.address).await;
    let mut statuses = Vec::new();
    for id in 0..4 {
        let reply = ws
            .call(&json!({"id": id, "op": "get", "key": app.key("k")}))
            .await;
        statuses.push(reply["status"].as_u64().unwrap());
        if reply["status"] == 429 {
            assert_eq!(reply["body"], json!({"error": "too many requests"}));
        }
    }
    // The handshake took one of the burst of 3.
    assert_eq!(statuses, [404, 404, 429, 429]);
}

#[tokio::test]
async fn a_plain_get_of_ws_is_a_json_400() {
    let app = spawn_app().await;
    let response = app.request(Method::GET, "/ws", None).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid header");
}

#[tokio::test]
async fn a_client_that_closes_right_after_a_message_still_gets_its_reply() {
    let app = spawn_app().await;
    let mut ws = Ws::connect(&app.address).await;
    let key = app.key("k");
    ws.send(&json!({"id": 1, "op": "create", "key": key, "value": {}}))
        .await;
    ws.socket.close(None).await.unwrap();
    let reply = ws.recv().await;
    assert_eq!(reply["id"], 1);
    assert_eq!(reply["status"], 200);
    assert_eq!(app.get(&key).await.status(), 200);
}
