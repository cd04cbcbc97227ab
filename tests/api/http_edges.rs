//! What a client can do to the HTTP layer: a body that never finishes, an
//! oversized body announced with `Expect: 100-continue`, requests actix
//! refuses before the app runs.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{
    assert_json, shared_tarantool, spawn_app, spawn_app_with, test_settings, TestApp,
};

fn connect(app: &TestApp) -> TcpStream {
    let stream = TcpStream::connect(app.address.trim_start_matches("http://")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Everything the server sends until it closes the connection.
fn read_all(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_408_and_the_connection_closed() {
    let mut settings = test_settings(shared_tarantool());
    settings.server.client_body_timeout_ms = 500;
    let app = spawn_app_with(settings).await;
    let key = app.key("slow");
    let started = Instant::now();
    let mut stream = connect(&app);
    let head = format!(
        "PUT /kv/{key} HTTP/1.1\r\nHost: t\r\nContent-Length: 1048576\r\n\r\n{{\"value\":{{\"a\":\""
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&[b'x'; 100_000]).unwrap();
    let answer = tokio::task::spawn_blocking(move || read_all(&mut stream))
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.ends_with(r#"{"error":"request timeout"}"#),
        "{answer}"
    );
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn a_body_trickling_below_the_minimum_pace_is_cut_after_its_first_second() {
    let mut settings = test_settings(shared_tarantool());
    settings.server.client_body_timeout_ms = 60_000;
    settings.server.client_body_min_bytes_per_s = 1000;
    let app = spawn_app_with(settings).await;
    let mut stream = connect(&app);
    stream
        .write_all(b"POST /kv HTTP/1.1\r\nHost: t\r\nContent-Length: 10000\r\n\r\n")
        .unwrap();
    let started = Instant::now();
    let answer = tokio::task::spawn_blocking(move || {
        // 10 bytes every 100 ms: 100 bytes/s, a tenth of the pace.
        for _ in 0..50 {
            if stream.write_all(b"          ").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        read_all(&mut stream)
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_oversized_body_announced_with_expect_is_refused_without_an_invitation() {
    let app = spawn_app().await;
    let mut stream = connect(&app);
    stream
        .write_all(
            b"POST /kv HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\nExpect: 100-continue\r\n\r\n",
        )
        .unwrap();
    let answer = tokio::task::spawn_blocking(move || read_all(&mut stream))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(!answer.contains("100 Continue"), "{answer}");
    assert!(
        answer.ends_with(r#"{"error":"payload too large"}"#),
        "{answer}"
    );
}

#[tokio::test]
async fn a_fitting_body_announced_with_expect_is_invited_and_stored() {
    let app = spawn_app().await;
    let key = app.key("expect");
    let body = json!({"key": key, "value": {"e": 1}}).to_string();
    let mut stream = connect(&app);
    let head = format!(
        "POST /kv HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    let answer = tokio::task::spawn_blocking(move || {
        let mut first = [0u8; 25];
        stream.read_exact(&mut first).unwrap();
        assert_eq!(&first, b"HTTP/1.1 100 Continue\r\n\r\n");
        stream.write_all(body.as_bytes()).unwrap();
        read_all(&mut stream)
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_json(app.get(&key).await, 200, json!({"value": {"e": 1}})).await;
}

/// actix-http answers these itself, before any of our code runs, with an
/// empty body (it offers no hook to shape it; the README says so).
#[tokio::test]
async fn requests_actix_refuses_before_the_app_get_their_status() {
    let app = spawn_app().await;
    let headers: String = (0..200).map(|i| format!("X-H{i}: v\r\n")).collect();
    for (request, status) in [
        (
            "GET /kv/x HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n".to_owned(),
            "400",
        ),
        ("GARBAGE\r\n\r\n".to_owned(), "400"),
        (
            format!("GET /kv/x HTTP/1.1\r\nHost: t\r\n{headers}\r\n"),
            "431",
        ),
    ] {
        let mut stream = connect(&app);
        stream.write_all(request.as_bytes()).unwrap();
        let answer = tokio::task::spawn_blocking(move || read_all(&mut stream))
            .await
            .unwrap();
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{answer}"
        );
    }
}
