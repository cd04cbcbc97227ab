//! GET /kv: pages of keys in byte order with cursors, globs and values;
//! DELETE /kv?prefix=: bulk delete.

use std::time::Duration;

use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::helpers::{
    assert_json, json_of, shared_tarantool, spawn_app, spawn_app_with, test_settings, TestApp,
    TestTarantool,
};

async fn get(app: &TestApp, query: &str) -> Response {
    app.request(Method::GET, &format!("/kv?{query}"), None)
        .await
}

async fn page(app: &TestApp, query: &str) -> Value {
    let response = get(app, query).await;
    assert_eq!(response.status(), 200);
    json_of(response).await
}

/// Creates `keys` with `{"i": n}` values, 100 per transaction.
async fn create_all(app: &TestApp, keys: &[String]) {
    for chunk in keys.chunks(100) {
        let ops: Vec<Value> = chunk
            .iter()
            .map(|k| json!({"op": "create", "key": k, "value": {"k": k}}))
            .collect();
        let body = json!({ "ops": ops }).to_string().into_bytes();
        assert_eq!(
            app.request(Method::POST, "/txn", Some(body)).await.status(),
            200
        );
    }
}

/// Every key of the listing `query`, following cursors to the end.
async fn all_keys(app: &TestApp, query: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("{query}&cursor={c}"),
            None => query.to_owned(),
        };
        let body = page(app, &q).await;
        for item in body["items"].as_array().unwrap() {
            keys.push(item["key"].as_str().unwrap().to_owned());
        }
        match body["cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return keys,
        }
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn keys_come_in_byte_order_a_page_at_a_time() {
    let app = spawn_app().await;
    let prefix = app.key("order/");
    let names = ["b", "a", "ab", "B", "é", "a/z", "~"];
    let keys: Vec<String> = names.iter().map(|n| format!("{prefix}{n}")).collect();
    create_all(&app, &keys).await;
    let mut sorted = keys.clone();
    sorted.sort();
    let first = page(&app, &format!("prefix={}&limit=3", encode(&prefix))).await;
    let items = first["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["key"], json!(sorted[0]));
    assert!(items[0]["revision"].as_u64().unwrap() > 0);
    assert!(items[0].get("value").is_none());
    assert!(first["cursor"].as_str().unwrap().starts_with("k1."));
    assert_eq!(
        all_keys(&app, &format!("prefix={}&limit=3", encode(&prefix))).await,
        sorted
    );
    let last = page(&app, &format!("prefix={}&limit=7", encode(&prefix))).await;
    assert_eq!(last["cursor"], Value::Null);
    let with_values = page(
        &app,
        &format!("prefix={}&limit=1&values=true", encode(&prefix)),
    )
    .await;
    assert_eq!(with_values["items"][0]["value"], json!({"k": sorted[0]}));
}

#[tokio::test]
async fn the_default_page_is_100_and_get_kv_alone_lists_everything() {
    let tarantool = TestTarantool::start();
    let app = spawn_app_with(test_settings(&tarantool.address())).await;
    app.wait_ready(Duration::from_secs(5)).await;
    let keys: Vec<String> = (0..150).map(|i| format!("k{i:03}")).collect();
    create_all(&app, &keys).await;
    let body = json_of(app.request(Method::GET, "/kv", None).await).await;
    assert_eq!(body["items"].as_array().unwrap().len(), 100);
    assert_eq!(body["items"][99]["key"], json!("k099"));
    assert_eq!(all_keys(&app, "limit=1000").await, keys);
}

#[tokio::test]
async fn a_glob_filters_keys_and_a_page_may_hold_fewer() {
    let app = spawn_app().await;
    let prefix = app.key("glob/");
    let names = [
        "user:1:name",
        "user:2:name",
        "user:10:name",
        "user:1:mail",
        "us*r",
        "usXr",
        "ü:x",
    ];
    let keys: Vec<String> = names.iter().map(|n| format!("{prefix}{n}")).collect();
    create_all(&app, &keys).await;
    let matching = |pattern: &str| {
        format!(
            "prefix={}&match={}",
            encode(&prefix),
            encode(&format!("{}{pattern}", glob_escape(&prefix)))
        )
    };
    let strip = |keys: Vec<String>| {
        keys.into_iter()
            .map(|k| k[prefix.len()..].to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        strip(all_keys(&app, &matching("user:?:name")).await),
        ["user:1:name", "user:2:name"]
    );
    assert_eq!(
        strip(all_keys(&app, &matching("user:*:name")).await),
        ["user:10:name", "user:1:name", "user:2:name"]
    );
    assert_eq!(strip(all_keys(&app, &matching("us\\*r")).await), ["us*r"]);
    assert_eq!(strip(all_keys(&app, &matching("?:x")).await), ["ü:x"]);
    assert_eq!(
        strip(all_keys(&app, &matching("*mail")).await),
        ["user:1:mail"]
    );
}

fn glob_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if "*?\\".contains(c) {
                vec!['\\', c]
            } else {
                vec![c]
            }
        })
        .collect()
}

