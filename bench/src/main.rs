//! kv-bench: the Rust half of kv-gateway's benchmark. `bench/run` calls it;
//! each subcommand does one job and prints one `RESULT ...` line where it
//! measures something.

mod args;
mod chart;
mod http;
mod iproto;
mod preload;
mod rate;
mod report;
mod requests;
mod stats;
mod values;

use std::net::TcpListener;
use std::process::ExitCode;

use args::Args;

const USAGE: &str = "usage: kv-bench COMMAND [--option value]...

  free-ports --count N           print N free loopback TCP ports
  preload --addr A --keys N      POST key-0..key-N-1 to the gateway at A
  redis-proto --keys N           print SET commands for redis-cli --pipe
  rate --addr A --kind K --keys N --rate R --duration S [--warmup S]
       [--connections 64] [--threads 2] [--tag T]
                                 constant-rate HTTP load; K is get, put, post,
                                 mix, missing, health, webdis-get or webdis-set
  iproto --addr A --password P --op get|update --keys N --duration S
       [--warmup S] [--concurrency 64] [--threads 2] [--user kv_gateway]
                                 calls kv_batch directly, one get/update per call
  calibrate [--seconds 1]        CPU speed per core, to spot a host that slowed down
  report --dir D [--meta-file F] [--font TTF]
                                 D/results.csv -> D/table.md, D/summary.csv, D/chart.png

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
        "free-ports" => free_ports(&args),
        "preload" => preload::http(&args),
        "redis-proto" => preload::redis_proto(&args),
        "rate" => rate::run(&args),
        "iproto" => iproto::run(&args),
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

/// Binds all ports at once so they differ, then releases them.
fn free_ports(args: &Args) -> Result<(), String> {
    let count: usize = args.get("count")?;
    let listeners = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let ports = listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port().to_string()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    println!("{}", ports.join(" "));
    Ok(())
}
