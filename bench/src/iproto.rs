//! `kv-bench iproto`: the iproto ceiling. Calls the gateway's Lua function
//! `kv_batch` directly, one `get` or `update` per call, with the same raw
//! MessagePack arguments and the same client crate as the gateway, with a
//! fixed number of calls in flight (closed loop), so the gateway's figures
//! can be read against what Tarantool and the client give without HTTP (and
//! without the gateway's batching of concurrent requests).

use std::time::Duration;

use rusty_tarantool::tarantool::packets::CommandPacket;
use rusty_tarantool::tarantool::{Client, ClientConfig};
use tokio::time::{timeout, Instant};

use crate::args::Args;
use crate::stats::Tally;
use crate::values::{batch_of_one, key, value_json, value_msgpack};

/// Longest wait for one answer before it counts as an error.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Prepared arguments each task cycles through, so encoding costs the load
/// generator nothing while it runs.
const ARGS_PER_TASK: usize = 1024;

#[derive(Clone, Copy)]
enum Op {
    Get,
    Update,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Get => "get",
            Op::Update => "put",
        }
    }

    fn expected_status(self) -> &'static str {
        match self {
            Op::Get => "found",
            Op::Update => "updated",
        }
    }
}

/// Runs the load described by `args` and prints its `RESULT` line.
pub fn run(args: &Args) -> Result<(), String> {
    let addr: String = args.get("addr")?;
    let user = args.text_or("user", "kv_gateway");
    let password: String = args.get("password")?;
    let op = match args.get::<String>("op")?.as_str() {
        "get" => Op::Get,
        "update" => Op::Update,
        other => return Err(format!("--op must be get or update, not {other:?}")),
    };
    let keys: u64 = args.get("keys")?;
    let duration = Duration::from_secs_f64(args.get("duration")?);
    let warmup = Duration::from_secs_f64(args.get_or("warmup", 1.0)?);
    let concurrency: usize = args.get_or("concurrency", 64)?;
    // Like the gateway: one connection per worker thread.
    let threads: usize = args.get_or("threads", 2)?;
    let runtime = crate::load_runtime(threads)?;
    runtime.block_on(async move {
        let mut clients = Vec::new();
        for _ in 0..threads {
            let client = ClientConfig::new(addr.as_str(), user.as_str(), password.as_str()).build();
            timeout(CALL_TIMEOUT, client.ping())
                .await
                .map_err(|_| format!("no answer from Tarantool at {addr}"))?
                .map_err(|e| format!("cannot reach Tarantool at {addr}: {e}"))?;
            clients.push(client);
        }
        let start = Instant::now();
        let measure_from = start + warmup;
        let end = measure_from + duration;
        let tasks: Vec<_> = (0..concurrency)
            .map(|n| {
                let client = clients[n % clients.len()].clone();
                let calls = prepare(op, keys);
                tokio::spawn(async move { caller(client, op, &calls, measure_from, end).await })
            })
            .collect();
        Tally::report_all(tasks, duration).await
    })
}

fn prepare(op: Op, keys: u64) -> Vec<Vec<u8>> {
    (0..ARGS_PER_TASK)
        .map(|_| {
            let i = fastrand::u64(0..keys);
            match op {
                Op::Get => batch_of_one(op.name(), &key(i), None),
                Op::Update => {
                    let value = value_msgpack(&value_json(i, fastrand::u64(0..1000)));
                    batch_of_one(op.name(), &key(i), Some(&value))
                }
            }
        })
        .collect()
}

async fn caller(
    client: Client,
    op: Op,
    calls: &[Vec<u8>],
    measure_from: Instant,
    end: Instant,
) -> Tally {
    let mut tally = Tally::new();
    for args in calls.iter().cycle() {
        let started = Instant::now();
        if started >= end {
            break;
        }
        let packet = match CommandPacket::call_raw("kv_batch", args.clone()) {
            Ok(packet) => packet,
            Err(_) => {
                tally.socket_errors += 1;
                continue;
            }
        };
        let result = timeout(CALL_TIMEOUT, client.send_command(packet)).await;
        let done = Instant::now();
        if started < measure_from {
            continue;
        }
        match result {
            Ok(Ok(response)) => {
                tally.record(done - started);
                if status_of(&response.data) != Some(op.expected_status()) {
                    tally.unexpected += 1;
                }
            }
            Ok(Err(_)) | Err(_) => tally.socket_errors += 1,
        }
    }
    tally
}

/// The first status of a `kv_batch` result `[[status, detail, revision, ...]]`.
fn status_of(data: &[u8]) -> Option<&str> {
    let mut rd = data;
    rmp::decode::read_array_len(&mut rd).ok()?;
    rmp::decode::read_array_len(&mut rd).ok()?;
    rmp::decode::read_str_from_slice(rd).ok().map(|(s, _)| s)
}
