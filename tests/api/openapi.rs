//! `GET /openapi.json`: the document the code generates, as the committed file.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{
    assert_json, json_of, shared_tarantool, spawn_app, spawn_app_with, test_settings,
};

#[tokio::test]
async fn the_document_is_served_as_json_without_a_rate_limit() {
    let mut settings = test_settings(shared_tarantool());
    settings.rate_limit.per_second = 1;
    settings.rate_limit.burst = 1;
    let app = spawn_app_with(settings).await;
    for _ in 0..3 {
        let response = app.request(Method::GET, "/openapi.json", None).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers().get("content-type").unwrap(),
            "application/json"
        );
        let served = json_of(response).await;
        let generated: serde_json::Value =
            serde_json::from_str(&kv_gateway::openapi::to_json()).unwrap();
        assert_eq!(served, generated);
        assert_eq!(served["openapi"], "3.1.0");
    }
}

#[tokio::test]
async fn another_method_is_405_with_allow() {
    let app = spawn_app().await;
    let response = app.request(Method::POST, "/openapi.json", None).await;
    assert_eq!(response.headers().get("allow").unwrap(), "GET");
    assert_json(response, 405, json!({"error": "method not allowed"})).await;
}