#[tokio::test]
async fn a_page_looks_at_no_more_than_max_list_scan_keys() {
    let mut settings = test_settings(shared_tarantool());
    settings.limits.max_list_scan = 5;
    let app = spawn_app_with(settings).await;
    let prefix = app.key("scan/");
    let keys: Vec<String> = (0..12).map(|i| format!("{prefix}{i:02}")).collect();
    create_all(&app, &keys).await;
    // Nothing matches: each page looks at 5 keys, holds none, and goes on.
    let q = format!("prefix={}&match=nothing", encode(&prefix));
    let first = page(&app, &q).await;
    assert_eq!(first["items"], json!([]));
    let cursor = first["cursor"].as_str().unwrap().to_owned();
    let second = page(&app, &format!("{q}&cursor={cursor}")).await;
    assert_eq!(second["items"], json!([]));
    assert!(second["cursor"].is_string());
    assert!(all_keys(&app, &q).await.is_empty());
}

#[tokio::test]
async fn a_key_present_throughout_is_listed_exactly_once_while_others_change() {
    let app = spawn_app().await;
    let prefix = app.key("stable/");
    let keys: Vec<String> = (0..60).map(|i| format!("{prefix}{i:02}")).collect();
    create_all(&app, &keys).await;
    let q = format!("prefix={}&limit=7", encode(&prefix));
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut round = 0;
    loop {
        let query = cursor
            .as_ref()
            .map_or(q.clone(), |c| format!("{q}&cursor={c}"));
        let body = page(&app, &query).await;
        for item in body["items"].as_array().unwrap() {
            seen.push(item["key"].as_str().unwrap().to_owned());
        }
        // Between pages: new keys before and after the cursor, and deletes
        // of keys that were added (never of the original ones).
        round += 1;
        for extra in [
            format!("{prefix}{round:02}x"),
            format!("{prefix}00-{round}"),
            format!("{prefix}99-{round}"),
        ] {
            app.create(&extra, &json!({})).await;
        }
        app.delete(&format!("{prefix}00-{round}")).await;
        match body["cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    for key in &keys {
        assert_eq!(seen.iter().filter(|k| *k == key).count(), 1, "{key}");
    }
}

#[tokio::test]
async fn bad_listing_parameters_are_400_naming_them() {
    let app = spawn_app().await;
    let bad = |detail: &str| json!({"error": "invalid parameter", "detail": detail});
    for (query, body) in [
        ("limit=0", bad("limit must be a whole number from 1 to 1000, not \"0\"")),
        ("limit=1001", bad("limit must be a whole number from 1 to 1000, not \"1001\"")),
        ("limit=ten", bad("limit must be a whole number from 1 to 1000, not \"ten\"")),
        ("values=maybe", bad("values must be true or false, not \"maybe\"")),
        ("cursor=forged", bad("cursor is not one this API gave out; start without it")),
        ("cursor=k1.%FF", bad("a query parameter is not UTF-8")),
        ("match=a%5C", bad("match ends with a \\ that escapes nothing")),
        ("colour=red", bad("unknown parameter \"colour\"; this request takes prefix, limit, cursor, values, match, where.<field>")),
    ] {
        assert_json(get(&app, query).await, 400, body).await;
    }
}

#[tokio::test]
async fn delete_by_prefix_removes_every_such_key_in_steps() {
    let app = spawn_app().await;
    let doomed = app.key("bulk/");
    let keys: Vec<String> = (0..2345).map(|i| format!("{doomed}{i:04}")).collect();
    create_all(&app, &keys).await;
    let kept = app.key("bulkx");
    app.create(&kept, &json!({})).await;
    let response = app
        .request(
            Method::DELETE,
            &format!("/kv?prefix={}", encode(&doomed)),
            None,
        )
        .await;
    assert_json(response, 200, json!({"deleted": 2345})).await;
    assert!(all_keys(&app, &format!("prefix={}", encode(&doomed)))
        .await
        .is_empty());
    assert_json(app.get(&kept).await, 200, json!({"value": {}})).await;
    let again = app
        .request(
            Method::DELETE,
            &format!("/kv?prefix={}", encode(&doomed)),
            None,
        )
        .await;
    assert_json(again, 200, json!({"deleted": 0})).await;
}

#[tokio::test]
async fn deleting_every_key_is_refused_unless_enabled() {
    let app = spawn_app().await;
    for path in ["/kv", "/kv?prefix="] {
        assert_json(
            app.request(Method::DELETE, path, None).await,
            403,
            json!({"error": "deleting every key is disabled"}),
        )
        .await;
    }
    let bad = app.request(Method::DELETE, "/kv?prefx=a", None).await;
    assert_eq!(bad.status(), 400);

    let tarantool = TestTarantool::start();
    let mut settings = test_settings(&tarantool.address());
    settings.api.allow_delete_all = true;
    let open = spawn_app_with(settings).await;
    open.wait_ready(Duration::from_secs(5)).await;
    create_all(&open, &["a".to_owned(), "b".to_owned()]).await;
    assert_json(
        open.request(Method::DELETE, "/kv", None).await,
        200,
        json!({"deleted": 2}),
    )
    .await;
    assert_eq!(
        json_of(open.request(Method::GET, "/kv", None).await).await["items"],
        json!([])
    );
}
