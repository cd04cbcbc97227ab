//! Revisions, ETag, HEAD, conditional requests and upsert.

use std::time::Duration;

use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::helpers::{
    assert_json, kv_path, revision_of, spawn_app, spawn_app_with, test_settings, TestApp,
    TestTarantool,
};

/// Sends `method` to the key's path with `headers` and an optional JSON body.
async fn send(
    app: &TestApp,
    method: Method,
    key: &str,
    query: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Response {
    let mut request = app
        .client
        .request(method, format!("{}{}{query}", app.address, kv_path(key)));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.body(body.to_string());
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn every_write_takes_a_new_revision_and_reads_show_it_as_a_strong_etag() {
    let app = spawn_app().await;
    let key = app.key("rev");
    let created = app.create(&key, &json!({"n": 1})).await;
    let first = revision_of(&created);
    assert_json(created, 200, json!({"result": "record created"})).await;
    let got = app.get(&key).await;
    assert_eq!(got.headers().get("etag").unwrap(), &format!("\"{first}\""));
    assert_json(got, 200, json!({"value": {"n": 1}})).await;
    let updated = app.update(&key, &json!({"n": 2})).await;
    let second = revision_of(&updated);
    assert!(second > first);
    assert_json(updated, 200, json!({"result": "record updated"})).await;
    // Another key's write moves the store-wide counter too.
    let other = app.create(&app.key("other"), &json!({})).await;
    assert!(revision_of(&other) > second);
    assert_eq!(revision_of(&app.get(&key).await), second);
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let app = spawn_app().await;
    let key = app.key("head");
    let created = app.create(&key, &json!({"big": "x".repeat(100)})).await;
    let rev = revision_of(&created);
    let head = send(&app, Method::HEAD, &key, "", &[], None).await;
    assert_eq!(head.status(), 200);
    assert_eq!(revision_of(&head), rev);
    assert!(head.headers().get("accept-patch").is_some());
    assert!(head.bytes().await.unwrap().is_empty());
    let missing = send(&app, Method::HEAD, &app.key("nope"), "", &[], None).await;
    assert_eq!(missing.status(), 404);
    assert!(missing.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn if_none_match_on_get_and_head_answers_304_when_it_matches() {
    let app = spawn_app().await;
    let key = app.key("cache");
    let rev = revision_of(&app.create(&key, &json!({"a": 1})).await);
    for (method, tag) in [
        (Method::GET, format!("\"{rev}\"")),
        (Method::GET, format!("W/\"{rev}\"")),
        (Method::HEAD, format!("\"1\", \"{rev}\"")),
        (Method::GET, "*".to_owned()),
    ] {
        let response = send(&app, method, &key, "", &[("if-none-match", &tag)], None).await;
        assert_eq!(response.status(), 304, "{tag}");
        assert_eq!(revision_of(&response), rev);
        assert!(response.bytes().await.unwrap().is_empty());
    }
    let stale = send(
        &app,
        Method::GET,
        &key,
        "",
        &[("if-none-match", "\"1\"")],
        None,
    )
    .await;
    assert_json(stale, 200, json!({"value": {"a": 1}})).await;
}

#[tokio::test]
async fn if_match_guards_put_delete_and_nothing_changes_when_it_fails() {
    let app = spawn_app().await;
    let key = app.key("cas");
    let rev = revision_of(&app.create(&key, &json!({"v": 1})).await);
    let failed = json!({"error": "precondition failed"});
    for tag in ["\"999999999\"", "W/\"{rev}\"", "\"abc\""] {
        let tag = tag.replace("{rev}", &rev.to_string());
        let put = send(
            &app,
            Method::PUT,
            &key,
            "",
            &[("if-match", &tag)],
            Some(json!({"value": {"v": 2}})),
        )
        .await;
        assert_json(put, 412, failed.clone()).await;
        let delete = send(&app, Method::DELETE, &key, "", &[("if-match", &tag)], None).await;
        assert_json(delete, 412, failed.clone()).await;
    }
    assert_json(app.get(&key).await, 200, json!({"value": {"v": 1}})).await;

    let tag = format!("\"1\", \"{rev}\"");
    let put = send(
        &app,
        Method::PUT,
        &key,
        "",
        &[("if-match", &tag)],
        Some(json!({"value": {"v": 2}})),
    )
    .await;
    let rev2 = revision_of(&put);
    assert_json(put, 200, json!({"result": "record updated"})).await;
    // The old tag is stale now: a second writer holding it loses.
    let put = send(
        &app,
        Method::PUT,
        &key,
        "",
        &[("if-match", &format!("\"{rev}\""))],
        Some(json!({"value": {"v": 3}})),
    )
    .await;
    assert_json(put, 412, failed.clone()).await;
    let delete = send(&app, Method::DELETE, &key, "", &[("if-match", "*")], None).await;
    assert_json(
        delete,
        200,
        json!({"deleted": {"key": key, "value": {"v": 2}}}),
    )
    .await;
    // No record: If-Match fails, even with *.
    for tag in ["*".to_owned(), format!("\"{rev2}\"")] {
        let put = send(
            &app,
            Method::PUT,
            &key,
            "?upsert=true",
            &[("if-match", &tag)],
            Some(json!({"value": {}})),
        )
        .await;
        assert_json(put, 412, failed.clone()).await;
        let delete = send(&app, Method::DELETE, &key, "", &[("if-match", &tag)], None).await;
        assert_json(delete, 412, failed.clone()).await;
    }
    assert_json(app.get(&key).await, 404, json!({"error": "key not found"})).await;
}

#[tokio::test]
async fn if_none_match_star_creates_only_when_absent() {
    let app = spawn_app().await;
    let key = app.key("create-once");
    let star = [("if-none-match", "*")];
    let first = send(
        &app,
        Method::PUT,
        &key,
        "",
        &star,
        Some(json!({"value": {"n": 1}})),
    )
    .await;
    assert!(revision_of(&first) > 0);
    assert_json(first, 200, json!({"result": "record created"})).await;
    let second = send(
        &app,
        Method::PUT,
        &key,
        "",
        &star,
        Some(json!({"value": {"n": 2}})),
    )
    .await;
    assert_json(second, 412, json!({"error": "precondition failed"})).await;
    assert_json(app.get(&key).await, 200, json!({"value": {"n": 1}})).await;
    // Without it, PUT keeps its contract: no record, no create.
    let plain = app.update(&app.key("never"), &json!({})).await;
    assert_json(plain, 404, json!({"error": "key not found"})).await;
}

#[tokio::test]
async fn upsert_creates_or_replaces_in_one_step() {
    let app = spawn_app().await;
    let key = app.key("upsert");
    let body = |n: i32| Some(json!({"value": {"n": n}}));
    let created = send(&app, Method::PUT, &key, "?upsert=true", &[], body(1)).await;
    let rev = revision_of(&created);
    assert_json(created, 200, json!({"result": "record created"})).await;
    let updated = send(&app, Method::PUT, &key, "?upsert=true", &[], body(2)).await;
    assert!(revision_of(&updated) > rev);
    assert_json(updated, 200, json!({"result": "record updated"})).await;
    assert_json(app.get(&key).await, 200, json!({"value": {"n": 2}})).await;
    let bad = send(&app, Method::PUT, &key, "?upsert=yes", &[], body(3)).await;
    assert_json(
        bad,
        400,
        json!({"error": "invalid parameter", "detail": "upsert must be true or false, not \"yes\""}),
    )
    .await;
    let unknown = send(&app, Method::PUT, &key, "?upsret=true", &[], body(3)).await;
    assert_json(
        unknown,
        400,
        json!({"error": "invalid parameter", "detail": "unknown parameter \"upsret\"; this request takes upsert, ttl"}),
    )
    .await;
}

#[tokio::test]
async fn concurrent_upserts_and_creates_of_one_key_never_lose_track() {
    let app = spawn_app().await;
    let key = app.key("race-upsert");
    let attempts = (0..32).map(|i| {
        let (app, key) = (&app, &key);
        async move {
            send(
                app,
                Method::PUT,
                key,
                "?upsert=true",
                &[],
                Some(json!({"value": {"w": i}})),
            )
            .await
        }
    });
    let responses = futures::future::join_all(attempts).await;
    let mut created = 0;
    let mut revisions = Vec::new();
    for response in responses {
        assert_eq!(response.status(), 200);
        revisions.push(revision_of(&response));
        if response.text().await.unwrap().contains("created") {
            created += 1;
        }
    }
    assert_eq!(created, 1);
    revisions.sort_unstable();
    revisions.dedup();
    assert_eq!(revisions.len(), 32, "every write has its own revision");
}

#[tokio::test]
async fn malformed_precondition_headers_are_400_and_change_nothing() {
    let app = spawn_app().await;
    let key = app.key("bad-header");
    app.create(&key, &json!({"v": 1})).await;
    let list = "; expected * or a comma-separated list of entity tags such as \"5\" or W/\"5\"";
    for (method, name, value, detail) in [
        (
            Method::PUT,
            "if-match",
            "5",
            format!("if-match: a tag is not quoted{list}"),
        ),
        (
            Method::DELETE,
            "if-match",
            "\"5",
            format!("if-match: a tag is not closed{list}"),
        ),
        (
            Method::GET,
            "if-none-match",
            "\"5\" \"6\"",
            format!("if-none-match: tags must be separated by commas{list}"),
        ),
        (
            Method::PUT,
            "if-none-match",
            "\"5\"",
            "If-None-Match on a write takes only * (create if absent); use If-Match for revisions"
                .to_owned(),
        ),
        (
            Method::DELETE,
            "if-none-match",
            "*",
            "If-None-Match is taken on GET, HEAD and (as *) on PUT; use If-Match here".to_owned(),
        ),
    ] {
        let body = (method == Method::PUT).then(|| json!({"value": {"v": 9}}));
        let response = send(&app, method, &key, "", &[(name, value)], body).await;
        assert_json(
            response,
            400,
            json!({"error": "invalid header", "detail": detail}),
        )
        .await;
    }
    assert_json(app.get(&key).await, 200, json!({"value": {"v": 1}})).await;
}

#[tokio::test]
async fn revisions_keep_growing_across_restarts_and_kill_9() {
    let mut tarantool = TestTarantool::start();
    let app = spawn_app_with(test_settings(&tarantool.address())).await;
    app.wait_ready(Duration::from_secs(5)).await;
    let kept = app.key("kept");
    let gone = app.key("gone");
    app.create(&kept, &json!({})).await;
    app.create(&gone, &json!({})).await;
    // The highest revision is a delete's, which no record carries.
    let deleted = send(&app, Method::DELETE, &gone, "", &[], None).await;
    assert_eq!(deleted.status(), 200);
    let before = revision_of(&app.update(&kept, &json!({"n": 1})).await);
    let delete_again = app.create(&gone, &json!({})).await;
    let gone_rev = revision_of(&delete_again);
    send(&app, Method::DELETE, &gone, "", &[], None).await;
    for restart in 0..2 {
        if restart == 0 {
            tarantool.kill();
            tarantool.restart();
        } else {
            tarantool.restart();
        }
        app.wait_ready(Duration::from_secs(5)).await;
        let next = revision_of(
            &app.create(&app.key(&format!("after-{restart}")), &json!({}))
                .await,
        );
        assert!(
            next > gone_rev + 1 && next > before,
            "{next} after {gone_rev}"
        );
        assert_eq!(revision_of(&app.get(&kept).await), before);
    }
}

#[tokio::test]
async fn records_of_schema_version_1_get_revisions_on_start() {
    let mut tarantool = TestTarantool::prepare(&[]);
    let keys: Vec<String> = (0..3).map(|i| format!("v1-{i}")).collect();
    let status = std::process::Command::new("tarantool")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/api/lua/v1_data.lua"
        ))
        .args(&keys)
        .env("TARANTOOL_WORK_DIR", tarantool.work_dir())
        .current_dir(tarantool.work_dir())
        .status()
        .unwrap();
    assert!(status.success());
    tarantool.restart();
    let app = spawn_app_with(test_settings(&tarantool.address())).await;
    app.wait_ready(Duration::from_secs(5)).await;
    let mut revisions = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let response = app.get(key).await;
        revisions.push(revision_of(&response));
        assert_json(response, 200, json!({"value": {"n": i + 1, "f": 1.5}})).await;
    }
    revisions.sort_unstable();
    assert_eq!(revisions, [1, 2, 3]);
    let next = app.create(&app.key("new"), &json!({})).await;
    assert_eq!(revision_of(&next), 4);
}
