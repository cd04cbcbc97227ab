//! `kv-bench run`: the whole benchmark. Starts the stacks the chosen cases
//! need pinned to the server CPUs, preloads them, runs every case as
//! interleaved rounds with the load generators pinned to the load CPUs,
//! repeats the half-peak cases at a constant rate, and writes the report.
//!
//! With `--gateway-b` it is an A/B run: two gateway builds (each with its
//! own init.lua and Tarantool) instead of the gateway and Webdis, every
//! case run against A then B in each round.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::args::Args;
use crate::cases::{self, Case, Load, Serves};
use crate::cpu::CpuSet;
use crate::measure::Bench;
use crate::meta::Facts;
use crate::procs::{check_stop, watch_signals, WorkDir};
use crate::report;
use crate::row::{Row, CSV_HEADER};
use crate::stacks::{GatewayBuild, Persistence, Stack};

/// The cases of an A/B run unless `--cases` says otherwise.
const AB_CASES: &str = "get,put,missing,mix,post";

/// What `kv-bench run` was asked for.
pub struct Options {
    pub mode: String,
    pub out: PathBuf,
    pub build_a: GatewayBuild,
    /// The second build of an A/B run.
    pub build_b: Option<GatewayBuild>,
    pub cases: Vec<&'static Case>,
    pub rounds: u32,
    pub allowed: CpuSet,
    pub server_cpus: CpuSet,
    pub load_cpus: CpuSet,
    pub keys: u64,
    pub warmup_s: u64,
    pub duration_s: u64,
    pub connections: usize,
    /// What the report calls the builds (a commit, a path).
    pub label_a: String,
    pub label_b: String,
}

impl Options {
    fn parse(args: &Args) -> Result<Options, String> {
        let mode = args.text_or("mode", "full");
        // (keys, warm-up s, duration s, rounds)
        let (keys, warmup_s, duration_s, rounds) = match mode.as_str() {
            "full" => (100_000, 2, 5, 3),
            "smoke" => (1_000, 1, 1, 2),
            other => return Err(format!("--mode must be full or smoke, not {other:?}")),
        };
        let path = |name: &str| args.get::<String>(name).map(PathBuf::from);
        let allowed = CpuSet::allowed()?;
        let (default_servers, default_load) = CpuSet::split(&allowed);
        let cpus = |name: &str, default: CpuSet| match args.text_or(name, "").as_str() {
            "" => Ok(default),
            list => CpuSet::parse(list),
        };
        let server_cpus = cpus("server-cpus", default_servers)?;
        let load_cpus = cpus("load-cpus", default_load)?;
        if !server_cpus.is_subset(&allowed) || !load_cpus.is_subset(&allowed) {
            return Err(format!(
                "the CPUs must be among those allowed here ({allowed})"
            ));
        }
        // One HTTP worker per server CPU, unless asked otherwise.
        let workers: usize = args.get_or("gateway-workers", server_cpus.len())?;
        let build_a = GatewayBuild {
            bin: path("gateway")?,
            tarantool_dir: path("tarantool-dir")?,
            workers,
        };
        let build_b = match args.text_or("gateway-b", "").as_str() {
            "" => None,
            bin => Some(GatewayBuild {
                bin: PathBuf::from(bin),
                tarantool_dir: path("tarantool-dir-b")?,
                workers: args.get_or("gateway-workers-b", workers)?,
            }),
        };
        let ab = build_b.is_some();
        let cases = cases::select(&args.text_or("cases", if ab { AB_CASES } else { "all" }))?;
        if let Some(c) = cases.iter().find(|c| ab && c.serves != Serves::Gateway) {
            return Err(format!(
                "{} is not a gateway case; an A/B run compares gateways",
                c.id
            ));
        }
        Ok(Options {
            out: path("out")?,
            build_a,
            build_b,
            cases,
            rounds: args.get_or("rounds", rounds)?,
            allowed,
            server_cpus,
            load_cpus,
            keys: args.get_or("keys", keys)?,
            warmup_s: args.get_or("warmup", warmup_s)?,
            duration_s: args.get_or("duration", duration_s)?,
            connections: args.get_or("connections", 64)?,
            label_a: args.text_or("label", "?"),
            label_b: args.text_or("label-b", ""),
            mode,
        })
    }

