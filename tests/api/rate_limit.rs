//! Per-client rate limiting on /kv, keyed by the real client address.

use reqwest::{Method, Response};
use serde_json::json;

use crate::helpers::{assert_json, shared_tarantool, spawn_app_with, test_settings, TestApp};

async fn limited_app(per_second: u64, burst: u32, trusted: &[&str]) -> TestApp {
    let mut settings = test_settings(shared_tarantool());
    settings.rate_limit.per_second = per_second;
    settings.rate_limit.burst = burst;
    settings.rate_limit.trusted_proxies = trusted.iter().map(|s| s.to_string()).collect();
    spawn_app_with(settings).await
}

async fn get_as(app: &TestApp, forwarded_for: &str) -> Response {
    app.client
        .get(format!("{}/kv/{}", app.address, app.key("rl")))
        .header("x-forwarded-for", forwarded_for)
        .send()
        .await
        .unwrap()
}

async fn assert_429(response: Response) {
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1, "Retry-After {retry_after}");
    assert_json(response, 429, json!({"error": "too many requests"})).await;
}

#[tokio::test]
async fn over_the_limit_is_429_with_retry_after() {
    let app = limited_app(1, 2, &[]).await;
    let key = app.key("x");
    assert_eq!(app.get(&key).await.status(), 404);
    assert_eq!(app.get(&key).await.status(), 404);
    assert_429(app.get(&key).await).await;
    assert_429(app.create(&key, &json!({})).await).await;
}

#[tokio::test]
async fn health_and_ready_are_not_limited() {
    let app = limited_app(1, 1, &[]).await;
    app.get(&app.key("x")).await;
    assert_429(app.get(&app.key("x")).await).await;
    for _ in 0..5 {
        assert_eq!(
            app.request(Method::GET, "/health", None).await.status(),
            200
        );
        assert_ne!(app.request(Method::GET, "/ready", None).await.status(), 429);
    }
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_cannot_dodge_the_limit() {
    let app = limited_app(1, 2, &[]).await;
    assert_eq!(get_as(&app, "198.51.100.1").await.status(), 404);
    assert_eq!(get_as(&app, "198.51.100.2").await.status(), 404);
    assert_429(get_as(&app, "198.51.100.3").await).await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_bucket() {
    let app = limited_app(1, 2, &["127.0.0.0/8"]).await;
    assert_eq!(get_as(&app, "198.51.100.1").await.status(), 404);
    assert_eq!(get_as(&app, "198.51.100.1").await.status(), 404);
    assert_429(get_as(&app, "198.51.100.1").await).await;
    // Another client behind the same proxy is not affected.
    assert_eq!(get_as(&app, "198.51.100.2").await.status(), 404);
    // Forged entries left of the proxy's own do not change the bucket.
    assert_429(get_as(&app, "203.0.113.5, 198.51.100.1").await).await;
    assert_429(get_as(&app, "203.0.113.6, 198.51.100.1").await).await;
}

#[tokio::test]
async fn per_second_zero_disables_the_limit() {
    let app = limited_app(0, 1, &[]).await;
    for _ in 0..50 {
        assert_eq!(app.get(&app.key("free")).await.status(), 404);
    }
}
