//! The CRUD contract, with exact statuses and bodies.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{assert_json, json_of, kv_path, raw_request, spawn_app};

#[tokio::test]
async fn create_then_get_returns_the_value() {
    let app = spawn_app().await;
    let key = app.key("a");
    assert_json(
        app.create(&key, &json!({"n": 1})).await,
        200,
        json!({"result": "record created"}),
    )
    .await;
    assert_json(app.get(&key).await, 200, json!({"value": {"n": 1}})).await;
}

#[tokio::test]
async fn create_of_an_existing_key_is_409_and_keeps_the_stored_value() {
    let app = spawn_app().await;
    let key = app.key("dup");
    app.create(&key, &json!({"v": "first"})).await;
    assert_json(
        app.create(&key, &json!({"v": "second"})).await,
        409,
        json!({"error": "key already exists"}),
    )
    .await;
    assert_json(app.get(&key).await, 200, json!({"value": {"v": "first"}})).await;
}

#[tokio::test]
async fn get_returns_404_for_a_missing_key() {
    let app = spawn_app().await;
    assert_json(
        app.get(&app.key("missing")).await,
        404,
        json!({"error": "key not found"}),
    )
    .await;
}

#[tokio::test]
async fn put_replaces_the_value_of_an_existing_key() {
    let app = spawn_app().await;
    let key = app.key("p");
    app.create(&key, &json!({"v": 1})).await;
    assert_json(
        app.update(&key, &json!({"w": [2]})).await,
        200,
        json!({"result": "record updated"}),
    )
    .await;
    assert_json(app.get(&key).await, 200, json!({"value": {"w": [2]}})).await;
}

#[tokio::test]
async fn put_of_a_missing_key_is_404_and_creates_nothing() {
    let app = spawn_app().await;
    let key = app.key("nope");
    assert_json(
        app.update(&key, &json!({"v": 1})).await,
        404,
        json!({"error": "key not found"}),
    )
    .await;
    assert_json(app.get(&key).await, 404, json!({"error": "key not found"})).await;
}

#[tokio::test]
async fn delete_returns_the_deleted_record_then_404() {
    let app = spawn_app().await;
    let key = app.key("d");
    app.create(&key, &json!({"v": true})).await;
    assert_json(
        app.delete(&key).await,
        200,
        json!({"deleted": {"key": key, "value": {"v": true}}}),
    )
    .await;
    assert_json(app.get(&key).await, 404, json!({"error": "key not found"})).await;
    assert_json(
        app.delete(&key).await,
        404,
        json!({"error": "key not found"}),
    )
    .await;
}

#[tokio::test]
async fn a_slash_in_the_key_may_be_raw_or_encoded() {
    let app = spawn_app().await;
    let key = app.key("a/b");
    app.create(&key, &json!({"v": 1})).await;
    let raw = format!("/kv/{key}");
    assert_json(
        app.request(Method::GET, &raw, None).await,
        200,
        json!({"value": {"v": 1}}),
    )
    .await;
    let encoded = format!("/kv/{}", key.replace('/', "%2F"));
    assert_json(
        app.request(Method::GET, &encoded, None).await,
        200,
        json!({"value": {"v": 1}}),
    )
    .await;
}

#[tokio::test]
async fn a_path_key_is_percent_decoded_exactly_once() {
    let app = spawn_app().await;
    let literal = app.key("100%2F");
    app.create(&literal, &json!({"v": "literal"})).await;
    // %25 decodes to '%' and stays: the key really is "...100%2F".
    let path = format!("/kv/{}", literal.replace('%', "%25"));
    assert_json(
        app.request(Method::GET, &path, None).await,
        200,
        json!({"value": {"v": "literal"}}),
    )
    .await;
    let once = format!("/kv/{}", app.key("100/"));
    assert_json(
        app.request(Method::GET, &once, None).await,
        404,
        json!({"error": "key not found"}),
    )
    .await;
}

#[tokio::test]
async fn unicode_keys_and_keys_with_reserved_characters_work() {
    let app = spawn_app().await;
    for name in [
        "café ☕",
        "a?b#c",
        "sp ace",
        "plus+sign",
        "nul\u{0}byte",
        "emoji😀",
    ] {
        let key = app.key(name);
        assert_json(
            app.create(&key, &json!({"k": name})).await,
            200,
            json!({"result": "record created"}),
        )
        .await;
        assert_json(app.get(&key).await, 200, json!({"value": {"k": name}})).await;
        let deleted = json_of(app.delete(&key).await).await;
        assert_eq!(deleted["deleted"]["key"], json!(key));
    }
}

#[tokio::test]
async fn a_key_of_exactly_the_limit_works_and_one_byte_more_is_400() {
    let app = spawn_app().await;
    let prefix = app.key("");
    let at_limit = format!("{prefix}{}", "k".repeat(1024 - prefix.len()));
    assert_json(
        app.create(&at_limit, &json!({})).await,
        200,
        json!({"result": "record created"}),
    )
    .await;
    assert_json(app.get(&at_limit).await, 200, json!({"value": {}})).await;
    let over = format!("{at_limit}k");
    assert_json(
        app.create(&over, &json!({})).await,
        400,
        json!({"error": "invalid request body", "detail": "key is longer than 1024 bytes"}),
    )
    .await;
    let invalid_key = json!({"error": "invalid key", "detail": "key is longer than 1024 bytes"});
    assert_json(app.get(&over).await, 400, invalid_key.clone()).await;
    assert_json(
        app.update(&over, &json!({})).await,
        400,
        invalid_key.clone(),
    )
    .await;
    assert_json(app.delete(&over).await, 400, invalid_key).await;
}

