//! `kv-bench report`: turns the rows bench/run collected (results.csv) and
//! the facts about the run (meta.txt) into table.md, summary.csv and
//! chart.png, and prints the table.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use crate::args::Args;
use crate::chart;

/// One row of results.csv: one load run.
pub struct Row {
    pub id: String,
    pub label: String,
    pub target: String,
    pub tool: String,
    pub mode: String,
    pub offered_rps: String,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// CPU used meanwhile by processes the benchmark did not start, % of all cores.
    pub other_cpu_pct: String,
    pub check: String,
}

/// One line of the ratios and targets table.
struct Summary {
    metric: String,
    value: Option<f64>,
    unit: &'static str,
    /// e.g. `>= 1.5`; empty when there is no target.
    target: String,
    met: Option<bool>,
}

/// Runs the subcommand.
pub fn run(args: &Args) -> Result<(), String> {
    let dir = PathBuf::from(args.get::<String>("dir")?);
    let meta_file = args.text_or("meta-file", &dir.join("meta.txt").to_string_lossy());
    let font = args.text_or("font", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");
    let rows = read_rows(&dir.join("results.csv"))?;
    let meta = read_meta(Path::new(&meta_file))?;
    let summary = summarise(&rows, &meta);
    let table = render_table(&rows, &summary, &meta);
    fs::write(dir.join("table.md"), &table).map_err(|e| e.to_string())?;
    fs::write(dir.join("summary.csv"), render_summary_csv(&summary)).map_err(|e| e.to_string())?;
    let title = format!(
        "kv-gateway benchmark, {} run {}: peak req/s per case",
        meta_value(&meta, "mode"),
        meta_value(&meta, "started")
    );
    chart::draw(&rows, &title, &dir.join("chart.png"), Path::new(&font))?;
    print!("{table}");
    Ok(())
}

fn read_rows(path: &Path) -> Result<Vec<Row>, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut rows = Vec::new();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 16 {
            return Err(format!("{}: bad row {line:?}", path.display()));
        }
        let num = |s: &str| s.parse::<f64>().unwrap_or(f64::NAN);
        rows.push(Row {
            id: f[0].into(),
            label: f[1].into(),
            target: f[2].into(),
            tool: f[3].into(),
            mode: f[4].into(),
            offered_rps: f[5].into(),
            rps: num(f[8]),
            p50_ms: num(f[9]),
            p99_ms: num(f[10]),
            max_ms: num(f[11]),
            other_cpu_pct: f[14].into(),
            check: f[15].into(),
        });
    }
    Ok(rows)
}

fn read_meta(path: &Path) -> Result<BTreeMap<String, String>, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect())
}

fn meta_value<'a>(meta: &'a BTreeMap<String, String>, key: &str) -> &'a str {
    meta.get(key).map_or("?", String::as_str)
}

fn find<'a>(rows: &'a [Row], id: &str, mode: &str) -> Option<&'a Row> {
    rows.iter().find(|r| r.id == id && r.mode == mode)
}

fn summarise(rows: &[Row], meta: &BTreeMap<String, String>) -> Vec<Summary> {
    let peak = |id: &str| find(rows, id, "peak").map(|r| r.rps);
    let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);
    let (get, put) = (peak("get"), peak("put"));
    let ceiling = peak("iproto-get")
        .zip(peak("health"))
        .map(|(a, b)| a.min(b));
    let line = |metric: &str, value: Option<f64>, unit, target: &str, met: Option<bool>| Summary {
        metric: metric.to_owned(),
        value,
        unit,
        target: target.to_owned(),
        met,
    };
    let at_least = |v: Option<f64>, t: f64| v.map(|v| v >= t);
    let below = |v: Option<f64>, t: f64| v.map(|v| v < t);
    let half_p99 = |id: &str| find(rows, id, "half-peak").map(|r| r.p99_ms);
    let rss_mib = meta
        .get("gateway_rss_kib")
        .and_then(|v| v.parse::<f64>().ok())
        .map(|k| k / 1024.0);
    let hwm_mib = meta
        .get("gateway_peak_rss_kib")
        .and_then(|v| v.parse::<f64>().ok())
        .map(|k| k / 1024.0);
    let mut out = vec![
        line(
            "gateway GET / iproto get ceiling",
            ratio(get, peak("iproto-get")),
            "x",
            "",
            None,
        ),
        line(
            "gateway PUT / iproto update ceiling",
            ratio(put, peak("iproto-update")),
            "x",
            "",
            None,
        ),
        line(
            "gateway GET / HTTP ceiling (GET /health)",
            ratio(get, peak("health")),
            "x",
            "",
            None,
        ),
    ];
    let v = ratio(get, ceiling);
    out.push(line(
        "gateway GET / min(iproto, HTTP ceiling)",
        v,
        "x",
        ">= 0.60",
        at_least(v, 0.6),
    ));
    let v = ratio(get, peak("webdis-get"));
    out.push(line(
        "gateway GET / Webdis GET",
        v,
        "x",
        ">= 1.5",
        at_least(v, 1.5),
    ));
    let v = ratio(put, peak("webdis-set"));
    out.push(line(
        "gateway PUT / Webdis SET",
        v,
        "x",
        ">= 1.2",
        at_least(v, 1.2),
    ));
    for (id, name) in [
        ("get", "GET"),
        ("put", "PUT"),
        ("mix", "90/10 mix"),
        ("missing", "GET 404"),
    ] {
        let v = half_p99(id);
        let metric = format!("gateway {name} p99 at half of peak");
        out.push(line(&metric, v, "ms", "< 5", below(v, 5.0)));
    }
    out.push(line(
        "gateway RSS after the run",
        rss_mib,
        "MiB",
        "< 30",
        below(rss_mib, 30.0),
    ));
    out.push(line("gateway peak RSS (VmHWM)", hwm_mib, "MiB", "", None));
    out
}

