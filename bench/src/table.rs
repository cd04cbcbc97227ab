//! table.md and summary.csv: what a run measured, in the layout the
//! README's performance section uses.

use std::fmt::Write as _;

use crate::report::{Comparison, Group, Meta, Spread};
use crate::row::Row;
use crate::targets::Target;

/// 123456.7 -> "123,457".
pub fn thousands(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let digits = format!("{:.0}", v.max(0.0));
    let mut out = String::new();
    for (n, c) in digits.chars().enumerate() {
        if n > 0 && (digits.len() - n) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn num(v: Option<f64>, decimals: usize) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.decimals$}"),
        _ => "-".into(),
    }
}

fn range(s: Option<Spread>, decimals: usize, unit: &str) -> String {
    s.map_or("-".into(), |s| {
        format!("{:.decimals$}-{:.decimals$}{unit}", s.min, s.max)
    })
}

fn server_of(row: &Row) -> String {
    match row.target.as_str() {
        "gateway" => "gateway + Tarantool".into(),
        "webdis" => "Webdis + Redis (AOF)".into(),
        "webdis-mem" => "Webdis + Redis (memory)".into(),
        ab => format!("{ab}: gateway + Tarantool"),
    }
}

/// The whole table.md.
pub fn render(
    rows: &[Row],
    groups: &[Group],
    comparisons: &[Comparison],
    targets: &[Target],
    meta: &Meta,
) -> String {
    let m = |k: &str| meta.get(k).map_or("?", String::as_str);
    let ab = m("ab") == "yes";
    let mut t = String::new();
    let kind = if ab { "A/B" } else { m("mode") };
    let _ = writeln!(
        t,
        "## kv-gateway benchmark ({kind} run, {})\n",
        m("started")
    );
    if m("mode") == "smoke" {
        let _ = writeln!(t, "**Smoke run: a second or two per case on a tiny preload. It proves every case runs and answers as expected; its figures mean nothing.**\n");
    }
    let builds = if ab {
        format!(
            "A = {} ({} gateway worker(s)), B = {} ({}): each its own gateway binary and init.lua, \
             each with its own Tarantool",
            m("gateway_a"),
            m("gateway_workers_a"),
            m("gateway_b"),
            m("gateway_workers_b"),
        )
    } else {
        format!(
            "Gateway {} ({} worker(s))",
            m("gateway_a"),
            m("gateway_workers_a")
        )
    };
    let _ = write!(
        t,
        "Machine: {} cores, {}, {}. Servers pinned to CPU {} and load generators to CPU {} (taskset). \
         {builds}; default settings, rate limit off, access log at info to a file; \
         Tarantool {} (init.lua: `wal_mode = 'write'`: every change written to the WAL, without fsync, \
         before the answer).",
        m("cores"), m("cpu"), m("kernel"), m("server_cpus"), m("load_cpus"), m("tarantool"),
    );
    if rows.iter().any(|r| r.role == "webdis") {
        let _ = write!(
            t,
            " Webdis {} ({} thread(s)) + Redis {} with `appendonly yes`, `appendfsync no` (the same durability; \
             no RDB snapshots, no AOF rewrite) and, for SET, a second one without persistence.",
            m("webdis"), m("server_cpu_count"), m("redis"),
        );
    }
    let _ = writeln!(t, "\n");
    let _ = writeln!(
        t,
        "Load: {} connections (wrk -t{}, or {} calls in flight for iproto); {} rounds, each running every case once \
         ({} s warm-up + {} s), the two sides of every comparison back to back; {} preloaded keys, {}-byte JSON values.\n",
        m("connections"), m("load_cpu_count"), m("connections"), m("rounds"), m("warmup"), m("duration"), m("keys"), m("value_bytes")
    );
    let _ = writeln!(
        t,
        "How to read it. **Server CPU per request** (utime+stime of the server's two processes over the measured \
         window, divided by the requests answered) is what a request costs the server side: it is steady on a shared \
         machine and holds whether or not the load generator kept the server busy; trust it for cost. **req/s** is \
         the server side's capacity only when *server busy* is near 100% of its CPUs; trust it, as a median ratio \
         within one run, for throughput. Compare ratios within one run (median of the rounds, spread min-max), never \
         absolute figures across runs. *Other CPU*: used by processes this run did not start (plus steal), in % of all \
         cores, the highest over the rounds; {}% before the first case. Above a few % that case was disturbed. \
         A fixed CPU loop ran at {} Mops/s per core before and {} after (a difference means the host changed speed).\n",
        m("other_cpu_before_pct"),
        m("calibrate_before_mops"),
        m("calibrate_after_mops"),
    );
    if !comparisons.is_empty() {
        let _ = writeln!(
            t,
            "### Comparisons (ratio per round; median and spread over the rounds)\n"
        );
        let _ = writeln!(t, "| comparison | req/s ratio | spread | per round | server CPU per request ratio | spread | per round |");
        let _ = writeln!(t, "|---|---:|---|---|---:|---|---|");
        for c in comparisons {
            let per = |f: fn(&(u32, f64, f64)) -> f64| {
                c.rounds
                    .iter()
                    .map(|r| format!("{:.2}", f(r)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(
                t,
                "| {} | {}x | {} | {} | {}x | {} | {} |",
                c.label,
                num(c.rps().map(|s| s.median), 2),
                range(c.rps(), 2, "x"),
                per(|r| r.1),
                num(c.cpu().map(|s| s.median), 2),
                range(c.cpu(), 2, "x"),
                per(|r| r.2),
            );
        }
        let _ = writeln!(t);
    }
    let _ = writeln!(
        t,
        "### Cases at peak (closed loop; median over the rounds)\n"
    );
    let _ = writeln!(t, "| case | server | tool | req/s | req/s spread | server CPU us/request | spread | server busy | p99 ms | other CPU | check |");
    let _ = writeln!(t, "|---|---|---|---:|---|---:|---|---:|---:|---:|---|");
    for g in groups {
        let r = g.first;
        let other = g.rows.iter().map(|r| r.other_cpu_pct).fold(0.0, f64::max);
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {} | {}% | {} | {other:.0}% | {} |",
            r.label,
            server_of(r),
            r.tool,
            g.rps().map_or("-".into(), |s| thousands(s.median)),
            g.rps().map_or("-".into(), |s| format!(
                "{}-{}",
                thousands(s.min),
                thousands(s.max)
            )),
            num(g.cpu().map(|s| s.median), 1),
            range(g.cpu(), 1, ""),
            num(g.median_of(|r| r.server_busy_pct), 0),
            num(g.median_of(|r| r.p99_ms), 2),
            g.check(),
        );
    }
    let half: Vec<&Row> = rows.iter().filter(|r| r.mode == "half-peak").collect();
    if !half.is_empty() {
        let _ = writeln!(t, "\n### At half of the median peak (constant rate, each request timed from when it was due)\n");
        let _ = writeln!(t, "| case | server | offered req/s | req/s | p50 ms | p99 ms | max ms | server CPU us/request | other CPU | check |");
        let _ = writeln!(t, "|---|---|---:|---:|---:|---:|---:|---:|---:|---|");
        for r in half {
            let _ = writeln!(
                t,
                "| {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.1} | {:.0}% | {} |",
                r.label,
                server_of(r),
                r.offered_rps.map_or("-".into(), thousands),
                thousands(r.rps),
                r.p50_ms,
                r.p99_ms,
                r.max_ms,
                r.cpu_us_per_req(),
                r.other_cpu_pct,
                r.check
            );
        }
    }
    let rounds: u32 = m("rounds").parse().unwrap_or(0);
    let _ = writeln!(t, "\n### Every round: req/s, server CPU us/request\n");
    let heads: String = (1..=rounds).map(|n| format!(" round {n} |")).collect();
    let _ = writeln!(t, "| case | server |{heads}");
    let _ = writeln!(t, "|---|---|{}", "---:|".repeat(rounds as usize));
    for g in groups {
        let cells: String = (1..=rounds)
            .map(|n| match g.rows.iter().find(|r| r.round == n) {
                Some(r) if r.ok() => format!(" {} · {:.1} |", thousands(r.rps), r.cpu_us_per_req()),
                Some(_) => " FAIL |".into(),
                None => " |".into(),
            })
            .collect();
        let _ = writeln!(t, "| {} | {} |{cells}", g.first.label, server_of(g.first));
    }
    t.push_str(&crate::cpu_split::markdown(groups));
    t.push_str(&crate::targets::markdown(targets));
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::CpuTime;
    use crate::report::{comparisons, groups};

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0.4), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(123_456.7), "123,457");
        assert_eq!(thousands(1_000_000.0), "1,000,000");
        assert_eq!(thousands(f64::NAN), "-");
    }

    #[test]
    fn the_table_shows_medians_ratios_and_every_round() {
        let row = |id: &str, target: &str, round: u32, rps: f64| Row {
            round,
            id: id.into(),
            label: id.into(),
            target: target.into(),
            role: "gateway".into(),
            tool: "wrk".into(),
            mode: "peak".into(),
            requests: (rps * 5.0) as u64,
            duration_s: 5.0,
            rps,
            front: CpuTime {
                user_s: 1.0,
                system_s: 0.0,
            },
            check: "ok".into(),
            ..Row::default()
        };
        let rows = vec![
            row("get", "gateway", 1, 30_000.0),
            row("webdis-get", "webdis", 1, 20_000.0),
            row("get", "gateway", 2, 33_000.0),
            row("webdis-get", "webdis", 2, 30_000.0),
        ];
        let meta: Meta = [("rounds", "2"), ("mode", "full"), ("ab", "no")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let groups = groups(&rows);
        let comparisons = comparisons(&groups, &meta);
        let text = render(&rows, &groups, &comparisons, &[], &meta);
        // Ratios 1.50 and 1.10: median 1.30; CPU per request is 1/ratio.
        assert!(
            text.contains("| GET: gateway / Webdis | 1.30x | 1.10-1.50x | 1.50, 1.10 |"),
            "{text}"
        );
        assert!(
            text.contains("| get | gateway + Tarantool | wrk | 31,500 | 30,000-33,000 |"),
            "{text}"
        );
        assert!(
            text.contains("| get | gateway + Tarantool | 30,000 · 6.7 | 33,000 · 6.1 |"),
            "{text}"
        );
    }
}
