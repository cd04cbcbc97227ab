//! PATCH with JSON Merge Patch and JSON Patch, applied inside Tarantool.

use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::helpers::{assert_json, kv_path, spawn_app, TestApp};

const MERGE: &str = "application/merge-patch+json";
const JSON_PATCH: &str = "application/json-patch+json";

async fn patch(app: &TestApp, key: &str, content_type: Option<&str>, body: &str) -> Response {
    patch_with(app, key, content_type, &[], body).await
}

async fn patch_with(
    app: &TestApp,
    key: &str,
    content_type: Option<&str>,
    headers: &[(&str, &str)],
    body: &str,
) -> Response {
    let mut request = app
        .client
        .request(Method::PATCH, format!("{}{}", app.address, kv_path(key)))
        .body(body.to_owned());
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

fn etag(response: &Response) -> String {
    response
        .headers()
        .get("etag")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_merge_patch_changes_adds_and_removes_members_and_keeps_numbers_exact() {
    let app = spawn_app().await;
    let key = app.key("merge");
    let body = r#"{"key":"K","value":{"f":1.0,"big":18446744073709551615,"neg":-9223372036854775808,"keep":{"a":1,"b":2},"gone":true,"list":[1,2]}}"#
        .replace("\"K\"", &json!(key).to_string());
    assert_eq!(app.create_raw(body).await.status(), 200);
    let before = etag(&app.get(&key).await);
    for content_type in [
        Some(MERGE),
        Some("application/json"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let response = patch(
            &app,
            &key,
            content_type,
            r#"{"keep":{"b":null,"c":2.0},"gone":null,"new":[3.5],"list":["x"]}"#,
        )
        .await;
        assert_eq!(response.status(), 200, "{content_type:?}");
        assert_ne!(etag(&response), before);
        assert_eq!(
            response.text().await.unwrap(),
            r#"{"value":{"f":1.0,"big":18446744073709551615,"neg":-9223372036854775808,"keep":{"a":1,"c":2.0},"list":["x"],"new":[3.5]}}"#
        );
    }
    assert_eq!(
        app.get(&key).await.text().await.unwrap(),
        r#"{"value":{"f":1.0,"big":18446744073709551615,"neg":-9223372036854775808,"keep":{"a":1,"c":2.0},"list":["x"],"new":[3.5]}}"#
    );
}

#[tokio::test]
async fn a_json_patch_applies_every_operation_or_none() {
    let app = spawn_app().await;
    let key = app.key("json-patch");
    app.create(&key, &json!({"a": {"b": [1, 2]}, "c": "x", "n": 2.0}))
        .await;
    let ops = json!([
        {"op": "test", "path": "/c", "value": "x"},
        {"op": "add", "path": "/a/b/-", "value": 3},
        {"op": "add", "path": "/a/b/0", "value": 0},
        {"op": "replace", "path": "/c", "value": {"deep": null}},
        {"op": "copy", "from": "/a/b", "path": "/copy"},
        {"op": "move", "from": "/n", "path": "/a/moved"},
        {"op": "remove", "path": "/a/b/1"},
        {"op": "test", "path": "/copy", "value": [0, 1, 2, 3]},
        {"op": "add", "path": "/a~1slash", "value": true}
    ]);
    let response = patch(&app, &key, Some(JSON_PATCH), &ops.to_string()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"value":{"a":{"b":[0,2,3],"moved":2.0},"c":{"deep":null},"copy":[0,1,2,3],"a/slash":true}}"#
    );
}

#[tokio::test]
async fn a_patch_that_cannot_apply_is_409_and_changes_nothing() {
    let app = spawn_app().await;
    let key = app.key("conflict");
    app.create(&key, &json!({"a": 1, "list": [1]})).await;
    let before = app.get(&key).await.text().await.unwrap();
    for (content_type, body, detail) in [
        (
            JSON_PATCH,
            r#"[{"op":"replace","path":"/a","value":2},{"op":"test","path":"/a","value":3}]"#,
            "operation 1 (test): test failed: the value at /a differs",
        ),
        (
            JSON_PATCH,
            r#"[{"op":"remove","path":"/nope"}]"#,
            "operation 0 (remove): path /nope does not exist",
        ),
        (
            JSON_PATCH,
            r#"[{"op":"add","path":"/list/5","value":1}]"#,
            "operation 0 (add): path /list/5 is not an index of the array",
        ),
        (
            JSON_PATCH,
            r#"[{"op":"add","path":"/x/y","value":1}]"#,
            "operation 0 (add): path /x/y does not exist",
        ),
        (
            JSON_PATCH,
            r#"[{"op":"move","from":"/list","path":"/list/0"}]"#,
            "operation 0 (move): a value cannot be moved into itself",
        ),
        (
            JSON_PATCH,
            r#"[{"op":"replace","path":"","value":[1]}]"#,
            "the result is not a JSON object",
        ),
        (MERGE, r#"[1]"#, "the result is not a JSON object"),
    ] {
        let response = patch(&app, &key, Some(content_type), body).await;
        assert_json(
            response,
            409,
            json!({"error": "patch conflict", "detail": detail}),
        )
        .await;
    }
    assert_eq!(app.get(&key).await.text().await.unwrap(), before);
}

#[tokio::test]
async fn malformed_patches_are_400_other_media_types_415_and_a_missing_key_404() {
    let app = spawn_app().await;
    let key = app.key("bad-patch");
    app.create(&key, &json!({"a": 1})).await;
    let response = patch(&app, &key, Some("text/plain"), r#"{"a":2}"#).await;
    assert_eq!(
        response.headers().get("accept-patch").unwrap(),
        "application/merge-patch+json, application/json-patch+json"
    );
    assert_json(response, 415, json!({"error": "unsupported media type"})).await;
    for (content_type, body, detail) in [
        (MERGE, "", "request body is empty"),
        (
            JSON_PATCH,
            r#"{"op":"add"}"#,
            "a JSON Patch is an array of operation objects",
        ),
        (
            JSON_PATCH,
            r#"[{"op":"add","path":"/b"}]"#,
            "operation 0: add needs \"value\"",
        ),
        (
            JSON_PATCH,
            r#"[{"op":"add","path":"b","value":1}]"#,
            "operation 0: path: \"b\" is not a JSON Pointer (it must start with /)",
        ),
    ] {
        let response = patch(&app, &key, Some(content_type), body).await;
        assert_json(
            response,
            400,
            json!({"error": "invalid request body", "detail": detail}),
        )
        .await;
    }
    let response = patch(&app, &key, Some(MERGE), "{not json").await;
    assert_eq!(response.status(), 400);
    assert_json(app.get(&key).await, 200, json!({"value": {"a": 1}})).await;
    let missing = patch(&app, &app.key("none"), Some(MERGE), r#"{"a":1}"#).await;
    assert_json(missing, 404, json!({"error": "key not found"})).await;
}

#[tokio::test]
async fn if_match_guards_a_patch() {
    let app = spawn_app().await;
    let key = app.key("guarded");
    app.create(&key, &json!({"slack": "ann@x.io"})).await;
    let read = app.get(&key).await;
    let tag = etag(&read);
    // Someone else changes the record meanwhile.
    patch(&app, &key, Some(MERGE), r#"{"jira":"ann"}"#).await;
    let stale = patch_with(
        &app,
        &key,
        Some(MERGE),
        &[("if-match", &tag)],
        r#"{"github":"ann-h"}"#,
    )
    .await;
    assert_json(stale, 412, json!({"error": "precondition failed"})).await;
    let fresh = etag(&app.get(&key).await);
    let ok = patch_with(
        &app,
        &key,
        Some(MERGE),
        &[("if-match", &fresh)],
        r#"{"github":"ann-h"}"#,
    )
    .await;
    assert_json(
        ok,
        200,
        json!({"value": {"slack": "ann@x.io", "jira": "ann", "github": "ann-h"}}),
    )
    .await;
    let missing = patch_with(
        &app,
        &app.key("no"),
        Some(MERGE),
        &[("if-match", "*")],
        r#"{}"#,
    )
    .await;
    assert_json(missing, 412, json!({"error": "precondition failed"})).await;
}

#[tokio::test]
async fn a_hundred_concurrent_merge_patches_lose_no_update() {
    let app = spawn_app().await;
    let key = app.key("concurrent");
    app.create(&key, &json!({})).await;
    let patches = (0..100).map(|i| {
        let (app, key) = (&app, &key);
        async move {
            patch(app, key, Some(MERGE), &format!(r#"{{"f{i}":{i}}}"#))
                .await
                .status()
        }
    });
    for status in futures::future::join_all(patches).await {
        assert_eq!(status, 200);
    }
    let value: Value = app.get(&key).await.json().await.unwrap();
    let fields = value["value"].as_object().unwrap();
    assert_eq!(fields.len(), 100);
    for i in 0..100 {
        assert_eq!(fields[&format!("f{i}")], json!(i));
    }
}

#[tokio::test]
async fn a_keymap_binding_is_compared_and_set_in_one_step() {
    let app = spawn_app().await;
    let key = app.key("keymap");
    app.create(&key, &json!({"slack": "ann@x.io", "jira": "ann"}))
        .await;
    let cas = |from: &str, to: &str| {
        json!([
            {"op": "test", "path": "/jira", "value": from},
            {"op": "replace", "path": "/jira", "value": to}
        ])
        .to_string()
    };
    let won = patch(&app, &key, Some(JSON_PATCH), &cas("ann", "ann.h")).await;
    assert_json(
        won,
        200,
        json!({"value": {"slack": "ann@x.io", "jira": "ann.h"}}),
    )
    .await;
    let lost = patch(&app, &key, Some(JSON_PATCH), &cas("ann", "someone")).await;
    assert_eq!(lost.status(), 409);
    // Add a binding only if it is absent: a test of null would match a null,
    // so the JSON Patch way is to add after testing the record's revision.
    let tag = etag(&app.get(&key).await);
    let added = patch_with(
        &app,
        &key,
        Some(MERGE),
        &[("if-match", &tag)],
        r#"{"github":"ann-h"}"#,
    )
    .await;
    assert_eq!(added.status(), 200);
    let remove = patch(&app, &key, Some(MERGE), r#"{"slack":null}"#).await;
    assert_json(
        remove,
        200,
        json!({"value": {"jira": "ann.h", "github": "ann-h"}}),
    )
    .await;
}

#[tokio::test]
async fn every_key_response_advertises_accept_patch() {
    let app = spawn_app().await;
    let key = app.key("advert");
    let missing = app.get(&key).await;
    app.create(&key, &json!({})).await;
    for response in [
        missing,
        app.get(&key).await,
        app.update(&key, &json!({})).await,
        app.delete(&key).await,
        app.request(Method::OPTIONS, &kv_path(&key), None).await,
    ] {
        assert_eq!(
            response.headers().get("accept-patch").unwrap(),
            "application/merge-patch+json, application/json-patch+json"
        );
    }
}
