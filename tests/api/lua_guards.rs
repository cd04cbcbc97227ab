//! The Lua side trusts nothing: a client holding the gateway's credentials
//! can send kv_batch anything, and nothing it sends can make the store hold
//! what the gateway could not show, or make Tarantool do unbounded work.

use std::time::{Duration, Instant};

use rmpv::Value;
use rusty_tarantool::tarantool::{Client, ClientConfig};
use serde_json::json;

use crate::helpers::{assert_json, spawn_app_with, test_settings, TestTarantool, PASSWORD};

fn client(tarantool: &TestTarantool) -> Client {
    ClientConfig::new(tarantool.address(), "kv_gateway", PASSWORD).build()
}

/// Calls kv_batch with `ops` (and a generous reply budget); returns the
/// flat status/detail list.
async fn batch(client: &Client, ops: Value) -> Vec<Value> {
    let response = client
        .call_fn("kv_batch", &(ops, 1 << 20))
        .await
        .expect("kv_batch answers");
    let (results,): (Vec<Value>,) = response.decode().unwrap();
    results
}

fn op(name: &str, key: &str, value: Option<Vec<u8>>) -> Value {
    let mut op = vec![Value::from(name), Value::from(key)];
    if let Some(value) = value {
        op.push(Value::Binary(value));
    }
    Value::Array(op)
}

/// A map `{"a": <inner>}` as MessagePack.
fn map_of(inner: &[u8]) -> Vec<u8> {
    let mut value = vec![0x81, 0xa1, b'a'];
    value.extend_from_slice(inner);
    value
}

#[tokio::test]
async fn values_the_gateway_could_not_show_are_refused_and_nothing_is_stored() {
    let tarantool = TestTarantool::start();
    let client = client(&tarantool);
    let nested = |maps: usize| {
        let mut value = [0x81, 0xa1, b'a'].repeat(maps);
        value.push(0x01);
        value
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("reserved", map_of(&[0xc1]), "reserved byte 0xc1"),
        (
            "int-key",
            vec![0x81, 0x01, 0x01],
            "a map key is not a string",
        ),
        (
            "bin",
            map_of(&[0xc4, 0x01, 0x00]),
            "binary data or an extension",
        ),
        (
            "ext",
            map_of(&[0xd4, 0x01, 0x00]),
            "binary data or an extension",
        ),
        (
            "nan",
            map_of(&[0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0]),
            "not finite",
        ),
        (
            "inf",
            map_of(&[0xcb, 0xff, 0xf0, 0, 0, 0, 0, 0, 0]),
            "not finite",
        ),
        ("f32", map_of(&[0xca, 0x3f, 0x80, 0, 0]), "32-bit"),
        ("bad-utf8", map_of(&[0xa2, 0xc3, 0x28]), "not UTF-8"),
        ("surrogate", map_of(&[0xa3, 0xed, 0xa0, 0x80]), "not UTF-8"),
        ("bad-key-utf8", vec![0x81, 0xa1, 0xff, 0x01], "not UTF-8"),
        ("deep", nested(129), "nested deeper than 128 levels"),
        ("cut", vec![0x82, 0xa1, b'a', 0x01], "cut short"),
        ("trailing", vec![0x80, 0x80], "bytes after the map"),
        ("array", vec![0x91, 0x01], "one MessagePack map"),
    ];
    for (key, value, reason) in &cases {
        let results = batch(
            &client,
            Value::Array(vec![op("create", key, Some(value.clone()))]),
        )
        .await;
        assert_eq!(results[0].as_str(), Some("bad_request"), "{key}");
        let detail = results[1].as_str().unwrap_or_default();
        assert!(detail.contains(reason), "{key}: {detail}");
        let results = batch(&client, Value::Array(vec![op("get", key, None)])).await;
        assert_eq!(results[0].as_str(), Some("missing"), "{key} was stored");
    }
    // Every kind of value the gateway does write is taken, 128 levels deep too.
    let fine = Value::Map(vec![
        (Value::from("n"), Value::Nil),
        (Value::from("t"), Value::from(true)),
        (Value::from("u"), Value::from(u64::MAX)),
        (Value::from("i"), Value::from(i64::MIN)),
        (Value::from("f"), Value::F64(2.5)),
        (Value::from("s"), Value::from("é😀")),
        (Value::from("e"), Value::from("")),
        (Value::from("z"), Value::from(-32)),
        (
            Value::from("a"),
            Value::Array(vec![Value::Map(vec![]), Value::Array(vec![])]),
        ),
    ]);
    let mut encoded = Vec::new();
    rmpv::encode::write_value(&mut encoded, &fine).unwrap();
    for (key, value) in [("fine", encoded), ("deep-enough", nested(128))] {
        let results = batch(&client, Value::Array(vec![op("create", key, Some(value))])).await;
        assert_eq!(results[0].as_str(), Some("created"), "{key}: {results:?}");
    }
}

