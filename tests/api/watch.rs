//! `GET /watch`: the change feed as Server-Sent Events, across two gateways
//! on one Tarantool.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::helpers::{
    assert_json, kv_path, shared_tarantool, spawn_app, spawn_app_with, test_settings, TestApp,
    TestTarantool,
};
use crate::streams::{kinds_and_keys, watch_request, Sse};

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

async fn send(app: &TestApp, method: Method, path: &str, body: serde_json::Value) -> u16 {
    app.request(method, path, Some(body.to_string().into_bytes()))
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_watcher_on_one_gateway_sees_every_change_through_another_in_order_once() {
    let (a, b) = (spawn_app().await, spawn_app().await);
    let prefix = a.key("");
    let mut sse = Sse::open(&b.address, &format!("prefix={prefix}"), &[]).await;
    let k = |name: &str| a.key(name);
    assert_eq!(a.create(&k("x"), &json!({"n": 1.0})).await.status(), 200);
    assert_eq!(a.update(&k("x"), &json!({"n": 2})).await.status(), 200);
    let patched = a
        .request(
            Method::PATCH,
            &kv_path(&k("x")),
            Some(br#"{"m": true}"#.to_vec()),
        )
        .await;
    assert_eq!(patched.status(), 200);
    assert_eq!(a.delete(&k("x")).await.status(), 200);
    let txn = json!({"ops": [
        {"op": "create", "key": k("t1"), "value": {}},
        {"op": "create", "key": k("t2"), "value": {"v": [1]}},
    ]});
    assert_eq!(send(&a, Method::POST, "/txn", txn).await, 200);
    let brief = json!({"key": k("brief"), "value": {}});
    assert_eq!(send(&a, Method::POST, "/kv?ttl=1", brief).await, 200);
    // Not under the prefix: never seen.
    assert_eq!(b.create(&b.key("other"), &json!({})).await.status(), 200);
    let deleted = a
        .request(Method::DELETE, &format!("/kv?prefix={}t", prefix), None)
        .await;
    assert_eq!(deleted.status(), 200);

    let events = sse.take(10).await;
    assert_eq!(
        kinds_and_keys(&events),
        pairs(&[
            ("put", &k("x")),
            ("put", &k("x")),
            ("put", &k("x")),
            ("delete", &k("x")),
            ("put", &k("t1")),
            ("put", &k("t2")),
            ("put", &k("brief")),
            ("delete", &k("t1")),
            ("delete", &k("t2")),
            ("expire", &k("brief")),
        ])
    );
    assert!(events.windows(2).all(|w| w[0].id < w[1].id), "{events:?}");
    for event in &events {
        assert_eq!(event.data["revision"], event.id);
    }
    // Values are exact, and only puts carry one.
    assert_eq!(events[0].data["value"], json!({"n": 1.0}));
    assert_eq!(
        events[0].data.to_string(),
        format!(
            r#"{{"key":"{}","revision":{},"value":{{"n":1.0}}}}"#,
            k("x"),
            events[0].id
        )
    );
    assert_eq!(events[2].data["value"], json!({"n": 2, "m": true}));
    assert!(events[3].data.get("value").is_none());
    // Exactly once: nothing more comes within a second.
    let more = tokio::time::timeout(Duration::from_secs(1), sse.next()).await;
    assert!(more.is_err(), "an unexpected event: {more:?}");
}

#[tokio::test]
async fn reconnecting_with_last_event_id_or_since_loses_nothing() {
    let (a, b) = (spawn_app().await, spawn_app().await);
    let prefix = a.key("");
    let query = format!("prefix={prefix}");
    let mut sse = Sse::open(&b.address, &query, &[]).await;
    for i in 0..3 {
        a.create(&a.key(&format!("k{i}")), &json!({"i": i})).await;
    }
    let seen = sse.take(2).await;
    drop(sse);
    for i in 3..6 {
        a.create(&a.key(&format!("k{i}")), &json!({"i": i})).await;
    }
    let last = seen[1].id.to_string();
    let mut resumed = Sse::open(&b.address, &query, &[("Last-Event-ID", &last)]).await;
    let rest = resumed.take(4).await;
    let keys: Vec<String> = rest
        .iter()
        .map(|e| e.data["key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys, ["k2", "k3", "k4", "k5"].map(|k| a.key(k)));
    // `since` works the same, and Last-Event-ID wins over it.
    let mut by_since = Sse::open(&a.address, &format!("{query}&since={}", seen[0].id), &[]).await;
    assert_eq!(by_since.next().await.unwrap().id, seen[1].id);
    let mut both = Sse::open(
        &a.address,
        &format!("{query}&since={}", seen[0].id),
        &[("Last-Event-ID", &rest[2].id.to_string())],
    )
    .await;
    assert_eq!(both.next().await.unwrap().id, rest[3].id);
}

#[tokio::test]
async fn without_since_a_stream_starts_at_the_current_revision() {
    let app = spawn_app().await;
    let key = app.key("k");
    app.create(&key, &json!({"v": "before"})).await;
    let mut sse = Sse::open(&app.address, &format!("key={key}"), &[]).await;
    app.update(&key, &json!({"v": "after"})).await;
    let event = sse.next().await.unwrap();
    assert_eq!(event.data["value"], json!({"v": "after"}));
    assert!(sse.comments[0].starts_with("watching changes after revision"));
}

#[tokio::test]
async fn a_key_watch_sees_only_that_key() {
    let app = spawn_app().await;
    let key = app.key("k");
    let mut sse = Sse::open(&app.address, &format!("key={key}"), &[]).await;
    app.create(&app.key("k2"), &json!({})).await;
    app.create(&app.key("j"), &json!({})).await;
    app.create(&key, &json!({})).await;
    let event = sse.next().await.unwrap();
    assert_eq!(event.data["key"], key);
}

#[tokio::test]
async fn a_revision_the_feed_no_longer_holds_is_410_with_the_oldest() {
    let tarantool = TestTarantool::start_with(&[("TARANTOOL_FEED_MAX_EVENTS", "5")]);
    let app = spawn_app_with(test_settings(&tarantool.address())).await;
    for i in 0..20 {
        app.create(&format!("k{i}"), &json!({})).await;
    }
    // The trimmer runs every 100 ms.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let response = watch_request(&app.address, "since=1", &[]).await;
    assert_eq!(response.status(), 410);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "revision compacted");
    let oldest = body["oldest"].as_u64().unwrap();
    assert_eq!(oldest, 16, "{body}");
    // From there on, everything is there.
    let mut sse = Sse::open(&app.address, &format!("since={}", oldest - 1), &[]).await;
    let events = sse.take(5).await;
    assert_eq!(events[0].id, oldest);
    assert_eq!(events[4].id, 20);
    // A revision after the store's last is no resume point either.
    let response = watch_request(&app.address, "since=1000", &[]).await;
    assert_eq!(response.status(), 410);
    let response = watch_request(&app.address, "", &[("Last-Event-ID", "3")]).await;
    assert_eq!(response.status(), 410);
}

#[tokio::test]
async fn a_watcher_goes_on_after_a_tarantool_restart_without_loss_or_repeat() {
    let mut tarantool = TestTarantool::start();
    let mut settings = test_settings(&tarantool.address());
    settings.watch.poll_wait_ms = 500;
    let app = spawn_app_with(settings).await;
    let mut sse = Sse::open(&app.address, "", &[]).await;
    app.create("a", &json!({})).await;
    app.create("b", &json!({})).await;
    let before = sse.take(2).await;
    tarantool.restart();
    app.wait_ready(Duration::from_secs(10)).await;
    // The feed lives in memory: history before the restart is gone, and a
    // watcher that was behind is told so.
    let behind = watch_request(&app.address, &format!("since={}", before[0].id), &[]).await;
    assert_eq!(behind.status(), 410);
    let body: serde_json::Value = behind.json().await.unwrap();
    assert_eq!(body["oldest"], before[1].id + 1);
    app.create("c", &json!({})).await;
    app.delete("a").await;
    let after = sse.take(2).await;
    assert_eq!(
        kinds_and_keys(&after),
        pairs(&[("put", "c"), ("delete", "a")])
    );
    assert_eq!(after[0].id, before[1].id + 1);
    let more = tokio::time::timeout(Duration::from_millis(700), sse.next()).await;
    assert!(more.is_err(), "an unexpected event: {more:?}");
}

#[tokio::test]
async fn an_idle_stream_gets_comments() {
    let mut settings = test_settings(shared_tarantool());
    settings.watch.heartbeat_ms = 100;
    let app = spawn_app_with(settings).await;
    let mut sse = Sse::open(&app.address, &format!("key={}", app.key("quiet")), &[]).await;
    tokio::time::sleep(Duration::from_millis(450)).await;
    app.create(&app.key("quiet"), &json!({})).await;
    sse.next().await.unwrap();
    let beats = sse.comments.iter().filter(|c| *c == "keep-alive").count();
    assert!(beats >= 3, "{:?}", sse.comments);
}

#[tokio::test]
async fn bad_watch_requests_are_400_and_others_405() {
    let app = spawn_app().await;
    for (query, headers) in [
        ("since=abc", vec![]),
        ("since=-1", vec![]),
        ("key=a&prefix=b", vec![]),
        ("key=", vec![]),
        ("colour=red", vec![]),
        ("", vec![("Last-Event-ID", "x")]),
    ] {
        let response = watch_request(&app.address, query, &headers).await;
        assert_eq!(response.status(), 400, "{query} {headers:?}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["error"].is_string(), "{body}");
    }
    assert_json(
        app.request(Method::POST, "/watch", None).await,
        405,
        json!({"error": "method not allowed"}),
    )
    .await;
}

#[tokio::test]
async fn two_gateway_processes_hand_every_change_to_watchers_of_both_kinds() {
    use crate::resources::{one_worker, wait_ready};
    use crate::streams::Ws;
    let tarantool = TestTarantool::start();
    let (a, _) = one_worker(&tarantool, &[]);
    let (b, _) = one_worker(&tarantool, &[]);
    let client = reqwest::Client::new();
    wait_ready(&client, &a.address).await;
    wait_ready(&client, &b.address).await;
    let mut sse = Sse::open(&b.address, "", &[]).await;
    let mut watcher = Ws::connect(&b.address).await;
    let started = watcher.call(&json!({"id": "all", "op": "watch"})).await;
    assert_eq!(started["status"], 200);
    // Writes through A, over HTTP and over a WebSocket.
    let post = |body: serde_json::Value, path: &str| {
        client
            .post(format!("{}{path}", a.address))
            .body(body.to_string())
            .send()
    };
    assert_eq!(
        post(json!({"key": "h", "value": {"n": 1}}), "/kv")
            .await
            .unwrap()
            .status(),
        200
    );
    let mut writer = Ws::connect(&a.address).await;
    for message in [
        json!({"id": 1, "op": "create", "key": "w", "value": {"n": 2}}),
        json!({"id": 2, "op": "patch", "key": "h", "merge": {"m": 3}}),
        json!({"id": 3, "op": "txn", "ops": [{"op": "delete", "key": "w"}, {"op": "update", "key": "h", "value": {}}]}),
        json!({"id": 4, "op": "create", "key": "brief", "value": {}, "ttl": 1}),
    ] {
        let reply = writer.call(&message).await;
        assert_eq!(reply["status"], 200, "{reply}");
    }
    let expected = pairs(&[
        ("put", "h"),
        ("put", "w"),
        ("put", "h"),
        ("delete", "w"),
        ("put", "h"),
        ("put", "brief"),
        ("expire", "brief"),
    ]);
    let events = sse.take(expected.len()).await;
    assert_eq!(kinds_and_keys(&events), expected);
    let revisions: Vec<u64> = events.iter().map(|e| e.id).collect();
    assert_eq!(revisions, (1..=7).collect::<Vec<u64>>());
    for (i, event) in events.iter().enumerate() {
        let message = watcher.recv().await;
        assert_eq!(message["watch"], "all");
        assert_eq!(message["event"], event.kind.as_str(), "{i}");
        assert_eq!(message["key"], event.data["key"], "{i}");
        assert_eq!(message["revision"], event.id, "{i}");
        assert_eq!(message.get("value"), event.data.get("value"), "{i}");
    }
    let more = tokio::time::timeout(Duration::from_millis(500), sse.next()).await;
    assert!(more.is_err(), "an unexpected event: {more:?}");
}

#[tokio::test]
async fn the_feed_is_trimmed_by_bytes_and_by_age_too() {
    async fn oldest_after(env: &[(&str, &str)], writes: usize, value: &str, wait_ms: u64) -> u64 {
        let tarantool = TestTarantool::start_with(env);
        let app = spawn_app_with(test_settings(&tarantool.address())).await;
        for i in 0..writes {
            let created = app.create(&format!("k{i}"), &json!({"s": value})).await;
            assert_eq!(created.status(), 200);
        }
        tokio::time::sleep(Duration::from_millis(wait_ms)).await;
        let response = watch_request(&app.address, "since=0", &[]).await;
        if response.status() == 200 {
            return 1;
        }
        assert_eq!(response.status(), 410);
        let body: serde_json::Value = response.json().await.unwrap();
        body["oldest"].as_u64().unwrap()
    }
    // 20 events of ~10 KB each, at most 50 KB kept: only the last few.
    let by_bytes = oldest_after(
        &[("TARANTOOL_FEED_MAX_BYTES", "50000")],
        20,
        &"x".repeat(10_000),
        500,
    )
    .await;
    assert!((15..=20).contains(&by_bytes), "oldest {by_bytes}");
    // Events older than a second go.
    let by_age = oldest_after(&[("TARANTOOL_FEED_MAX_AGE_S", "1")], 3, "x", 1500).await;
    assert_eq!(by_age, 4);
    // Within every bound, everything is kept.
    assert_eq!(oldest_after(&[], 3, "x", 300).await, 1);
}
