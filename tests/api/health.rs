//! Liveness and readiness.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::helpers::{assert_json, free_port, json_of, spawn_app, spawn_app_with, test_settings};

#[tokio::test]
async fn health_is_200() {
    let app = spawn_app().await;
    assert_json(
        app.request(Method::GET, "/health", None).await,
        200,
        json!({"status": "ok"}),
    )
    .await;
}

#[tokio::test]
async fn ready_is_200_when_tarantool_answers() {
    let app = spawn_app().await;
    app.wait_ready(Duration::from_secs(10)).await;
    assert_json(
        app.request(Method::GET, "/ready", None).await,
        200,
        json!({"status": "ready"}),
    )
    .await;
}

#[tokio::test]
async fn without_tarantool_health_is_200_and_ready_is_a_quick_503() {
    let app = spawn_app_with(test_settings(&format!("127.0.0.1:{}", free_port()))).await;
    assert_json(
        app.request(Method::GET, "/health", None).await,
        200,
        json!({"status": "ok"}),
    )
    .await;
    let started = Instant::now();
    let response = app.request(Method::GET, "/ready", None).await;
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(response.headers().get("retry-after").unwrap(), "1");
    assert_eq!(response.status(), 503);
    let body = json_of(response).await;
    assert_eq!(body["error"], "storage unavailable");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("not connected to Tarantool"),
        "{body}"
    );
}