#[tokio::test]
async fn keys_over_the_limit_or_not_utf8_are_refused() {
    let tarantool = TestTarantool::start_with(&[("KV_MAX_KEY_BYTES", "8")]);
    let client = client(&tarantool);
    let long = "k".repeat(9);
    for (key, reason) in [
        (Value::from(long.as_str()), "longer than 8 bytes"),
        // MessagePack bin arrives in Lua as a string too.
        (Value::Binary(vec![0xff, 0xfe]), "not UTF-8"),
        (Value::from(""), "non-empty string"),
        (Value::from(5), "non-empty string"),
    ] {
        for name in ["create", "delete"] {
            let mut op = vec![Value::from(name), key.clone()];
            if name == "create" {
                op.push(Value::Binary(vec![0x80]));
            }
            let results = batch(&client, Value::Array(vec![Value::Array(op)])).await;
            assert_eq!(results[0].as_str(), Some("bad_request"), "{name} {key}");
            assert!(results[1].as_str().unwrap().contains(reason), "{results:?}");
        }
        // A read of a key no write could store finds nothing; only a key
        // that is no string at all is refused.
        let get = Value::Array(vec![Value::Array(vec![Value::from("get"), key.clone()])]);
        let expected = if key.is_str() || key.is_bin() {
            "missing"
        } else {
            "bad_request"
        };
        assert_eq!(
            batch(&client, get).await[0].as_str(),
            Some(expected),
            "get {key}"
        );
    }
    let results = batch(
        &client,
        Value::Array(vec![op("create", "12345678", Some(vec![0x80]))]),
    )
    .await;
    assert_eq!(results[0].as_str(), Some("created"));
}

#[tokio::test]
async fn kv_batch_takes_only_a_real_array_of_bounded_length() {
    let tarantool = TestTarantool::start();
    let client = client(&tarantool);
    // A map whose keys 1, 2, 4, ... 2^24 make Lua's # say 16.7 million.
    let sparse: Vec<(Value, Value)> = (0..=24)
        .map(|i| (Value::from(1u64 << i), op("get", "k", None)))
        .collect();
    let started = Instant::now();
    let results = batch(&client, Value::Map(sparse)).await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(results[0].as_str(), Some("bad_request"));
    assert!(results[1]
        .as_str()
        .unwrap()
        .contains("array of at most 1024"));

    let too_many = Value::Array((0..1025).map(|_| op("get", "k", None)).collect());
    let results = batch(&client, too_many).await;
    assert_eq!(results[0].as_str(), Some("bad_request"));
    let at_limit = Value::Array((0..1024).map(|_| op("get", "k", None)).collect());
    assert_eq!(batch(&client, at_limit).await.len(), 4 * 1024);
}

#[tokio::test]
async fn a_record_written_around_the_gateway_is_a_500_on_get_and_delete_still_answers() {
    let tarantool = TestTarantool::start_with_hooks(&[]);
    let hooks = client(&tarantool);
    let app = spawn_app_with(test_settings(&tarantool.address())).await;
    app.wait_ready(Duration::from_secs(5)).await;
    let key = app.key("legacy");
    hooks
        .call_fn(
            "test_insert_raw",
            // The reserved byte 0xc1: no JSON can show it.
            &(key.as_str(), Value::Binary(map_of(&[0xc1]))),
        )
        .await
        .expect("the raw insert works");
    let response = app.get(&key).await;
    assert!(response.headers().get("retry-after").is_none());
    assert_json(response, 500, json!({"error": "internal error"})).await;
    assert_json(
        app.delete(&key).await,
        200,
        json!({"deleted": {"key": key, "value": null}}),
    )
    .await;
    assert_json(app.get(&key).await, 404, json!({"error": "key not found"})).await;
}