#[tokio::test]
async fn values_round_trip_exactly() {
    let app = spawn_app().await;
    let key = app.key("types");
    let body = r#"{"key":"KEY","value":{"max_u64":18446744073709551615,"min_i64":-9223372036854775808,"zero":0,"float":1.0,"neg_float":-2.5,"tiny":5e-324,"null":null,"t":true,"f":false,"empty_obj":{},"empty_arr":[],"nul":"a\u0000b","uni":"ünï😀","arr":[1,"two",3.0,null,{"x":[]}]}}"#
        .replace("KEY", &key);
    assert_eq!(app.create_raw(body).await.status(), 200);
    let text = app.get(&key).await.text().await.unwrap();
    assert_eq!(
        text,
        r#"{"value":{"max_u64":18446744073709551615,"min_i64":-9223372036854775808,"zero":0,"float":1.0,"neg_float":-2.5,"tiny":5e-324,"null":null,"t":true,"f":false,"empty_obj":{},"empty_arr":[],"nul":"a\u0000b","uni":"ünï😀","arr":[1,"two",3.0,null,{"x":[]}]}}"#
    );
}

#[tokio::test]
async fn a_value_nested_100_levels_deep_round_trips() {
    let app = spawn_app().await;
    let key = app.key("deep");
    let nested = format!("{}{{}}{}", "{\"a\":".repeat(99), "}".repeat(99));
    let body = format!(r#"{{"key":{},"value":{nested}}}"#, json!(key));
    assert_eq!(app.create_raw(body).await.status(), 200);
    let text = app.get(&key).await.text().await.unwrap();
    assert_eq!(text, format!(r#"{{"value":{nested}}}"#));
}

#[tokio::test]
async fn put_keeps_exact_types_too() {
    let app = spawn_app().await;
    let key = app.key("put-types");
    app.create(&key, &json!({})).await;
    let response = app
        .update_raw(
            &key,
            r#"{"value":{"f":2.0,"i":2,"big":18446744073709551615}}"#,
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        app.get(&key).await.text().await.unwrap(),
        r#"{"value":{"f":2.0,"i":2,"big":18446744073709551615}}"#
    );
}

#[tokio::test]
async fn sixty_four_concurrent_creates_of_one_key_have_exactly_one_winner() {
    let app = spawn_app().await;
    let key = app.key("race");
    let attempts = (0..64).map(|i| {
        let app = &app;
        let key = &key;
        async move { app.create(key, &json!({ "writer": i })).await }
    });
    let responses = futures::future::join_all(attempts).await;
    let mut created = 0;
    let mut conflicts = 0;
    for response in responses {
        match response.status().as_u16() {
            200 => created += 1,
            409 => {
                assert_eq!(
                    json_of(response).await,
                    json!({"error": "key already exists"})
                );
                conflicts += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((created, conflicts), (1, 63));
}

#[tokio::test]
async fn a_body_is_json_whatever_its_content_type() {
    let app = spawn_app().await;
    let key = app.key("ct");
    let response = app
        .client
        .post(format!("{}/kv", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(json!({"key": key, "value": {"a": 1}}).to_string())
        .send()
        .await
        .unwrap();
    assert_json(response, 200, json!({"result": "record created"})).await;
}

#[tokio::test]
async fn the_key_path_helper_escapes_everything_reserved() {
    assert_eq!(kv_path("a/b c%"), "/kv/a%2Fb%20c%25");
}

#[tokio::test]
async fn post_with_a_trailing_slash_creates_like_post_kv() {
    let app = spawn_app().await;
    let key = app.key("slash-post");
    let body = json!({"key": key, "value": {"v": 1}}).to_string();
    assert_json(
        app.request(Method::POST, "/kv/", Some(body.clone().into_bytes()))
            .await,
        200,
        json!({"result": "record created"}),
    )
    .await;
    assert_json(
        app.request(Method::POST, "/kv/", Some(body.into_bytes()))
            .await,
        409,
        json!({"error": "key already exists"}),
    )
    .await;
    assert_json(app.get(&key).await, 200, json!({"value": {"v": 1}})).await;
    // Any other key path still takes no POST; `/kv/k/` is the key `k/`.
    let response = app.request(Method::POST, "/kv/k/", None).await;
    assert_eq!(
        response.headers().get("allow").unwrap(),
        "GET, HEAD, PUT, PATCH, DELETE"
    );
    assert_eq!(response.status(), 405);
    let trailing = app.key("t/");
    app.create(&trailing, &json!({"slash": true})).await;
    assert_json(
        app.request(Method::GET, &format!("/kv/{trailing}"), None)
            .await,
        200,
        json!({"value": {"slash": true}}),
    )
    .await;
}

#[tokio::test]
async fn dot_segments_written_as_percent_2e_are_keys() {
    let app = spawn_app().await;
    let key = app.key("a/../b/.");
    app.create(&key, &json!({"dots": true})).await;
    // As curl sends it; WHATWG URL parsers (reqwest, browsers) would drop
    // %2E segments too, so the request is written by hand.
    let path = format!("/kv/{}", key.replace('.', "%2E"));
    let response = raw_request(&app, &format!("GET {path} HTTP/1.1\r\nHost: t"), b"");
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.body, r#"{"value":{"dots":true}}"#);
}
