//! Indexes on fields inside values (KV_INDEXES): writes respect them, and
//! GET /kv?where.<field>= finds records by them.

use std::time::Duration;

use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::helpers::{
    assert_json, json_of, kv_path, spawn_app_with, test_settings, TestApp, TestTarantool,
};

const KEYMAP_INDEXES: &str =
    "slack:string:unique,jira:string:unique,age:number,profile.email:string";

async fn with_indexes(spec: &str) -> (TestTarantool, TestApp) {
    let tarantool =
        TestTarantool::start_with(&[("KV_INDEXES", spec), ("TARANTOOL_EXPIRY_SWEEP_MS", "60000")]);
    let app = spawn_app_with(test_settings(&tarantool.address())).await;
    app.wait_ready(Duration::from_secs(5)).await;
    (tarantool, app)
}

async fn get(app: &TestApp, query: &str) -> Response {
    app.request(Method::GET, &format!("/kv?{query}"), None)
        .await
}

async fn send(app: &TestApp, method: Method, path: &str, body: Value) -> Response {
    app.request(method, path, Some(body.to_string().into_bytes()))
        .await
}

fn keys_of(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn get_indexes_reads_what_tarantool_has_declared() {
    let (_tarantool, app) = with_indexes(KEYMAP_INDEXES).await;
    assert_json(
        app.request(Method::GET, "/indexes", None).await,
        200,
        json!({"indexes": [
            {"field": "slack", "type": "string", "unique": true},
            {"field": "jira", "type": "string", "unique": true},
            {"field": "age", "type": "number", "unique": false},
            {"field": "profile.email", "type": "string", "unique": false}
        ]}),
    )
    .await;
}

#[tokio::test]
async fn writes_refuse_a_wrong_type_and_a_taken_unique_value_and_change_nothing() {
    let (_tarantool, app) = with_indexes(KEYMAP_INDEXES).await;
    app.create(
        "ann",
        &json!({"slack": "ann@x.io", "jira": "ann", "age": 41}),
    )
    .await;
    let taken = json!({"error": "field value already taken", "field": "slack"});
    let invalid = |detail: &str| json!({"error": "invalid request body", "detail": detail});
    assert_json(
        app.create("bob", &json!({"slack": "ann@x.io"})).await,
        409,
        taken.clone(),
    )
    .await;
    assert_json(
        app.create("bob", &json!({"slack": 5})).await,
        400,
        invalid("field slack must be a string"),
    )
    .await;
    assert_json(
        app.create("bob", &json!({"age": "old"})).await,
        400,
        invalid("field age must be a number"),
    )
    .await;
    assert_json(
        app.create("bob", &json!({"profile": {"email": false}}))
            .await,
        400,
        invalid("field profile.email must be a string"),
    )
    .await;
    assert_json(app.get("bob").await, 404, json!({"error": "key not found"})).await;
    app.create("bob", &json!({"slack": "bob@x.io", "age": 41.5}))
        .await;
    assert_json(
        app.update("bob", &json!({"slack": "ann@x.io"})).await,
        409,
        taken.clone(),
    )
    .await;
    let patch = send(&app, Method::PATCH, &kv_path("bob"), json!({"jira": "ann"})).await;
    assert_json(
        patch,
        409,
        json!({"error": "field value already taken", "field": "jira"}),
    )
    .await;
    let txn = send(
        &app,
        Method::POST,
        "/txn",
        json!({"ops": [
            {"op": "update", "key": "bob", "value": {"slack": "new@x.io"}},
            {"op": "create", "key": "cy", "value": {"slack": "ann@x.io"}}
        ]}),
    )
    .await;
    assert_json(
        txn,
        409,
        json!({"error": "field value already taken", "field": "slack", "op": 1}),
    )
    .await;
    assert_json(
        app.get("bob").await,
        200,
        json!({"value": {"slack": "bob@x.io", "age": 41.5}}),
    )
    .await;
    // A record may keep its own value, null is no value, and no field is fine.
    assert_eq!(
        app.update("ann", &json!({"slack": "ann@x.io", "jira": null}))
            .await
            .status(),
        200
    );
    assert_eq!(app.create("dee", &json!({"other": 1})).await.status(), 200);
    assert_eq!(
        app.create("eve", &json!({"jira": null})).await.status(),
        200
    );
}

#[tokio::test]
async fn a_deleted_or_expired_record_holds_no_value_hostage() {
    let (_tarantool, app) = with_indexes(KEYMAP_INDEXES).await;
    app.create("old", &json!({"slack": "s@x.io"})).await;
    app.delete("old").await;
    assert_eq!(
        app.create("new", &json!({"slack": "s@x.io"}))
            .await
            .status(),
        200
    );
    send(
        &app,
        Method::POST,
        "/kv?ttl=1",
        json!({"key": "brief", "value": {"slack": "t@x.io"}}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // The sweeper is held off: the expired record still sits in the index.
    assert_eq!(
        keys_of(&json_of(get(&app, "where.slack=t%40x.io").await).await),
        Vec::<&str>::new()
    );
    assert_json(
        app.create("next", &json!({"slack": "t@x.io"})).await,
        200,
        json!({"result": "record created"}),
    )
    .await;
    assert_eq!(
        keys_of(&json_of(get(&app, "where.slack=t%40x.io").await).await),
        ["next"]
    );
}

#[tokio::test]
async fn where_finds_records_by_any_declared_field() {
    let (_tarantool, app) = with_indexes(KEYMAP_INDEXES).await;
    for (key, value) in [
        (
            "a/1",
            json!({"slack": "ann@x.io", "jira": "ann", "age": 41, "profile": {"email": "ann@home"}}),
        ),
        (
            "a/2",
            json!({"slack": "bob@x.io", "jira": "bob", "age": 41.0}),
        ),
        ("b/3", json!({"slack": "cy@x.io", "age": 41, "team": "red"})),
        ("a/4", json!({"slack": "dee@x.io", "age": 7, "team": "red"})),
    ] {
        assert_eq!(app.create(key, &value).await.status(), 200);
    }
    let found = json_of(get(&app, "where.slack=ann%40x.io").await).await;
    assert_eq!(found["items"][0]["key"], "a/1");
    assert_eq!(found["items"][0]["value"]["jira"], "ann");
    assert!(found["items"][0]["revision"].as_u64().unwrap() > 0);
    assert_eq!(found["cursor"], Value::Null);
    // 41 and 41.0 are one number; pages follow the key order; terms AND.
    let page = json_of(get(&app, "where.age=41&limit=2").await).await;
    assert_eq!(keys_of(&page), ["a/1", "a/2"]);
    let cursor = page["cursor"].as_str().unwrap();
    let rest = json_of(get(&app, &format!("where.age=41&limit=2&cursor={cursor}")).await).await;
    assert_eq!(keys_of(&rest), ["b/3"]);
    assert_eq!(
        keys_of(&json_of(get(&app, "where.age=41&where.team=red").await).await),
        ["b/3"]
    );
    assert_eq!(
        keys_of(&json_of(get(&app, "where.age=41&prefix=a%2F").await).await),
        ["a/1", "a/2"]
    );
    assert_eq!(
        keys_of(&json_of(get(&app, "where.profile.email=ann%40home").await).await),
        ["a/1"]
    );
    let without = json_of(get(&app, "where.age=7&values=false").await).await;
    assert_eq!(
        without["items"],
        json!([{"key": "a/4", "revision": without["items"][0]["revision"]}])
    );
    assert_eq!(
        keys_of(&json_of(get(&app, "where.slack=nobody").await).await),
        Vec::<&str>::new()
    );
}

#[tokio::test]
async fn a_query_needs_an_indexed_field_and_values_of_its_type() {
    let (_tarantool, app) = with_indexes(KEYMAP_INDEXES).await;
    assert_json(
        get(&app, "where.team=red").await,
        400,
        json!({"error": "field not indexed", "detail": "indexed fields: slack, jira, age, profile.email"}),
    )
    .await;
    assert_json(
        get(&app, "where.age=old").await,
        400,
        json!({"error": "invalid parameter", "detail": "where.age must be a number, not \"old\""}),
    )
    .await;
    let (_t, bare) = with_indexes("").await;
    assert_json(
        get(&bare, "where.slack=x").await,
        400,
        json!({"error": "field not indexed", "detail": "indexed fields: (none)"}),
    )
    .await;
}

#[tokio::test]
async fn indexes_are_built_and_dropped_as_kv_indexes_changes() {
    let mut tarantool = TestTarantool::start_with(&[("KV_INDEXES", "slack:string:unique")]);
    let app = spawn_app_with(test_settings(&tarantool.address())).await;
    app.wait_ready(Duration::from_secs(5)).await;
    app.create("a", &json!({"slack": "s", "jira": "j", "age": 1}))
        .await;
    app.create("b", &json!({"slack": "t", "jira": "j", "age": "x"}))
        .await;
    // Existing data breaks a new unique index, or a field's type: the start
    // stops naming the field and a record, and nothing is changed.
    tarantool.set_env("KV_INDEXES", "slack:string:unique,jira:string:unique");
    let stderr = tarantool
        .start_expecting_exit(Duration::from_secs(20))
        .expect("it stops");
    assert!(
        stderr.contains(
            "KV_INDEXES: field jira is unique, but records \"a\" and \"b\" both hold \"j\""
        ) || stderr.contains("records \"b\" and \"a\" both hold \"j\""),
        "{stderr}"
    );
    tarantool.set_env("KV_INDEXES", "slack:string:unique,age:number");
    let stderr = tarantool
        .start_expecting_exit(Duration::from_secs(20))
        .expect("it stops");
    assert!(
        stderr.contains("KV_INDEXES: field age must be a number, but record \"b\" holds a string"),
        "{stderr}"
    );
    // Nothing changed: the old declaration starts as before, data intact.
    tarantool.set_env("KV_INDEXES", "slack:string:unique");
    assert_eq!(
        tarantool.start_expecting_exit(Duration::from_secs(20)),
        None
    );
    app.wait_ready(Duration::from_secs(5)).await;
    assert_json(
        app.request(Method::GET, "/indexes", None).await,
        200,
        json!({"indexes": [{"field": "slack", "type": "string", "unique": true}]}),
    )
    .await;
    assert_json(
        app.get("b").await,
        200,
        json!({"value": {"slack": "t", "jira": "j", "age": "x"}}),
    )
    .await;
    // A declared index that is gone from KV_INDEXES is dropped; a new one built.
    tarantool.set_env("KV_INDEXES", "jira:string");
    assert_eq!(
        tarantool.start_expecting_exit(Duration::from_secs(20)),
        None
    );
    app.wait_ready(Duration::from_secs(5)).await;
    assert_json(
        app.request(Method::GET, "/indexes", None).await,
        200,
        json!({"indexes": [{"field": "jira", "type": "string", "unique": false}]}),
    )
    .await;
    assert_eq!(
        app.create("c", &json!({"slack": "s"})).await.status(),
        200,
        "slack is free now"
    );
    assert_eq!(
        keys_of(&json_of(get(&app, "where.jira=j").await).await),
        ["a", "b"]
    );
    // A declaration that makes no sense stops the start too.
    tarantool.set_env("KV_INDEXES", "slack:text");
    let stderr = tarantool
        .start_expecting_exit(Duration::from_secs(20))
        .expect("it stops");
    assert!(
        stderr.contains("KV_INDEXES: slack has type \"text\""),
        "{stderr}"
    );
}
