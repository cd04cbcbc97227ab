//! `kv-bench watch-lag`: how long after a write is acknowledged its event
//! reaches a watcher on another gateway. Writes `PUT /kv/lag-...?upsert=true`
//! at a constant rate through `--addr` and watches `prefix=lag-` through
//! `--watch-addr`; each write's revision (its `ETag`) is matched with the
//! event of that revision. An event that arrives before its write's answer
//! counts as 0. Prints the RESULT line with the lag's percentiles; writes
//! whose event never came count as `unexpected`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::{sleep_until, timeout, Instant};

use crate::args::Args;
use crate::http::{request, HttpConn};
use crate::sse::SseReader;
use crate::stats::Tally;

/// Longest wait for one answer, and for the last events after the writes.
const WAIT: Duration = Duration::from_secs(5);

/// Revisions seen on one side and not yet on the other, with when.
#[derive(Default)]
struct Pending {
    acked: HashMap<u64, Instant>,
    arrived: HashMap<u64, Instant>,
    tally: Option<Tally>,
}

impl Pending {
    fn ack(&mut self, revision: u64, at: Instant) {
        if self.arrived.remove(&revision).is_some() {
            self.tally().record(Duration::ZERO);
        } else {
            self.acked.insert(revision, at);
        }
    }

    fn arrive(&mut self, revision: u64, at: Instant) {
        match self.acked.remove(&revision) {
            Some(acked) => {
                let lag = at.saturating_duration_since(acked);
                self.tally().record(lag);
            }
            None => {
                self.arrived.insert(revision, at);
            }
        }
    }

    fn tally(&mut self) -> &mut Tally {
        self.tally.get_or_insert_with(Tally::new)
    }
}

/// Runs the measurement described by `args`.
pub fn run(args: &Args) -> Result<(), String> {
    let addr: SocketAddr = args.get("addr")?;
    let watch_addr: SocketAddr = args.get("watch-addr")?;
    let rate: f64 = args.get("rate")?;
    let duration = Duration::from_secs_f64(args.get("duration")?);
    let connections: usize = args.get_or("connections", 16)?;
    let threads: usize = args.get_or("threads", 2)?;
    if rate.is_nan() || rate <= 0.0 || connections == 0 {
        return Err("--rate and --connections must be positive".into());
    }
    let runtime = crate::load_runtime(threads)?;
    runtime.block_on(async move {
        let pending = Arc::new(Mutex::new(Pending::default()));
        let mut reader = SseReader::open(watch_addr, "prefix=lag-").await?;
        let watcher = {
            let pending = pending.clone();
            tokio::spawn(async move {
                while let Some(revision) = reader.next_id().await {
                    let now = Instant::now();
                    pending.lock().expect("not poisoned").arrive(revision, now);
                }
            })
        };
        let start = Instant::now() + Duration::from_millis(20);
        let end = start + duration;
        let interval = Duration::from_secs_f64(connections as f64 / rate);
        let step = Duration::from_secs_f64(1.0 / rate);
        let writers: Vec<_> = (0..connections)
            .map(|conn| {
                let pending = pending.clone();
                let first = start + step.mul_f64(conn as f64);
                tokio::spawn(write(addr, conn, first, interval, end, pending))
            })
            .collect();
        let mut errors = 0;
        for writer in writers {
            errors += writer.await.map_err(|e| e.to_string())?;
        }
        // The last events are on their way.
        let settle = Instant::now() + WAIT;
        while Instant::now() < settle && !pending.lock().expect("not poisoned").acked.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        watcher.abort();
        let mut pending = pending.lock().expect("not poisoned");
        let missing = pending.acked.len() as u64;
        let mut tally = pending.tally.take().unwrap_or_else(Tally::new);
        tally.unexpected += missing;
        tally.socket_errors += errors;
        println!("{}", tally.result_line(duration));
        Ok(())
    })
}

/// One connection's writes on its schedule; returns its socket errors.
async fn write(
    addr: SocketAddr,
    conn: usize,
    first: Instant,
    interval: Duration,
    end: Instant,
    pending: Arc<Mutex<Pending>>,
) -> u64 {
    let mut http = HttpConn::new(addr);
    let mut errors = 0;
    for k in 0u32.. {
        let scheduled = first + interval * k;
        if scheduled >= end {
            break;
        }
        sleep_until(scheduled).await;
        let path = format!("/kv/lag-{conn}-{}?upsert=true", k % 100);
        let body = format!(r#"{{"value":{{"conn":{conn},"seq":{k}}}}}"#);
        let bytes = request("PUT", &path, &addr, Some(&body));
        match timeout(WAIT, http.send_tagged(&bytes)).await {
            Ok(Ok((200, Some(revision)))) => {
                let now = Instant::now();
                pending.lock().expect("not poisoned").ack(revision, now);
            }
            Ok(_) => errors += 1,
            Err(_) => {
                errors += 1;
                http = HttpConn::new(addr);
            }
        }
    }
    errors
}
