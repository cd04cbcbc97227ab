//! `GET /metrics`: counters and histograms move with the requests made,
//! with the right labels; the Tarantool connection's state shows; request
//! ids round-trip and reach the log, in both log formats.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::binary::Running;
use crate::helpers::{shared_tarantool, spawn_app_with, test_settings, TestApp, TestTarantool};
use crate::resources::{one_worker, wait_ready};

/// The samples of an exposition text: `name{labels}` -> value.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

async fn scrape(base: &str) -> HashMap<String, f64> {
    let response = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text; version=1.0.0"));
    samples(&response.text().await.unwrap())
}

fn value(samples: &HashMap<String, f64>, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}

async fn request(app: &TestApp, method: Method, path: &str, body: Option<&str>) -> u16 {
    app.request(method, path, body.map(|b| b.as_bytes().to_vec()))
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn each_request_moves_its_route_counter_and_histogram_by_one() {
    let app = spawn_app_with(test_settings(shared_tarantool())).await;
    let key = app.key("k");
    let create = json!({"key": key, "value": {}}).to_string();
    let cases: Vec<(Method, String, Option<String>, &str, u16)> = vec![
        (Method::POST, "/kv".into(), Some(create), "/kv", 200),
        (Method::GET, format!("/kv/{key}"), None, "/kv/{key}", 200),
        (
            Method::GET,
            format!("/kv/{key}-missing"),
            None,
            "/kv/{key}",
            404,
        ),
        (Method::HEAD, format!("/kv/{key}"), None, "/kv/{key}", 200),
        (Method::GET, format!("/kv?prefix={key}"), None, "/kv", 200),
        (
            Method::POST,
            "/txn".into(),
            Some(r#"{"ops":[]}"#.into()),
            "/txn",
            400,
        ),
        (Method::GET, "/indexes".into(), None, "/indexes", 200),
        (Method::GET, "/health".into(), None, "/health", 200),
        (Method::GET, "/ready".into(), None, "/ready", 200),
        (Method::GET, "/nowhere/at/all".into(), None, "other", 404),
        (Method::PUT, "/txn".into(), None, "/txn", 405),
        (Method::DELETE, format!("/kv/{key}"), None, "/kv/{key}", 200),
    ];
    for (method, path, body, route, status) in cases {
        let before = scrape(&app.address).await;
        let got = request(&app, method.clone(), &path, body.as_deref()).await;
        assert_eq!(got, status, "{method} {path}");
        let after = scrape(&app.address).await;
        let series = format!(
            r#"kv_http_requests_total{{route="{route}",method="{method}",status="{status}"}}"#
        );
        assert_eq!(
            value(&after, &series) - value(&before, &series),
            1.0,
            "{series}"
        );
        let count = format!(
            r#"kv_http_request_duration_seconds_count{{route="{route}",method="{method}"}}"#
        );
        assert_eq!(
            value(&after, &count) - value(&before, &count),
            1.0,
            "{count}"
        );
        // Scrapes are not counted, and the key is in no label.
        assert!(after.keys().all(|s| !s.contains(&key)));
        assert!(after.keys().all(|s| !s.contains("/metrics")));
    }
    let after = scrape(&app.address).await;
    assert!(
        value(
            &after,
            r#"kv_tarantool_calls_total{function="kv_batch",outcome="ok"}"#
        ) >= 6.0
    );
    assert!(
        value(
            &after,
            r#"kv_tarantool_batch_operations_count{lane="write"}"#
        ) >= 2.0
    );
    let build = after
        .keys()
        .find(|s| s.starts_with("kv_build_info{"))
        .expect("build info");
    assert!(
        build.contains(r#"version=""#) && build.contains(r#"commit=""#),
        "{build}"
    );
}

#[tokio::test]
async fn a_stopped_tarantool_shows_in_the_connection_gauge_and_the_error_counter() {
    let mut tarantool = TestTarantool::start();
    let mut settings = test_settings(&tarantool.address());
    settings.server.workers = 1;
    let app = spawn_app_with(settings).await;
    app.wait_ready(Duration::from_secs(10)).await;
    let up = r#"kv_tarantool_connected{worker="0",connection="batches"}"#;
    // The connection's supervisor reports its state on each of its ticks.
    let becomes = |wanted: f64| {
        let base = app.address.clone();
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            while value(&scrape(&base).await, up) != wanted {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{up} never {wanted}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    becomes(1.0).await;
    tarantool.kill();
    becomes(0.0).await;
    assert_eq!(app.get("k").await.status(), 503);
    let metrics = scrape(&app.address).await;
    let failed = r#"kv_tarantool_calls_total{function="kv_batch",outcome="not_applied"}"#;
    assert!(value(&metrics, failed) >= 1.0, "{metrics:?}");
    assert_eq!(
        value(
            &metrics,
            r#"kv_http_requests_total{route="/kv/{key}",method="GET",status="503"}"#
        ),
        1.0
    );
}

#[tokio::test]
async fn streams_and_rate_limited_requests_are_counted() {
    let mut settings = test_settings(shared_tarantool());
    settings.rate_limit.per_second = 1;
    settings.rate_limit.burst = 2;
    let app = spawn_app_with(settings).await;
    let mut ws = crate::streams::Ws::connect(&app.address).await;
    let metrics = scrape(&app.address).await;
    assert_eq!(value(&metrics, r#"kv_streams_open{kind="websocket"}"#), 1.0);
    for _ in 0..3 {
        ws.call(&json!({"id": 1, "op": "get", "key": app.key("k")}))
            .await;
    }
    for _ in 0..3 {
        app.get(&app.key("k")).await;
    }
    let metrics = scrape(&app.address).await;
    assert!(value(&metrics, r#"kv_rate_limited_total{protocol="websocket"}"#) >= 1.0);
    assert!(value(&metrics, r#"kv_rate_limited_total{protocol="http"}"#) >= 1.0);
}

#[tokio::test]
async fn request_ids_round_trip_and_are_in_every_line_of_their_request() {
    let tarantool = TestTarantool::start();
    let (gateway, _) = one_worker(&tarantool, &[("RUST_LOG", "info")]);
    let client = reqwest::Client::new();
    wait_ready(&client, &gateway.address).await;
    let sent = client
        .get(format!("{}/kv/missing", gateway.address))
        .header("X-Request-Id", "trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(sent.headers()["x-request-id"], "trace-42");
    // Not printable ASCII, or too long: replaced.
    for bad in ["has space", &"x".repeat(200)] {
        let replaced = client
            .get(format!("{}/health", gateway.address))
            .header("X-Request-Id", bad)
            .send()
            .await
            .unwrap();
        let id = replaced.headers()["x-request-id"].to_str().unwrap();
        assert!(id != bad && id.len() == 24, "{id}");
    }
    let made = client
        .get(format!("{}/kv/missing", gateway.address))
        .send()
        .await
        .unwrap();
    let made_id = made.headers()["x-request-id"].to_str().unwrap().to_owned();
    // A 5xx's cause line carries the id too.
    drop(tarantool);
    let failed = client
        .get(format!("{}/kv/k", gateway.address))
        .header("X-Request-Id", "trace-503")
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 503);
    let log = gateway.stop();
    let line = |id: &str| {
        log.lines()
            .filter(|l| l.contains(&format!("request={id}")))
            .count()
    };
    assert_eq!(line("trace-42"), 1, "{log}");
    assert_eq!(line(&made_id), 1, "{log}");
    assert_eq!(line("trace-503"), 2, "the cause and the access line: {log}");
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_with_the_access_fields() {
    let tarantool = TestTarantool::start();
    let (gateway, _) = one_worker(
        &tarantool,
        &[("RUST_LOG", "info"), ("KV__LOG__FORMAT", "json")],
    );
    let client = reqwest::Client::new();
    wait_ready(&client, &gateway.address).await;
    let created = client
        .post(format!("{}/kv", gateway.address))
        .header("X-Request-Id", "json-1")
        .body(r#"{"key":"a\u0001\"b","value":{}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    let log = gateway.stop();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let access = lines
        .iter()
        .find(|l| l["request_id"] == "json-1")
        .expect("the access line");
    assert_eq!(access["level"], "INFO");
    assert_eq!(access["method"], "POST");
    assert_eq!(access["route"], "/kv");
    assert_eq!(access["key"], "a\u{1}\"b");
    assert_eq!(access["status"], 200);
    assert!(access["latency_ms"].as_f64().unwrap() > 0.0);
    assert!(access["time"].is_string() && access["message"].is_string());
}

#[tokio::test]
async fn metrics_bind_serves_metrics_on_a_second_address() {
    let tarantool = TestTarantool::start();
    let port = crate::helpers::free_port();
    let (gateway, _) = one_worker(
        &tarantool,
        &[("KV__METRICS__BIND", &format!("127.0.0.1:{port}"))],
    );
    let client = reqwest::Client::new();
    wait_ready(&client, &gateway.address).await;
    let second = format!("http://127.0.0.1:{port}");
    let metrics = scrape(&second).await;
    assert!(metrics.keys().any(|s| s.starts_with("kv_build_info")));
    let elsewhere = client.get(format!("{second}/kv/k")).send().await.unwrap();
    assert_eq!(elsewhere.status(), 404);
    drop::<Running>(gateway);
}
