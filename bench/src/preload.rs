//! Preloading: the gateway through `POST /kv`, Redis through the RESP
//! commands `redis-cli --pipe` reads.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::args::Args;
use crate::http::{request, HttpConn};
use crate::values::{key, post_body, value_json};

/// `kv-bench preload`: creates `key-0`..`key-{N-1}` through the gateway.
pub fn http(args: &Args) -> Result<(), String> {
    let addr: SocketAddr = args.get("addr")?;
    let keys: u64 = args.get("keys")?;
    let concurrency: usize = args.get_or("concurrency", 64)?;
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

/// `kv-bench redis-proto`: prints `SET key-i value` for every key as RESP.
pub fn redis_proto(args: &Args) -> Result<(), String> {
    let keys: u64 = args.get("keys")?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for i in 0..keys {
        let (k, v) = (key(i), value_json(i, 0));
        write!(
            out,
            "*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n${}\r\n{v}\r\n",
            k.len(),
            v.len()
        )
        .map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}
