//! Concurrent requests share round trips to Tarantool (`kv_batch`), and each
//! still gets exactly its own answer, whatever the others in its batch do.

use std::time::Duration;

use futures::future::join_all;
use rusty_tarantool::tarantool::{Client, ClientConfig};
use serde_json::{json, Value};

use crate::helpers::{
    assert_json, spawn_app_with, test_settings, TestApp, TestTarantool, PASSWORD,
};

/// How many iproto calls the instance has answered so far.
async fn call_count(client: &Client) -> u64 {
    let response = client
        .call_fn("test_call_count", &Vec::<u8>::new())
        .await
        .expect("test_call_count answers");
    let (count,): (u64,) = response.decode().unwrap();
    count
}

/// One worker with one call in flight per lane, so everything that arrives
/// while a call is under way has to wait for it and then share the next one.
async fn single_slot_app(tarantool: &TestTarantool) -> TestApp {
    let mut settings = test_settings(&tarantool.address());
    settings.server.workers = 1;
    settings.tarantool.batches_in_flight = 1;
    settings.tarantool.request_timeout_ms = 10_000;
    let app = spawn_app_with(settings).await;
    app.wait_ready(Duration::from_secs(5)).await;
    app
}

/// One request of the test and what it must answer.
enum Op {
    Get(String),
    Create(String, Value),
    Update(String, Value),
    Delete(String),
}

impl Op {
    async fn send(&self, app: &TestApp) -> reqwest::Response {
        match self {
            Op::Get(key) => app.get(key).await,
            Op::Create(key, value) => app.create(key, value).await,
            Op::Update(key, value) => app.update(key, value).await,
            Op::Delete(key) => app.delete(key).await,
        }
    }
}

#[tokio::test]
async fn waiting_requests_share_one_call_and_each_gets_its_own_answer() {
    let tarantool = TestTarantool::start_with_hooks(&[("TARANTOOL_MEMTX_MAX_TUPLE_SIZE", "65536")]);
    let app = single_slot_app(&tarantool).await;
    let key = |name: String| app.key(&name);
    for i in 0..30 {
        let response = app.create(&key(format!("e{i}")), &json!({ "n": i })).await;
        assert_eq!(response.status(), 200);
    }
    let counter = ClientConfig::new(tarantool.address(), "kv_gateway", PASSWORD).build();
    let before = call_count(&counter).await;

    // Every kind of outcome, reads and writes, queued together.
    let not_found = || json!({"error": "key not found"});
    let mut ops: Vec<(Op, u16, Value)> = Vec::new();
    for i in 0..20 {
        ops.push((
            Op::Get(key(format!("e{i}"))),
            200,
            json!({"value": {"n": i}}),
        ));
    }
    for i in 0..5 {
        ops.push((Op::Get(key(format!("missing{i}"))), 404, not_found()));
    }
    let created: Vec<_> = (0..20)
        .map(|i| (key(format!("c{i}")), json!({ "c": i })))
        .collect();
    for (k, v) in &created {
        let op = Op::Create(k.clone(), v.clone());
        ops.push((op, 200, json!({"result": "record created"})));
    }
    let op = Op::Create(key("e20".into()), json!({"n": "again"}));
    ops.push((op, 409, json!({"error": "key already exists"})));
    let too_large = key("huge".into());
    let op = Op::Create(too_large.clone(), json!({"s": "x".repeat(100_000)}));
    ops.push((op, 413, json!({"error": "payload too large"})));
    for i in 21..26 {
        let op = Op::Update(key(format!("e{i}")), json!({ "u": i }));
        ops.push((op, 200, json!({"result": "record updated"})));
    }
    for i in 0..3 {
        let op = Op::Update(key(format!("absent{i}")), json!({ "u": i }));
        ops.push((op, 404, not_found()));
    }
    for i in 26..30 {
        let k = key(format!("e{i}"));
        let deleted = json!({"deleted": {"key": k, "value": {"n": i}}});
        ops.push((Op::Delete(k), 200, deleted));
    }
    let requests = join_all(ops.iter().map(|(op, _, _)| op.send(&app)));

    // Tarantool stalls while the requests arrive: the first call holds the
    // only slot, everything else queues behind it.
    tarantool.stall();
    let (responses, ()) = tokio::join!(requests, async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        tarantool.resume();
    });
    let operations = responses.len() as u64;
    for (response, (_, status, body)) in responses.into_iter().zip(ops) {
        assert_json(response, status, body).await;
    }

    // Reads and writes are separate lanes with a slot each: the first read
    // and the first write go at once; everything else of each kind queues
    // behind them and goes as one batch per kind (+ this count).
    let calls = call_count(&counter).await - before;
    assert!(
        calls <= 5,
        "{operations} operations took {calls} calls to Tarantool"
    );

    // And the store holds exactly what the answers said.
    for (k, v) in &created {
        assert_json(app.get(k).await, 200, json!({ "value": v })).await;
    }
    assert_json(
        app.get(&key("e20".into())).await,
        200,
        json!({"value": {"n": 20}}),
    )
    .await;
    assert_json(
        app.get(&too_large).await,
        404,
        json!({"error": "key not found"}),
    )
    .await;
    for i in 21..26 {
        assert_json(
            app.get(&key(format!("e{i}"))).await,
            200,
            json!({"value": {"u": i}}),
        )
        .await;
    }
    for i in 0..3 {
        assert_eq!(app.get(&key(format!("absent{i}"))).await.status(), 404);
    }
    for i in 26..30 {
        assert_eq!(app.get(&key(format!("e{i}"))).await.status(), 404);
    }
}

