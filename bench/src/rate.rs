//! `kv-bench rate`: an open-loop (constant-rate) HTTP load generator, so the
//! latency of a case is measured below saturation.
//!
//! Each of the connections sends on its own fixed schedule (rate/connections
//! per second, staggered). A request that could not be sent on time because
//! its connection was still waiting for the previous answer is timed from
//! when it should have been sent (no coordinated omission); one that was sent
//! late only because the timer woke up late is timed from when it was sent.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::time::{sleep_until, timeout, Instant};

use crate::args::Args;
use crate::http::HttpConn;
use crate::requests::{Kind, Requests};
use crate::stats::Tally;

/// Longest wait for one answer before it counts as a socket error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

struct Plan {
    addr: SocketAddr,
    kind: Kind,
    keys: u64,
    tag: String,
    /// Time between two requests of one connection.
    interval: Duration,
    measure_from: Instant,
    end: Instant,
}

/// Runs the load described by `args` and prints its `RESULT` line.
pub fn run(args: &Args) -> Result<(), String> {
    let addr: SocketAddr = args.get("addr")?;
    let kind = Kind::parse(&args.get::<String>("kind")?)?;
    let keys: u64 = args.get("keys")?;
    let rate: f64 = args.get("rate")?;
    let duration = Duration::from_secs_f64(args.get("duration")?);
    let warmup = Duration::from_secs_f64(args.get_or("warmup", 1.0)?);
    let connections: usize = args.get_or("connections", 64)?;
    let threads: usize = args.get_or("threads", 2)?;
    let tag = args.text_or("tag", "rate");
    if rate.is_nan() || rate <= 0.0 || connections == 0 || keys == 0 {
        return Err("--rate, --connections and --keys must be positive".into());
    }
    let runtime = crate::load_runtime(threads)?;
    runtime.block_on(async move {
        let start = Instant::now() + Duration::from_millis(20);
        let measure_from = start + warmup;
        let plan = std::sync::Arc::new(Plan {
            addr,
            kind,
            keys,
            tag,
            interval: Duration::from_secs_f64(connections as f64 / rate),
            measure_from,
            end: measure_from + duration,
        });
        let step = Duration::from_secs_f64(1.0 / rate);
        let tasks: Vec<_> = (0..connections)
            .map(|conn| {
                let plan = plan.clone();
                let first = start + step.mul_f64(conn as f64);
                tokio::spawn(async move { connection(&plan, conn, first).await })
            })
            .collect();
        Tally::report_all(tasks, duration).await
    })
}

async fn connection(plan: &Plan, conn: usize, first: Instant) -> Tally {
    let mut http = HttpConn::new(plan.addr);
    let mut requests = Requests::new(plan.kind, plan.keys, plan.addr, &plan.tag, conn);
    let mut tally = Tally::new();
    let mut previous_done = Instant::now();
    for k in 0u32.. {
        let scheduled = first + plan.interval * k;
        if scheduled >= plan.end {
            break;
        }
        let was_idle = previous_done <= scheduled;
        sleep_until(scheduled).await;
        let (request, expected) = requests.next_request();
        let sent = Instant::now();
        let result = timeout(REQUEST_TIMEOUT, http.send(&request)).await;
        let done = Instant::now();
        previous_done = done;
        if scheduled < plan.measure_from {
            continue;
        }
        match result {
            Ok(Ok(status)) => {
                tally.record(done - if was_idle { sent } else { scheduled });
                if status != expected {
                    tally.unexpected += 1;
                }
            }
            Ok(Err(_)) => tally.socket_errors += 1,
            Err(_) => {
                tally.socket_errors += 1;
                // The answer may still come; start over on a new connection.
                http = HttpConn::new(plan.addr);
            }
        }
    }
    tally
}
