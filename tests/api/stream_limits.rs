//! Streams against the gateway binary: many idle WebSockets, a flood of
//! malformed frames, clients that stop reading, and SIGTERM with streams
//! open. Memory is read from /proc.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::TestTarantool;
use crate::resources::{one_worker, status_kib, wait_ready};
use crate::streams::{Sse, Ws};

/// Raises the open files limit to `wanted` if the hard limit allows, so
/// the test process (and the gateway it starts) can hold the connections.
#[expect(unsafe_code, reason = "getrlimit/setrlimit on our own process")]
fn allow_open_files(wanted: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: both calls only read or write the struct we pass.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        if limit.rlim_cur < wanted {
            limit.rlim_cur = wanted.min(limit.rlim_max);
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
        }
    }
}

fn rss_mib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS:") / 1024
}

#[tokio::test]
async fn a_thousand_idle_websockets_are_served() {
    allow_open_files(4096);
    let tarantool = TestTarantool::start();
    let (gateway, _) = one_worker(&tarantool, &[]);
    wait_ready(&reqwest::Client::new(), &gateway.address).await;
    let before = rss_mib(gateway.child.id());
    let mut sockets = Vec::new();
    for _ in 0..1000 {
        sockets.push(Ws::connect(&gateway.address).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = rss_mib(gateway.child.id());
    // Each of them is served.
    for (i, ws) in sockets.iter_mut().enumerate() {
        let reply = ws.call(&json!({"id": i, "op": "get", "key": "none"})).await;
        assert_eq!(reply["status"], 404);
    }
    eprintln!("gateway RSS: {before} MiB before, {idle} MiB with 1000 idle WebSockets");
    assert!(idle < before + 150, "{idle} MiB with 1000 idle WebSockets");
}

#[tokio::test]
async fn a_flood_of_malformed_frames_neither_crashes_nor_grows_the_gateway() {
    let tarantool = TestTarantool::start();
    let (gateway, _) = one_worker(&tarantool, &[]);
    wait_ready(&reqwest::Client::new(), &gateway.address).await;
    let ws = Ws::connect(&gateway.address).await;
    let (mut sink, mut stream) = ws.socket.split();
    let junk = [
        Message::text("{"),
        Message::text("not json at all"),
        Message::text(r#"{"id":1,"op":"nope"}"#),
        Message::Binary(vec![0xff; 64].into()),
    ];
    let mut warm = 0;
    // In windows of 100 messages, reading the replies as a client should
    // (one that does not is disconnected, see below).
    for window in 0..400 {
        for message in junk.iter().cycle().take(100) {
            sink.send(message.clone()).await.unwrap();
        }
        for _ in 0..100 {
            let reply = tokio::time::timeout(Duration::from_secs(10), stream.next())
                .await
                .expect("a reply in time")
                .expect("the connection is open")
                .expect("a message");
            let Message::Text(text) = reply else {
                panic!("{reply:?}")
            };
            assert!(text.contains(r#""status":400"#), "{text}");
        }
        if window == 40 {
            warm = rss_mib(gateway.child.id());
        }
    }
    let after = rss_mib(gateway.child.id());
    eprintln!("gateway RSS: {warm} MiB after 4,100 malformed messages, {after} MiB after 40,000");
    assert!(after <= warm + 4, "{warm} -> {after} MiB");
    let health = reqwest::get(format!("{}/health", gateway.address))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

/// Opens `GET /watch` over a socket with a small receive buffer and reads
/// only the response head.
fn stalled_sse(address: &str) -> std::net::TcpStream {
    let address: std::net::SocketAddr = address.trim_start_matches("http://").parse().unwrap();
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&address.into()).unwrap();
    let mut stream: std::net::TcpStream = socket.into();
    stream
        .write_all(b"GET /watch HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = [0u8; 256];
    let n = stream.read(&mut head).unwrap();
    assert!(
        head[..n].starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&head[..n])
    );
    stream
}

/// A WebSocket over a socket with a small receive buffer.
async fn stalled_ws(address: &str) -> Ws {
    let address: std::net::SocketAddr = address.trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(address).await.unwrap();
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    let (socket, _) = tokio_tungstenite::client_async(format!("ws://{address}/ws"), stream)
        .await
        .unwrap();
    Ws { socket }
}

/// Creates `count` records of 30 KB values through `base`.
async fn write_big_values(client: &reqwest::Client, base: &str, count: usize) {
    let value = "v".repeat(30_000);
    for i in 0..count {
        let body = json!({"key": format!("k{i}"), "value": {"s": value}}).to_string();
        let response = client
            .post(format!("{base}/kv"))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
}

#[tokio::test]
async fn clients_that_fall_behind_are_disconnected_and_counted() {
    let tarantool = TestTarantool::start_with(&[("TARANTOOL_MEMTX_MEMORY", "536870912")]);
    let (gateway, _) = one_worker(
        &tarantool,
        &[
            ("KV__WATCH__MAX_QUEUED_BYTES", "65536"),
            ("KV__SERVER__SEND_TIMEOUT_MS", "60000"),
            ("RUST_LOG", "warn"),
        ],
    );
    let client = reqwest::Client::new();
    wait_ready(&client, &gateway.address).await;
    let mut sse = stalled_sse(&gateway.address);
    let mut ws = stalled_ws(&gateway.address).await;
    let started = ws.call(&json!({"id": 1, "op": "watch"})).await;
    assert_eq!(started["status"], 200);
    // 9 MB: more than the kernel buffers between us and 64 KiB of queue.
    write_big_values(&client, &gateway.address, 300).await;
    // Once they read again, the streams end early.
    let mut seen = Vec::new();
    let _ = sse.read_to_end(&mut seen);
    let events = String::from_utf8_lossy(&seen).matches("event: put").count();
    assert!(events < 300, "the SSE stream carried all {events} events");
    let mut messages = 0;
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.socket.next()).await {
            Ok(Some(Ok(Message::Text(_)))) => messages += 1,
            Ok(Some(Ok(Message::Close(frame)))) => break frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) => break None,
            Err(_) => panic!("the WebSocket that fell behind is still open"),
        }
    };
    assert!(
        messages < 300,
        "the WebSocket carried all {messages} events"
    );
    assert_eq!(closed, Some(1008));
    let health = client
        .get(format!("{}/health", gateway.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let log = gateway.stop();
    assert!(
        log.contains("disconnecting a client that fell behind"),
        "{log}"
    );
    assert!(log.contains("2 so far"), "{log}");
}

#[tokio::test]
async fn a_client_that_reads_nothing_is_dropped_after_the_send_timeout() {
    let tarantool = TestTarantool::start_with(&[("TARANTOOL_MEMTX_MEMORY", "268435456")]);
    let (gateway, _) = one_worker(&tarantool, &[("KV__SERVER__SEND_TIMEOUT_MS", "1000")]);
    let client = reqwest::Client::new();
    wait_ready(&client, &gateway.address).await;
    let mut sse = stalled_sse(&gateway.address);
    // Far less than the queue's bound: only the send timeout can end it.
    write_big_values(&client, &gateway.address, 40).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut seen = Vec::new();
    let read = sse.read_to_end(&mut seen);
    let events = String::from_utf8_lossy(&seen).matches("event: put").count();
    assert!(
        events < 40,
        "the stalled stream carried all {events} events ({read:?})"
    );
}

#[tokio::test]
async fn sigterm_ends_open_streams_and_the_gateway_exits_in_time() {
    let tarantool = TestTarantool::start();
    let (mut gateway, _) = one_worker(&tarantool, &[("KV__SERVER__SHUTDOWN_TIMEOUT_MS", "3000")]);
    wait_ready(&reqwest::Client::new(), &gateway.address).await;
    let mut sse = Sse::open(&gateway.address, "", &[]).await;
    let mut ws = Ws::connect(&gateway.address).await;
    let started = ws.call(&json!({"id": 1, "op": "watch"})).await;
    assert_eq!(started["status"], 200);
    let stopped = Instant::now();
    gateway.terminate();
    assert!(sse.next().await.is_none(), "the SSE stream ends cleanly");
    assert_eq!(ws.closed().await, Some(1001));
    let status = gateway.wait_exit(Duration::from_secs(5));
    assert!(status.success(), "{status}");
    assert!(
        stopped.elapsed() < Duration::from_secs(3),
        "took {:?}",
        stopped.elapsed()
    );
}
