//! The project's performance targets, checked against a run's medians, and
//! summary.csv (the comparisons and the targets, one figure a line).

use std::fmt::Write as _;

use crate::report::{Comparison, Group, Meta};
use crate::row::Row;

/// One line of the targets table.
pub struct Target {
    metric: String,
    value: Option<f64>,
    unit: &'static str,
    /// e.g. `>= 1.5`; empty when there is no target.
    goal: String,
    met: Option<bool>,
}

fn target(
    metric: &str,
    value: Option<f64>,
    unit: &'static str,
    goal: Option<(&str, f64)>,
) -> Target {
    let met = goal
        .zip(value)
        .map(|((op, t), v)| if op == ">=" { v >= t } else { v < t });
    Target {
        metric: metric.to_owned(),
        value,
        unit,
        goal: goal.map_or(String::new(), |(op, t)| format!("{op} {t}")),
        met,
    }
}

/// The project's targets, from the medians (none for an A/B run).
pub fn targets(
    rows: &[Row],
    groups: &[Group],
    comparisons: &[Comparison],
    meta: &Meta,
) -> Vec<Target> {
    if meta.get("ab").map(String::as_str) == Some("yes") {
        return Vec::new();
    }
    let peak = |id: &str| {
        groups
            .iter()
            .find(|g| g.first.id == id)
            .and_then(|g| g.rps())
            .map(|s| s.median)
    };
    let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);
    let pair = |base: &str, subject: &str| {
        comparisons
            .iter()
            .find(|c| c.base == base && c.subject == subject)
            .and_then(Comparison::rps)
            .map(|s| s.median)
    };
    let (get, put) = (peak("get"), peak("put"));
    let ceiling = peak("iproto-get")
        .zip(peak("health"))
        .map(|(a, b)| a.min(b));
    let mut out = vec![
        target(
            "gateway GET / iproto get ceiling",
            ratio(get, peak("iproto-get")),
            "x",
            None,
        ),
        target(
            "gateway PUT / iproto update ceiling",
            ratio(put, peak("iproto-update")),
            "x",
            None,
        ),
        target(
            "gateway GET / HTTP ceiling (GET /health)",
            ratio(get, peak("health")),
            "x",
            None,
        ),
        target(
            "gateway GET / min(iproto, HTTP ceiling)",
            ratio(get, ceiling),
            "x",
            Some((">=", 0.6)),
        ),
        target(
            "gateway GET / Webdis GET (median of rounds)",
            pair("webdis-get", "get"),
            "x",
            Some((">=", 1.5)),
        ),
        target(
            "gateway PUT / Webdis SET, Redis AOF (median of rounds)",
            pair("webdis-set", "put"),
            "x",
            Some((">=", 1.2)),
        ),
    ];
    for (id, name) in [
        ("get", "GET"),
        ("put", "PUT"),
        ("mix", "90/10 mix"),
        ("missing", "GET 404"),
    ] {
        let p99 = rows
            .iter()
            .find(|r| r.id == id && r.mode == "half-peak" && r.ok())
            .map(|r| r.p99_ms);
        out.push(target(
            &format!("gateway {name} p99 at half of peak"),
            p99,
            "ms",
            Some(("<", 5.0)),
        ));
    }
    let mib = |key: &str| {
        meta.get(key)
            .and_then(|v| v.split_once('='))
            .and_then(|(_, kib)| kib.parse::<f64>().ok())
            .map(|k| k / 1024.0)
    };
    out.push(target(
        "gateway RSS after the run",
        mib("gateway_rss_kib"),
        "MiB",
        Some(("<", 30.0)),
    ));
    out.push(target(
        "gateway peak RSS (VmHWM)",
        mib("gateway_peak_rss_kib"),
        "MiB",
        None,
    ));
    out
}

/// The targets table of table.md (empty without targets).
pub fn markdown(targets: &[Target]) -> String {
    let mut t = String::new();
    if targets.is_empty() {
        return t;
    }
    let _ = writeln!(
        t,
        "\n### Targets\n\n| ratio or figure | value | target | met |"
    );
    let _ = writeln!(t, "|---|---:|---|---|");
    for s in targets {
        let value = s.value.map_or("-".into(), |v| format!("{v:.2} {}", s.unit));
        let goal = if s.goal.is_empty() {
            String::new()
        } else {
            format!("{} {}", s.goal, s.unit)
        };
        let met = s.met.map_or("", |m| if m { "yes" } else { "no" });
        let _ = writeln!(t, "| {} | {value} | {goal} | {met} |", s.metric);
    }
    t
}

/// summary.csv: the comparisons and the targets, one figure a line.
pub fn summary_csv(comparisons: &[Comparison], targets: &[Target]) -> String {
    let mut out = String::from("metric,value,min,max,unit,target,met\n");
    let clean = |s: &str| s.replace(',', ";");
    for c in comparisons {
        for (what, s) in [("req/s", c.rps()), ("server CPU per request", c.cpu())] {
            let (v, lo, hi) = s.map_or((String::new(), String::new(), String::new()), |s| {
                (
                    format!("{:.4}", s.median),
                    format!("{:.4}", s.min),
                    format!("{:.4}", s.max),
                )
            });
            let _ = writeln!(out, "{} ({what}),{v},{lo},{hi},x,,", clean(&c.label));
        }
    }
    for s in targets {
        let value = s.value.map_or(String::new(), |v| format!("{v:.4}"));
        let met = s.met.map_or("", |m| if m { "yes" } else { "no" });
        let _ = writeln!(
            out,
            "{},{value},,,{},{},{met}",
            clean(&s.metric),
            s.unit,
            s.goal
        );
    }
    out
}
