//! kv-bench: kv-gateway's benchmark. `bench/run` and `bench/ab` install
//! the tools, build the binaries and call `kv-bench run`, which runs the
//! whole benchmark; the load generators are subcommands too and print one
//! `RESULT ...` line.

mod args;
mod cases;
mod chart;
mod cpu;
mod cpu_split;
mod http;
mod iproto;
mod measure;
mod meta;
mod preload;
mod procs;
mod rate;
mod report;
mod requests;
mod row;
mod sse;
mod stacks;
mod stats;
mod suite;
mod table;
mod targets;
mod values;
mod watch_lag;

use std::process::ExitCode;

use args::Args;

const USAGE: &str = "usage: kv-bench COMMAND [--option value]...

  run --out DIR --wrk-dir DIR --gateway BIN --tarantool-dir DIR [--label L]
      [--mode full|smoke] [--cases all|ID,...] [--rounds N] [--keys N]
      [--warmup S] [--duration S] [--connections 64]
      [--server-cpus LIST] [--load-cpus LIST] [--gateway-workers N] [--font TTF]
      [--gateway-b BIN --tarantool-dir-b DIR --label-b L --gateway-workers-b N]
                                 the benchmark (see bench/README.md); with
                                 --gateway-b an A/B run of two gateway builds
  rate --addr A --kind K --keys N --rate R --duration S [--warmup S]
       [--connections 64] [--threads 2] [--tag T]
                                 constant-rate HTTP load; K is get, put, post,
                                 mix, missing, health, webdis-get or webdis-set
  iproto --addr A --password P --op get|update --keys N --duration S
       [--warmup S] [--concurrency 64] [--threads 2] [--user kv_gateway]
                                 calls kv_batch directly, one get/update per call
  watch-lag --addr A --watch-addr B --rate R --duration S [--connections 16]
       [--threads 2]             PUTs through A at a constant rate, each matched with
                                 its event on an SSE watcher through B: the lag
  sse-watchers --addr A --count N --seconds S [--threads 1]
                                 N SSE streams of every key, read and dropped
  calibrate [--seconds 1]        CPU speed per core, to spot a host that slowed down
  report --dir D [--font TTF]    D/results.csv + D/meta.txt -> D/table.md,
                                 D/summary.csv, D/chart.png (run does it too)

Loads print one line: RESULT requests= duration_s= rps= p50_ms= p99_ms= max_ms=
unexpected= socket_errors=";

/// The multi-threaded runtime a load generator runs its connections on.
fn load_runtime(threads: usize) -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let mut raw = std::env::args().skip(1);
    let command = raw.next().unwrap_or_default();
    let result = Args::parse(raw).and_then(|args| match command.as_str() {
        "run" => suite::run(&args),
        "rate" => rate::run(&args),
        "iproto" => iproto::run(&args),
        "watch-lag" => watch_lag::run(&args),
        "sse-watchers" => sse::watchers(&args),
        "report" => report::run(&args),
        "calibrate" => stats::calibrate(&args),
        "" | "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("kv-bench {command}: {message}");
            ExitCode::FAILURE
        }
    }
}
