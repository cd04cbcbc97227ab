//! Bad input: a clear 4xx JSON error, and nothing changes.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{
    assert_json, json_of, shared_tarantool, spawn_app, spawn_app_with, test_settings, TestApp,
};

fn invalid_body(detail: &str) -> Value {
    json!({"error": "invalid request body", "detail": detail})
}

/// POSTs `body`, expects 400 with a detail containing `detail_part`, and no record for the key.
async fn assert_rejected_create(app: &TestApp, body: &[u8], detail_part: &str) {
    let response = app.create_raw(body.to_vec()).await;
    assert_eq!(
        response.status(),
        400,
        "body {:?}",
        String::from_utf8_lossy(body)
    );
    let json: Value = response.json().await.unwrap();
    assert_eq!(json["error"], "invalid request body");
    let detail = json["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(detail_part),
        "detail {detail:?} lacks {detail_part:?}"
    );
    assert_eq!(json.as_object().map(|o| o.len()), Some(2), "{json}");
}

#[tokio::test]
async fn invalid_create_bodies_are_400_with_a_detail() {
    let app = spawn_app().await;
    let key = app.key("bad");
    let k = json!(key).to_string();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"".to_vec(), "request body is empty"),
        (b"not json".to_vec(), "request body must be a JSON object"),
        (
            format!(r#"{{"key":{k},"value":{{"a":"#).into_bytes(),
            "EOF while parsing",
        ),
        (
            b"{\"key\":\"\xff\xfe\",\"value\":{}}".to_vec(),
            "invalid unicode",
        ),
        (b"[1,2]".to_vec(), "request body must be a JSON object"),
        (
            b"\"just a string\"".to_vec(),
            "request body must be a JSON object",
        ),
        (br#"{"value":{}}"#.to_vec(), "missing field `key`"),
        (
            format!(r#"{{"key":{k}}}"#).into_bytes(),
            "missing field `value`",
        ),
        (
            br#"{"key":42,"value":{}}"#.to_vec(),
            "invalid type: integer `42`, expected a string",
        ),
        (br#"{"key":null,"value":{}}"#.to_vec(), "expected a string"),
        (
            br#"{"key":"","value":{}}"#.to_vec(),
            "key must not be empty",
        ),
        (
            format!(r#"{{"key":{k},"value":[1]}}"#).into_bytes(),
            "value must be a JSON object",
        ),
        (
            format!(r#"{{"key":{k},"value":"s"}}"#).into_bytes(),
            "value must be a JSON object",
        ),
        (
            format!(r#"{{"key":{k},"value":null}}"#).into_bytes(),
            "value must be a JSON object",
        ),
        (
            format!(r#"{{"key":{k},"value":{{}}}} extra"#).into_bytes(),
            "trailing characters",
        ),
    ];
    for (body, detail) in cases {
        assert_rejected_create(&app, &body, detail).await;
    }
    assert_json(app.get(&key).await, 404, json!({"error": "key not found"})).await;
}

#[tokio::test]
async fn an_exact_invalid_body_error_is_pinned() {
    let app = spawn_app().await;
    assert_json(
        app.create_raw("").await,
        400,
        invalid_body("request body is empty"),
    )
    .await;
    assert_json(
        app.create_raw(r#"{"key":"k","value":5}"#).await,
        400,
        invalid_body("value must be a JSON object"),
    )
    .await;
}

#[tokio::test]
async fn invalid_put_bodies_are_400_and_leave_the_value_alone() {
    let app = spawn_app().await;
    let key = app.key("keep");
    app.create(&key, &json!({"v": "original"})).await;
    for (body, detail) in [
        (&b""[..], "request body is empty"),
        (b"{", "EOF while parsing"),
        (b"{}", "missing field `value`"),
        (br#"{"value":[]}"#, "value must be a JSON object"),
        (b"{\"value\":{\"a\":\"\xc3\"}}", "invalid unicode"),
    ] {
        let response = app.update_raw(&key, body.to_vec()).await;
        assert_eq!(response.status(), 400);
        let json: Value = response.json().await.unwrap();
        assert_eq!(json["error"], "invalid request body");
        assert!(json["detail"].as_str().unwrap().contains(detail), "{json}");
    }
    assert_json(
        app.get(&key).await,
        200,
        json!({"value": {"v": "original"}}),
    )
    .await;
}

#[tokio::test]
async fn an_invalid_body_is_refused_before_the_key_is_looked_up() {
    let app = spawn_app().await;
    // The key does not exist: an invalid body must still be 400, not 404.
    assert_json(
        app.update_raw(&app.key("absent"), "{").await,
        400,
        invalid_body("EOF while parsing an object at line 1 column 1"),
    )
    .await;
}

#[tokio::test]
async fn unknown_fields_are_ignored() {
    let app = spawn_app().await;
    let key = app.key("extra");
    let body = json!({"key": key, "value": {"a": 1}, "ttl": 5, "nested": {"x": 1}});
    assert_json(
        app.create_raw(body.to_string()).await,
        200,
        json!({"result": "record created"}),
    )
    .await;
    let update = json!({"value": {"b": 2}, "note": "ignored-too"});
    assert_json(
        app.update_raw(&key, update.to_string()).await,
        200,
        json!({"result": "record updated"}),
    )
    .await;
    assert_json(app.get(&key).await, 200, json!({"value": {"b": 2}})).await;
}

#[tokio::test]
async fn a_put_body_may_repeat_its_key_but_a_different_one_is_400() {
    let app = spawn_app().await;
    let key = app.key("same");
    app.create(&key, &json!({"v": 1})).await;
    let same = json!({"key": key, "value": {"v": 2}});
    assert_json(
        app.update_raw(&key, same.to_string()).await,
        200,
        json!({"result": "record updated"}),
    )
    .await;
    let other = json!({"key": app.key("other"), "value": {"v": 3}});
    assert_json(
        app.update_raw(&key, other.to_string()).await,
        400,
        invalid_body("the key in the body differs from the key in the path"),
    )
    .await;
    assert_json(app.get(&key).await, 200, json!({"value": {"v": 2}})).await;
}

#[tokio::test]
async fn integers_beyond_the_stored_range_are_400_not_floats() {
    let app = spawn_app().await;
    let key = app.key("big-int");
    let k = json!(key).to_string();
    for (number, detail) in [
        (
            "18446744073709551616",
            "integer 18446744073709551616 is out of range",
        ),
        (
            "-9223372036854775809",
            "integer -9223372036854775809 is out of range",
        ),
    ] {
        let body = format!(r#"{{"key":{k},"value":{{"x":[{number}]}}}}"#);
        let response = app.create_raw(body).await;
        assert_eq!(response.status(), 400);
        let json = json_of(response).await;
        assert_eq!(json["error"], "invalid request body");
        assert!(
            json["detail"].as_str().unwrap().starts_with(detail),
            "{json}"
        );
    }
    assert_json(app.get(&key).await, 404, json!({"error": "key not found"})).await;

    // The edges themselves, and floats written as floats, are fine.
    let body = format!(
        r#"{{"key":{k},"value":{{"max":18446744073709551615,"min":-9223372036854775808,"f":1.8446744073709552e19}}}}"#
    );
    assert_eq!(app.create_raw(body).await.status(), 200);
    let put = r#"{"value":{"x":99999999999999999999}}"#;
    let response = app.update_raw(&key, put).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        app.get(&key).await.text().await.unwrap(),
        r#"{"value":{"max":18446744073709551615,"min":-9223372036854775808,"f":1.8446744073709552e+19}}"#
    );
}

#[tokio::test]
async fn duplicate_member_names_at_any_depth_are_400() {
    let app = spawn_app().await;
    let key = app.key("dup-names");
    let k = json!(key).to_string();
    let body = format!(r#"{{"key":{k},"value":{{"a":1,"a":2}}}}"#);
    let detail = format!(
        "duplicate member name \"a\" at line 1 column {}",
        body.len() - 1
    );
    assert_json(app.create_raw(body).await, 400, invalid_body(&detail)).await;
    let nested = format!(r#"{{"key":{k},"value":{{"x":[{{"b":1,"\u0062":2}}]}}}}"#);
    let response = app.create_raw(nested).await;
    assert_eq!(response.status(), 400);
    let json = json_of(response).await;
    assert!(
        json["detail"]
            .as_str()
            .unwrap()
            .starts_with(r#"duplicate member name "b""#),
        "{json}"
    );
    assert_json(app.get(&key).await, 404, json!({"error": "key not found"})).await;
    app.create(&key, &json!({"a": 1})).await;
    let response = app
        .update_raw(&key, r#"{"value":{"a":{"c":1,"c":1}}}"#)
        .await;
    assert_eq!(response.status(), 400);
    assert_json(app.get(&key).await, 200, json!({"value": {"a": 1}})).await;
}

#[tokio::test]
async fn a_body_one_byte_over_the_limit_is_413_and_at_the_limit_is_accepted() {
    let mut settings = test_settings(shared_tarantool());
    settings.limits.max_body_bytes = 1000;
    let app = spawn_app_with(settings).await;
    let key = app.key("big");
    let make = |len: usize| {
        let head = format!(r#"{{"key":{},"value":{{"s":""#, json!(key));
        let tail = r#""}}"#;
        format!("{head}{}{tail}", "x".repeat(len - head.len() - tail.len()))
    };
    assert_json(
        app.create_raw(make(1001)).await,
        413,
        json!({"error": "payload too large"}),
    )
    .await;
    assert_json(app.get(&key).await, 404, json!({"error": "key not found"})).await;
    assert_json(
        app.create_raw(make(1000)).await,
        200,
        json!({"result": "record created"}),
    )
    .await;
    assert_json(
        app.update_raw(&key, "x".repeat(1001)).await,
        413,
        json!({"error": "payload too large"}),
    )
    .await;
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_413() {
    let mut settings = test_settings(shared_tarantool());
    settings.limits.max_body_bytes = 1000;
    let app = spawn_app_with(settings).await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..20).map(|_| Ok(vec![b' '; 100])).collect();
    let response = app
        .client
        .post(format!("{}/kv", app.address))
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_json(response, 413, json!({"error": "payload too large"})).await;
}

#[tokio::test]
async fn the_default_body_limit_is_one_mebibyte() {
    let app = spawn_app().await;
    let key = app.key("mib");
    let head = format!(r#"{{"key":{},"value":{{"s":""#, json!(key));
    let fill = 1024 * 1024 - head.len() - 3;
    let body = format!("{head}{}\"}}}}", "x".repeat(fill));
    assert_eq!(body.len(), 1024 * 1024);
    assert_json(
        app.create_raw(body.clone()).await,
        200,
        json!({"result": "record created"}),
    )
    .await;
    let over = format!("{head}{}\"}}}}", "x".repeat(fill + 1));
    assert_json(
        app.create_raw(over).await,
        413,
        json!({"error": "payload too large"}),
    )
    .await;
}

#[tokio::test]
async fn absurd_nesting_is_400_not_a_crash() {
    let app = spawn_app().await;
    let key = app.key("abyss");
    let body = format!(
        r#"{{"key":{},"value":{{"a":{}{}}}}}"#,
        json!(key),
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let response = app.create_raw(body).await;
    assert_eq!(response.status(), 400);
    let json: Value = response.json().await.unwrap();
    assert!(
        json["detail"]
            .as_str()
            .unwrap()
            .contains("recursion limit exceeded"),
        "{json}"
    );
    // And the gateway still serves.
    assert_json(app.get(&key).await, 404, json!({"error": "key not found"})).await;
}

#[tokio::test]
async fn a_path_key_that_is_not_utf8_is_400() {
    let app = spawn_app().await;
    assert_json(
        app.request(Method::GET, "/kv/%FF%FE", None).await,
        400,
        json!({"error": "invalid key", "detail": "key is not valid UTF-8 once percent-decoded"}),
    )
    .await;
}

#[tokio::test]
async fn an_empty_path_key_is_400() {
    let app = spawn_app().await;
    assert_json(
        app.request(Method::GET, "/kv/", None).await,
        400,
        json!({"error": "invalid key", "detail": "key must not be empty"}),
    )
    .await;
}

#[tokio::test]
async fn an_unknown_route_is_404_json() {
    let app = spawn_app().await;
    for path in ["/", "/nope", "/kvx", "/health/extra"] {
        assert_json(
            app.request(Method::GET, path, None).await,
            404,
            json!({"error": "not found"}),
        )
        .await;
    }
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow() {
    let app = spawn_app().await;
    for (method, path, allow) in [
        (Method::PUT, "/kv", "GET, POST, DELETE"),
        (Method::PATCH, "/kv", "GET, POST, DELETE"),
        (
            Method::POST,
            "/kv/some-key",
            "GET, HEAD, PUT, PATCH, DELETE",
        ),
        (
            Method::OPTIONS,
            "/kv/some-key",
            "GET, HEAD, PUT, PATCH, DELETE",
        ),
        (Method::OPTIONS, "/kv/", "POST"),
        (Method::GET, "/txn", "POST"),
        (Method::POST, "/health", "GET"),
        (Method::DELETE, "/ready", "GET"),
    ] {
        let response = app.request(method.clone(), path, None).await;
        assert_eq!(
            response.headers().get("allow").unwrap(),
            allow,
            "{method} {path}"
        );
        assert_json(response, 405, json!({"error": "method not allowed"})).await;
    }
}