#[tokio::test]
async fn a_lone_request_is_sent_at_once_as_a_batch_of_one() {
    let tarantool = TestTarantool::start_with_hooks(&[]);
    let app = single_slot_app(&tarantool).await;
    let counter = ClientConfig::new(tarantool.address(), "kv_gateway", PASSWORD).build();
    let key = app.key("lone");
    let before = call_count(&counter).await;
    assert_eq!(app.create(&key, &json!({"a": 1})).await.status(), 200);
    assert_eq!(app.get(&key).await.status(), 200);
    assert_eq!(call_count(&counter).await - before, 3);
}

#[tokio::test]
async fn a_failing_transaction_in_a_batch_rolls_back_alone() {
    let tarantool = TestTarantool::start_with_hooks(&[]);
    let app = single_slot_app(&tarantool).await;
    let counter = ClientConfig::new(tarantool.address(), "kv_gateway", PASSWORD).build();
    let (taken, first, beside) = (app.key("taken"), app.key("first"), app.key("beside"));
    app.create(&taken, &json!({})).await;
    let before = call_count(&counter).await;
    // A write that takes the write lane's slot, then, queued behind it into
    // one batch: a transaction whose second operation fails after its first
    // wrote, and an independent create.
    let blocker = app.key("blocker");
    let txn_body = json!({"ops": [
        {"op": "create", "key": first, "value": {"n": 1}},
        {"op": "create", "key": taken, "value": {}}
    ]})
    .to_string();
    tarantool.stall();
    let (responses, ()) = tokio::join!(
        async {
            let empty = json!({});
            let blocked = app.create(&blocker, &empty);
            let txn = async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                app.request(reqwest::Method::POST, "/txn", Some(txn_body.into_bytes()))
                    .await
            };
            let create = async {
                tokio::time::sleep(Duration::from_millis(150)).await;
                app.create(&beside, &json!({"n": 2})).await
            };
            tokio::join!(blocked, txn, create)
        },
        async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            tarantool.resume();
        }
    );
    let (blocked, txn, create) = responses;
    assert_eq!(blocked.status(), 200);
    assert_json(txn, 409, json!({"error": "key already exists", "op": 1})).await;
    assert_json(create, 200, json!({"result": "record created"})).await;
    // The blocker, then one batch for both (+ this count).
    assert_eq!(call_count(&counter).await - before, 3);
    assert_json(
        app.get(&first).await,
        404,
        json!({"error": "key not found"}),
    )
    .await;
    assert_json(app.get(&beside).await, 200, json!({"value": {"n": 2}})).await;
}
