//! The Tarantool connection heals itself: from a peer that closes before
//! greeting (which kills rusty_tarantool's dispatcher), and from a silent
//! partition (which TCP would notice only after minutes).

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{assert_json, spawn_app_with, test_settings, TestTarantool};

/// A TCP proxy to `upstream` on a free loopback port whose existing
/// connections can be frozen: they stay open and pass nothing, as after a
/// partition, while new connections work.
struct FreezingProxy {
    port: u16,
    frozen_below: Arc<AtomicUsize>,
    accepted: Arc<AtomicUsize>,
}

impl FreezingProxy {
    async fn start(upstream: String) -> FreezingProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let frozen_below = Arc::new(AtomicUsize::new(0));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (frozen, count) = (frozen_below.clone(), accepted.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let number = count.fetch_add(1, Ordering::SeqCst);
                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(pipe(client_read, server_write, number, frozen.clone()));
                tokio::spawn(pipe(server_read, client_write, number, frozen.clone()));
            }
        });
        FreezingProxy {
            port,
            frozen_below,
            accepted,
        }
    }

    /// Every connection made so far stops passing data, in both directions.
    fn freeze_existing(&self) {
        self.frozen_below
            .store(self.accepted.load(Ordering::SeqCst), Ordering::SeqCst);
    }
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    number: usize,
    frozen_below: Arc<AtomicUsize>,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let Ok(n) = from.read(&mut buffer).await else {
            return;
        };
        if n == 0 {
            return;
        }
        if number < frozen_below.load(Ordering::SeqCst) {
            // Partitioned: hold both sockets open and pass nothing, ever.
            std::future::pending::<()>().await;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn a_peer_that_closes_before_greeting_does_not_leave_the_gateway_dead() {
    let mut tarantool = TestTarantool::prepare(&[]);
    let port: u16 = tarantool
        .address()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // For 3 s the address accepts and closes at once, as a port-forward
    // whose backend is down does.
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    listener.set_nonblocking(true).unwrap();
    let closing = Arc::new(AtomicBool::new(true));
    let closer = {
        let closing = closing.clone();
        std::thread::spawn(move || {
            while closing.load(Ordering::SeqCst) {
                if let Ok((stream, _)) = listener.accept() {
                    drop(stream);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let mut settings = test_settings(&tarantool.address());
    settings.tarantool.connect_timeout_ms = 1000;
    settings.tarantool.ping_interval_ms = 200;
    let app = spawn_app_with(settings).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    closing.store(false, Ordering::SeqCst);
    closer.join().unwrap();

    tarantool.restart();
    let up = Instant::now();
    app.wait_ready(Duration::from_secs(5)).await;
    assert!(up.elapsed() < Duration::from_secs(4), "{:?}", up.elapsed());
    let key = app.key("healed");
    assert_json(
        app.create(&key, &json!({"ok": true})).await,
        200,
        json!({"result": "record created"}),
    )
    .await;
}

#[tokio::test]
async fn a_silent_partition_is_noticed_and_the_connection_replaced() {
    let tarantool = TestTarantool::start();
    let proxy = FreezingProxy::start(tarantool.address()).await;
    let mut settings = test_settings(&format!("127.0.0.1:{}", proxy.port));
    settings.server.workers = 1;
    settings.tarantool.request_timeout_ms = 300;
    settings.tarantool.ping_interval_ms = 200;
    settings.tarantool.ping_misses = 2;
    let app = spawn_app_with(settings).await;
    app.wait_ready(Duration::from_secs(5)).await;
    let key = app.key("partition");
    app.create(&key, &json!({"v": 1})).await;

    proxy.freeze_existing();
    let frozen = Instant::now();
    // Requests fail for a while (503), never hang, and then succeed again
    // over a new connection, long before TCP would have given up.
    loop {
        let started = Instant::now();
        let response = app.get(&key).await;
        assert!(started.elapsed() < Duration::from_secs(2), "a request hung");
        if response.status() == 200 {
            break;
        }
        assert_eq!(response.status(), 503);
        assert!(
            frozen.elapsed() < Duration::from_secs(5),
            "not recovered within 5 s of the partition"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_json(app.get(&key).await, 200, json!({"value": {"v": 1}})).await;
}
