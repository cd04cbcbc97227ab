//! Preloading `key-0`..`key-{N-1}`: the gateway through `POST /kv`, Redis
//! through pipelined `SET` commands.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::http::{request, HttpConn};
use crate::values::{key, post_body, value_json};

/// Creates `key-0`..`key-{N-1}` through the gateway at `addr`, with
/// `concurrency` requests in flight.
pub fn gateway(addr: SocketAddr, keys: u64, concurrency: usize) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let failures = runtime.block_on(async {
        let tasks: Vec<_> = (0..concurrency)
            .map(|_| {
                let next = next.clone();
                tokio::spawn(async move {
                    let mut conn = HttpConn::new(addr);
                    let mut failures = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= keys {
                            return failures;
                        }
                        let body = post_body(&key(i), i);
                        match conn.send(&request("POST", "/kv", &addr, Some(&body))).await {
                            Ok(200) => {}
                            Ok(status) => failures.push(format!("{}: status {status}", key(i))),
                            Err(e) => failures.push(format!("{}: {e}", key(i))),
                        }
                    }
                })
            })
            .collect();
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap_or_else(|e| vec![e.to_string()]));
        }
        all
    });
    if let Some(first) = failures.first() {
        return Err(format!(
            "{} preload requests failed, first: {first}",
            failures.len()
        ));
    }
    eprintln!(
        "preloaded {keys} keys through the gateway in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Commands sent to Redis before their answers are read.
const REDIS_PIPELINE: u64 = 1000;

/// Sets `key-0`..`key-{N-1}` in the Redis at `addr`.
pub fn redis(addr: SocketAddr, keys: u64) -> Result<(), String> {
    let started = Instant::now();
    let stream = TcpStream::connect(addr).map_err(|e| format!("Redis at {addr}: {e}"))?;
    let mut reader = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
    let mut writer = std::io::BufWriter::new(stream);
    let mut line = String::new();
    for first in (0..keys).step_by(REDIS_PIPELINE as usize) {
        let last = (first + REDIS_PIPELINE).min(keys);
        for i in first..last {
            let (k, v) = (key(i), value_json(i, 0));
            write!(
                writer,
                "*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n${}\r\n{v}\r\n",
                k.len(),
                v.len()
            )
            .map_err(|e| e.to_string())?;
        }
        writer.flush().map_err(|e| e.to_string())?;
        for i in first..last {
            line.clear();
            reader.read_line(&mut line).map_err(|e| e.to_string())?;
            if line.trim_end() != "+OK" {
                return Err(format!("SET {}: Redis answered {line:?}", key(i)));
            }
        }
    }
    eprintln!(
        "preloaded {keys} keys into Redis in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