    /// Whether this is an A/B run.
    pub fn ab(&self) -> bool {
        self.build_b.is_some()
    }
}

/// Runs the subcommand.
pub fn run(args: &Args) -> Result<(), String> {
    let opts = Options::parse(args)?;
    if opts.server_cpus.overlaps(&opts.load_cpus) {
        log("WARNING: servers and load generators share CPUs: not a fair setup");
    }
    let raw = opts.out.join("raw");
    fs::create_dir_all(&raw).map_err(|e| format!("{}: {e}", raw.display()))?;
    watch_signals()?;
    // Dropped last: after every server has stopped, their logs are kept.
    let work = WorkDir::create(&raw)?;
    let workers_b = opts
        .build_b
        .as_ref()
        .map_or(String::new(), |b| format!(" / {}", b.workers));
    log(&format!(
        "servers on CPU {} (gateway workers {}{workers_b}, Webdis threads {}), load generators on CPU {}",
        opts.server_cpus,
        opts.build_a.workers,
        opts.server_cpus.len(),
        opts.load_cpus
    ));
    let mut stacks = start_stacks(&opts, work.path())?;
    for stack in &stacks {
        check_stop()?;
        log(&format!(
            "preloading {} keys into {}",
            opts.keys, stack.name
        ));
        stack.preload(opts.keys, opts.connections)?;
    }
    let bench = Bench {
        exe: std::env::current_exe().map_err(|e| e.to_string())?,
        wrk_dir: PathBuf::from(args.get::<String>("wrk-dir")?),
        raw,
        server_cpus: opts.server_cpus.clone(),
        load_cpus: opts.load_cpus.clone(),
        keys: opts.keys,
        warmup_s: opts.warmup_s,
        duration_s: opts.duration_s,
        connections: opts.connections,
        all_pids: stacks.iter().flat_map(Stack::pids).collect(),
        cores: opts.allowed.len(),
    };
    let mut facts = Facts::before(&opts, &bench.all_pids);
    let rows = run_cases(&opts, &bench, &mut stacks)?;
    facts.after(&stacks);
    drop(stacks);
    facts.write(&opts)?;
    report::write(&opts.out, Path::new(&args.text_or("font", report::FONT)))?;
    if let (Some(parent), Some(name)) = (opts.out.parent(), opts.out.file_name()) {
        let link = parent.join("latest");
        let _ = fs::remove_file(&link);
        let _ = std::os::unix::fs::symlink(name, &link);
    }
    eprintln!();
    log(&format!(
        "results in {} (table.md, results.csv, summary.csv, chart.png, raw/)",
        opts.out.display()
    ));
    let failed = rows.iter().filter(|r| !r.ok()).count();
    if failed > 0 {
        return Err(format!("{failed} run(s) failed their check"));
    }
    Ok(())
}

/// The stacks the cases need: A and B, or the gateway and the Webdis ones.
fn start_stacks(opts: &Options, work: &Path) -> Result<Vec<Stack>, String> {
    let cpus = &opts.server_cpus;
    let mut stacks = Vec::new();
    let needs = |s: Serves| opts.cases.iter().any(|c| c.serves == s);
    // The lag case watches through a second gateway on the same Tarantool.
    let lag = opts.cases.iter().any(|c| matches!(c.load, Load::WatchLag));
    if let Some(build_b) = &opts.build_b {
        let mut a = Stack::gateway("A", &opts.build_a, None, work, cpus)?;
        let mut b = Stack::gateway("B", build_b, None, work, cpus)?;
        if lag {
            a.add_second_gateway(&opts.build_a, work, cpus)?;
            b.add_second_gateway(build_b, work, cpus)?;
        }
        stacks.push(a);
        stacks.push(b);
    } else {
        if needs(Serves::Gateway) {
            let mut gateway = Stack::gateway("gateway", &opts.build_a, None, work, cpus)?;
            if lag {
                gateway.add_second_gateway(&opts.build_a, work, cpus)?;
            }
            stacks.push(gateway);
        }
        if needs(Serves::GatewayIndexed) {
            let indexes = Some(cases::INDEXES);
            stacks.push(Stack::gateway(
                "indexed",
                &opts.build_a,
                indexes,
                work,
                cpus,
            )?);
        }
    }
    for (name, p) in [
        ("webdis", Persistence::Aof),
        ("webdis-mem", Persistence::None),
    ] {
        if needs(Serves::Webdis(p)) {
            stacks.push(Stack::webdis(name, p, work, cpus)?);
        }
    }
    Ok(stacks)
}