fn fmt_num(v: f64, decimals: usize) -> String {
    if v.is_nan() {
        "-".into()
    } else {
        format!("{v:.decimals$}")
    }
}

fn render_table(rows: &[Row], summary: &[Summary], meta: &BTreeMap<String, String>) -> String {
    let m = |k| meta_value(meta, k);
    let mut t = String::new();
    let _ = writeln!(
        t,
        "## kv-gateway benchmark ({} run, {})\n",
        m("mode"),
        m("started")
    );
    if m("mode") == "smoke" {
        let _ = writeln!(t, "**Smoke run: a second or two per case on a tiny preload. It proves every case runs and answers as expected; its figures mean nothing.**\n");
    }
    let _ = writeln!(
        t,
        "Machine: {} cores, {}, {}. Gateway {} (default settings, rate limit off, access log at info \
         to a file), Tarantool {} (tarantool/init.lua: every change in the WAL before the answer), \
         Redis {} with its defaults (RDB snapshots, no AOF) + Webdis {} (Debian's config, 2 threads). \
         All on loopback: the load generator, the server and its backend share the same cores.\n",
        m("cores"), m("cpu"), m("kernel"), m("gateway_commit"), m("tarantool"), m("redis"), m("webdis")
    );
    let _ = writeln!(
        t,
        "Load: {} connections (wrk -t{}, or {} calls in flight for iproto), {} s per case after a {} s warm-up; \
         {} preloaded keys, {}-byte JSON values. Peak rows are closed-loop (latency there is under \
         saturation); half-peak rows send at a constant rate of half the peak and time each request \
         from when it was due.\n",
        m("connections"), m("wrk_threads"), m("connections"), m("duration"), m("warmup"),
        m("keys"), m("value_bytes")
    );
    let _ = writeln!(t, "**Figures are comparable only within one run** (same machine, same moment); compare ratios, not absolute numbers, across runs.\n");
    let _ = writeln!(
        t,
        "The *other CPU* column is the CPU that processes not started by the benchmark used during the case \
         (plus time stolen by the hypervisor), in % of all cores: {}% before the first case. \
         Above a few % the figures of that case are disturbed. It cannot see other guests of a \
         shared host: a fixed CPU loop ran at {} Mops/s per core before the cases and {} after \
         (a large difference means the host's speed changed during the run).\n",
        m("other_cpu_before_pct"),
        m("calibrate_before_mops"),
        m("calibrate_after_mops")
    );
    let _ = writeln!(
        t,
        "| case | server | tool | req/s | p50 ms | p99 ms | max ms | other CPU | check |"
    );
    let _ = writeln!(t, "|---|---|---|---:|---:|---:|---:|---:|---|");
    for r in rows {
        let label = if r.mode == "half-peak" {
            format!("{} @ {} req/s (half peak)", r.label, r.offered_rps)
        } else {
            r.label.clone()
        };
        let _ = writeln!(
            t,
            "| {label} | {} | {} | {} | {} | {} | {} | {}% | {} |",
            r.target,
            r.tool,
            fmt_num(r.rps, 0),
            fmt_num(r.p50_ms, 2),
            fmt_num(r.p99_ms, 2),
            fmt_num(r.max_ms, 2),
            r.other_cpu_pct,
            r.check
        );
    }
    let _ = writeln!(t, "\n| ratio or figure | value | target | met |");
    let _ = writeln!(t, "|---|---:|---|---|");
    for s in summary {
        let value = s.value.map_or("-".into(), |v| format!("{v:.2} {}", s.unit));
        let target = if s.target.is_empty() {
            String::new()
        } else {
            format!("{} {}", s.target, s.unit)
        };
        let met = match s.met {
            Some(true) => "yes",
            Some(false) => "no",
            None => "",
        };
        let _ = writeln!(t, "| {} | {value} | {target} | {met} |", s.metric);
    }
    t
}

fn render_summary_csv(summary: &[Summary]) -> String {
    let mut out = String::from("metric,value,unit,target,met\n");
    for s in summary {
        let value = s.value.map_or(String::new(), |v| format!("{v:.4}"));
        let met = s.met.map_or("", |m| if m { "yes" } else { "no" });
        let _ = writeln!(
            out,
            "{},{value},{},{},{met}",
            s.metric.replace(',', ";"),
            s.unit,
            s.target
        );
    }
    out
}
