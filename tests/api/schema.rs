//! The Tarantool side: start-up checks, the gateway user's rights, and the
//! store's own limits reported as clean HTTP errors.

use std::process::{Command, Stdio};
use std::time::Duration;

use rusty_tarantool::tarantool::ClientConfig;
use serde_json::json;

use crate::helpers::{assert_json, spawn_app_with, test_settings, TestTarantool, PASSWORD};

#[test]
fn init_lua_refuses_to_start_without_a_password() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new("tarantool")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tarantool/init.lua"))
        .current_dir(dir.path())
        .env_remove("KV_GATEWAY_PASSWORD")
        .env("TARANTOOL_WORK_DIR", dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("tarantool runs (apt-get install tarantool)");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("KV_GATEWAY_PASSWORD is not set"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_the_gateway_says_503() {
    let tarantool = TestTarantool::start();
    let mut settings = test_settings(&tarantool.address());
    settings.tarantool.password = "wrong".into();
    let app = spawn_app_with(settings).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_json(
        app.get("k").await,
        503,
        json!({"error": "storage unavailable", "code": "not_applied"}),
    )
    .await;
}

#[tokio::test]
async fn a_record_over_tarantools_tuple_limit_is_413_and_not_stored() {
    let tarantool = TestTarantool::start_with(&[("TARANTOOL_MEMTX_MAX_TUPLE_SIZE", "65536")]);
    let app = spawn_app_with(test_settings(&tarantool.address())).await;
    app.wait_ready(Duration::from_secs(5)).await;
    let key = app.key("huge");
    let big = json!({"s": "x".repeat(100_000)});
    assert_json(
        app.create(&key, &big).await,
        413,
        json!({"error": "payload too large"}),
    )
    .await;
    assert_json(app.get(&key).await, 404, json!({"error": "key not found"})).await;
    app.create(&key, &json!({"s": "small"})).await;
    assert_json(
        app.update(&key, &big).await,
        413,
        json!({"error": "payload too large"}),
    )
    .await;
    assert_json(app.get(&key).await, 200, json!({"value": {"s": "small"}})).await;
}

#[tokio::test]
async fn a_full_tarantool_is_507_and_deletes_still_work() {
    let tarantool = TestTarantool::start_with(&[("TARANTOOL_MEMTX_MEMORY", "67108864")]);
    let app = spawn_app_with(test_settings(&tarantool.address())).await;
    app.wait_ready(Duration::from_secs(5)).await;
    let value = json!({"s": "x".repeat(900_000)});
    let mut full = None;
    for i in 0..100 {
        let response = app.create(&app.key(&format!("fill-{i}")), &value).await;
        if response.status() != 200 {
            full = Some((i, response));
            break;
        }
    }
    let (count, response) = full.expect("64 MiB fill up within 100 records of 900 kB");
    assert_eq!(response.headers().get("retry-after").unwrap(), "1");
    assert_json(response, 507, json!({"error": "insufficient storage"})).await;
    assert_eq!(app.delete(&app.key("fill-0")).await.status(), 200);
    assert!(count > 0);
}

#[tokio::test]
async fn the_schema_survives_restarts() {
    let mut tarantool = TestTarantool::start();
    let app = spawn_app_with(test_settings(&tarantool.address())).await;
    app.wait_ready(Duration::from_secs(5)).await;
    let key = app.key("persist");
    app.create(&key, &json!({"v": 1.5})).await;
    for _ in 0..2 {
        tarantool.restart();
        app.wait_ready(Duration::from_secs(5)).await;
        assert_json(app.get(&key).await, 200, json!({"value": {"v": 1.5}})).await;
    }
}

#[tokio::test]
async fn kv_batch_answers_malformed_operations_one_by_one() {
    let tarantool = TestTarantool::start();
    let client = ClientConfig::new(tarantool.address(), "kv_gateway", PASSWORD).build();
    let ops = rmpv::Value::Array(vec![
        rmpv::Value::from(vec![rmpv::Value::from("get"), rmpv::Value::from("nobody")]),
        rmpv::Value::from(vec![rmpv::Value::from("drop"), rmpv::Value::from("k")]),
        rmpv::Value::from(vec![rmpv::Value::from("get"), rmpv::Value::from("")]),
        rmpv::Value::from("not an operation"),
        rmpv::Value::from(vec![
            rmpv::Value::from("create"),
            rmpv::Value::from("k"),
            rmpv::Value::Binary(vec![0x01]),
        ]),
        // A map cut short, and a map with bytes after it.
        rmpv::Value::from(vec![
            rmpv::Value::from("create"),
            rmpv::Value::from("k"),
            rmpv::Value::Binary(vec![0x81, 0xa1]),
        ]),
        rmpv::Value::from(vec![
            rmpv::Value::from("put"),
            rmpv::Value::from("k"),
            rmpv::Value::Binary(vec![0x80, 0x80]),
            rmpv::Value::from("upsert"),
        ]),
        rmpv::Value::from(vec![
            rmpv::Value::from("create"),
            rmpv::Value::from("k"),
            rmpv::Value::Binary(vec![0x80]),
        ]),
    ]);
    let response = client
        .call_fn("kv_batch", &(ops,))
        .await
        .expect("kv_batch is allowed");
    // A flat array: status, detail, revision, due time, status, ...
    let (results,): (Vec<rmpv::Value>,) = response.decode().unwrap();
    let statuses: Vec<_> = results
        .iter()
        .step_by(4)
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "missing",
            "bad_request",
            "missing",
            "bad_request",
            "bad_request",
            "bad_request",
            "bad_request",
            "created"
        ]
    );
    // The malformed create changed nothing; the valid one in the same batch stuck.
    let get = rmpv::Value::Array(vec![rmpv::Value::from(vec![
        rmpv::Value::from("get"),
        rmpv::Value::from("k"),
    ])]);
    let again = client.call_fn("kv_batch", &(get,)).await.unwrap();
    let (reply,): (Vec<rmpv::Value>,) = again.decode().unwrap();
    assert_eq!(reply[0].as_str(), Some("found"));
}