/// Every round of every case, then (not in an A/B run) the half-peak runs;
/// each row is logged and appended to results.csv as it comes.
fn run_cases(opts: &Options, bench: &Bench, stacks: &mut [Stack]) -> Result<Vec<Row>, String> {
    // Which stack serves each case, in round order: A/B or gateway/Webdis
    // neighbours next to each other.
    let stack_of = |name: &str| stacks.iter().position(|s| s.name == name);
    let runs: Vec<(&Case, usize)> = opts
        .cases
        .iter()
        .flat_map(|&case| {
            let names: &[&str] = match case.serves {
                _ if opts.ab() => &["A", "B"],
                Serves::Gateway => &["gateway"],
                Serves::GatewayIndexed => &["indexed"],
                Serves::Webdis(Persistence::Aof) => &["webdis"],
                Serves::Webdis(Persistence::None) => &["webdis-mem"],
            };
            names
                .iter()
                .filter_map(move |n| stack_of(n).map(|i| (case, i)))
        })
        .collect();
    let mut results = Results::create(&opts.out.join("results.csv"), opts.rounds)?;
    for round in 1..=opts.rounds {
        for &(case, i) in runs
            .iter()
            .filter(|(c, _)| !matches!(c.load, Load::WatchLag))
        {
            check_stop()?;
            stacks[i].check_alive()?;
            results.keep(bench.peak(case, &stacks[i], round)?)?;
        }
    }
    let half_of = |rows: &[Row], id: &str, target: &str| {
        let peaks: Vec<f64> = rows
            .iter()
            .filter(|r| r.id == id && r.target == target && r.mode == "peak" && r.ok())
            .map(|r| r.rps)
            .collect();
        (report::median(&peaks).unwrap_or(0.0) / 2.0) as u64
    };
    for &(case, i) in &runs {
        if !matches!(case.load, Load::WatchLag) {
            continue;
        }
        check_stop()?;
        let rate = half_of(&results.rows, "put", &stacks[i].name);
        results.keep(bench.watch_lag(case, &stacks[i], rate)?)?;
    }
    if opts.ab() {
        return Ok(results.rows);
    }
    for &(case, i) in &runs {
        let Some(kind) = case.half_peak else { continue };
        check_stop()?;
        let rate = half_of(&results.rows, case.id, &stacks[i].name);
        results.keep(bench.half_peak(case, &stacks[i], kind, rate)?)?;
    }
    Ok(results.rows)
}

/// The rows so far, each logged and appended to results.csv as it comes,
/// so an interrupted run keeps what it measured.
struct Results {
    csv: fs::File,
    rounds: u32,
    rows: Vec<Row>,
}

impl Results {
    fn create(path: &Path, rounds: u32) -> Result<Results, String> {
        let mut csv = fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        writeln!(csv, "{CSV_HEADER}").map_err(|e| e.to_string())?;
        Ok(Results {
            csv,
            rounds,
            rows: Vec::new(),
        })
    }

    fn keep(&mut self, row: Row) -> Result<(), String> {
        log(&describe(&row, self.rounds));
        writeln!(self.csv, "{}", row.to_csv()).map_err(|e| e.to_string())?;
        self.rows.push(row);
        Ok(())
    }
}

fn log(message: &str) {
    eprintln!("--- {message}");
}

fn describe(row: &Row, rounds: u32) -> String {
    let when = if row.mode == "peak" {
        format!("round {}/{rounds}", row.round)
    } else {
        format!("at {} req/s", row.offered_rps.unwrap_or(0.0))
    };
    format!(
        "{when} {} @ {}: {:.0} req/s, {:.1} us server CPU/request (server CPUs {:.0}% busy), \
         p99 {:.2} ms, other processes {:.0}% CPU, {}",
        row.label,
        row.target,
        row.rps,
        row.cpu_us_per_req(),
        row.server_busy_pct,
        row.p99_ms,
        row.other_cpu_pct,
        row.check
    )
}
