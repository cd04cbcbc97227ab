//! POST /txn: several operations in one Tarantool transaction, all or none.

use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::helpers::{
    assert_json, json_of, revision_of, shared_tarantool, spawn_app, spawn_app_with, test_settings,
    TestApp,
};

async fn txn(app: &TestApp, ops: Value) -> Response {
    app.request(
        Method::POST,
        "/txn",
        Some(json!({ "ops": ops }).to_string().into_bytes()),
    )
    .await
}

#[tokio::test]
async fn every_operation_runs_in_order_and_later_ones_see_earlier_ones() {
    let app = spawn_app().await;
    let (a, b, c) = (app.key("a"), app.key("b"), app.key("c"));
    let c_rev = revision_of(&app.create(&c, &json!({"old": true})).await);
    let response = txn(
        &app,
        json!([
            {"op": "check", "key": a, "absent": true},
            {"op": "create", "key": a, "value": {"n": 1.0}},
            {"op": "get", "key": a},
            {"op": "patch", "key": a, "merge": {"m": 2}},
            {"op": "check", "key": c, "revision": c_rev},
            {"op": "update", "key": c, "value": {"new": true}},
            {"op": "create", "key": b, "value": {}},
            {"op": "delete", "key": b}
        ]),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body = json_of(response).await;
    let r = |i: usize| body["results"][i]["revision"].as_u64().unwrap();
    let created = r(1);
    assert_eq!(r(2), created);
    assert!(r(3) > created && r(5) > r(3) && r(6) > r(5));
    assert_eq!(
        body["revision"].as_u64().unwrap(),
        r(6) + 1,
        "the delete wrote last"
    );
    assert_eq!(
        body["results"],
        json!([
            {"result": "check passed"},
            {"result": "record created", "revision": created},
            {"value": {"n": 1.0}, "revision": created},
            {"value": {"n": 1.0, "m": 2}, "revision": r(3)},
            {"result": "check passed"},
            {"result": "record updated", "revision": r(5)},
            {"result": "record created", "revision": r(6)},
            {"deleted": {"key": b, "value": {}}}
        ])
    );
    assert_json(app.get(&a).await, 200, json!({"value": {"n": 1.0, "m": 2}})).await;
    assert_json(app.get(&c).await, 200, json!({"value": {"new": true}})).await;
    assert_json(app.get(&b).await, 404, json!({"error": "key not found"})).await;
}

#[tokio::test]
async fn when_one_operation_fails_nothing_is_applied_and_the_answer_names_it() {
    let app = spawn_app().await;
    let (a, taken, gone) = (app.key("a"), app.key("taken"), app.key("gone"));
    let rev = revision_of(&app.create(&taken, &json!({"v": 1})).await);
    let cases = [
        (
            json!([{"op": "create", "key": a, "value": {}}, {"op": "create", "key": taken, "value": {}}]),
            409,
            json!({"error": "key already exists", "op": 1}),
        ),
        (
            json!([{"op": "create", "key": a, "value": {}}, {"op": "update", "key": gone, "value": {}}]),
            404,
            json!({"error": "key not found", "op": 1}),
        ),
        (
            json!([{"op": "delete", "key": taken}, {"op": "get", "key": gone}]),
            404,
            json!({"error": "key not found", "op": 1}),
        ),
        (
            json!([{"op": "create", "key": a, "value": {}}, {"op": "check", "key": taken, "revision": rev + 1000}]),
            412,
            json!({"error": "precondition failed", "op": 1}),
        ),
        (
            json!([{"op": "check", "key": taken, "absent": true}]),
            412,
            json!({"error": "precondition failed", "op": 0}),
        ),
        (
            json!([{"op": "create", "key": a, "value": {}}, {"op": "patch", "key": taken, "merge": [1]}]),
            409,
            json!({"error": "patch conflict", "detail": "the result is not a JSON object", "op": 1}),
        ),
    ];
    for (ops, status, body) in cases {
        assert_json(txn(&app, ops).await, status, body).await;
    }
    assert_json(app.get(&a).await, 404, json!({"error": "key not found"})).await;
    assert_json(app.get(&taken).await, 200, json!({"value": {"v": 1}})).await;
    assert_eq!(revision_of(&app.get(&taken).await), rev);
}

#[tokio::test]
async fn malformed_transactions_are_400() {
    let app = spawn_app().await;
    let key = app.key("m");
    let invalid = |detail: &str| json!({"error": "invalid request body", "detail": detail});
    let cases = [
        (json!({"ops": []}), invalid("ops must not be empty")),
        (
            json!({"ops": [{"op": "get", "key": key}, {"op": "fly", "key": key}]}),
            json!({"error": "invalid request body", "detail": "unknown op \"fly\"; one of create, update, patch, delete, get, check", "op": 1}),
        ),
        (
            json!({"ops": [{"op": "create", "key": key, "value": [1]}]}),
            json!({"error": "invalid request body", "detail": "value must be a JSON object", "op": 0}),
        ),
        (
            json!({"ops": [{"op": "check", "key": key}]}),
            json!({"error": "invalid request body", "detail": "check needs \"revision\": N or \"absent\": true", "op": 0}),
        ),
        (
            json!({"ops": "all"}),
            json!({"error": "invalid request body", "detail": "invalid type: string \"all\", expected a sequence at line 1 column 12"}),
        ),
    ];
    for (body, expected) in cases {
        let response = app
            .request(Method::POST, "/txn", Some(body.to_string().into_bytes()))
            .await;
        assert_json(response, 400, expected).await;
    }
    assert_json(app.get(&key).await, 404, json!({"error": "key not found"})).await;
}

#[tokio::test]
async fn more_operations_than_the_limit_are_refused() {
    let mut settings = test_settings(shared_tarantool());
    settings.limits.max_txn_ops = 3;
    let app = spawn_app_with(settings).await;
    let key = app.key("limit");
    let ops: Vec<Value> = (0..4)
        .map(|i| json!({"op": "create", "key": format!("{key}{i}"), "value": {}}))
        .collect();
    assert_json(
        txn(&app, Value::Array(ops)).await,
        400,
        json!({"error": "invalid request body", "detail": "a transaction has at most 3 operations (limits.max_txn_ops), this one 4"}),
    )
    .await;
    assert_json(
        app.get(&format!("{key}0")).await,
        404,
        json!({"error": "key not found"}),
    )
    .await;
}

#[tokio::test]
async fn a_read_only_transaction_answers_the_store_revision() {
    let app = spawn_app().await;
    let key = app.key("ro");
    let rev = revision_of(&app.create(&key, &json!({"x": 1})).await);
    let response = txn(
        &app,
        json!([{"op": "get", "key": key}, {"op": "check", "key": key, "revision": rev}]),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body = json_of(response).await;
    assert!(body["revision"].as_u64().unwrap() >= rev);
    assert_eq!(
        body["results"][0],
        json!({"value": {"x": 1}, "revision": rev})
    );
}

#[tokio::test]
async fn concurrent_transfers_between_two_records_keep_their_sum() {
    let app = spawn_app().await;
    let (a, b) = (app.key("acct-a"), app.key("acct-b"));
    app.create(&a, &json!({"v": 50})).await;
    app.create(&b, &json!({"v": 50})).await;
    // Each transfer reads both revisions and commits only if neither moved.
    let transfer = || async {
        loop {
            let ra = app.get(&a).await;
            let rb = app.get(&b).await;
            let (rev_a, rev_b) = (revision_of(&ra), revision_of(&rb));
            let va = json_of(ra).await["value"]["v"].as_i64().unwrap();
            let vb = json_of(rb).await["value"]["v"].as_i64().unwrap();
            let response = txn(
                &app,
                json!([
                    {"op": "check", "key": a, "revision": rev_a},
                    {"op": "check", "key": b, "revision": rev_b},
                    {"op": "update", "key": a, "value": {"v": va - 1}},
                    {"op": "update", "key": b, "value": {"v": vb + 1}}
                ]),
            )
            .await;
            match response.status().as_u16() {
                200 => return,
                412 => continue,
                other => panic!("{other}"),
            }
        }
    };
    futures::future::join_all((0..10).map(|_| transfer())).await;
    let va = json_of(app.get(&a).await).await["value"]["v"]
        .as_i64()
        .unwrap();
    let vb = json_of(app.get(&b).await).await["value"]["v"]
        .as_i64()
        .unwrap();
    assert_eq!((va, vb), (40, 60));
}
