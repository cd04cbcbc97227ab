//! The "where the server CPU goes" part of table.md: each case's server CPU
//! per request split by process (the HTTP front and its backend) and by
//! where it ran (user space or the kernel), so a cost can be put on the part
//! of the stack that pays it.

use std::fmt::Write as _;

use crate::report::Group;
use crate::row::Row;

/// The names of a row's front and backend.
fn parts_of(row: &Row) -> (&'static str, &'static str) {
    if row.target.starts_with("webdis") {
        ("Webdis", "Redis")
    } else {
        ("gateway", "Tarantool")
    }
}

fn cell(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.1}"),
        _ => "-".into(),
    }
}

/// The section, one line per case and stack; empty without groups.
pub fn markdown(groups: &[Group]) -> String {
    let mut t = String::new();
    if groups.is_empty() {
        return t;
    }
    let _ = writeln!(
        t,
        "\n### Where the server CPU goes (us per request, median over the rounds)\n\n\
         *User* is the process's own code; *kernel* is the system calls it made and the work the kernel did \
         for it (for a loopback TCP send, that includes delivering the bytes to the receiving socket). The \
         front is the HTTP server (kv-gateway or Webdis), the backend its store (Tarantool with its WAL \
         thread, or Redis with its AOF). Each column is its own median, so they need not add up to the total.\n"
    );
    let _ = writeln!(
        t,
        "| case | front | front user | front kernel | backend | backend user | backend kernel | total |"
    );
    let _ = writeln!(t, "|---|---|---:|---:|---|---:|---:|---:|");
    for g in groups {
        let (front, back) = parts_of(g.first);
        let us = |seconds: fn(&Row) -> f64| g.median_of(|r| r.us_per_req(seconds(r)));
        let _ = writeln!(
            t,
            "| {} | {front} | {} | {} | {back} | {} | {} | {} |",
            g.first.label,
            cell(us(|r| r.front.user_s)),
            cell(us(|r| r.front.system_s)),
            cell(us(|r| r.back.user_s)),
            cell(us(|r| r.back.system_s)),
            cell(g.cpu().map(|s| s.median)),
        );
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::CpuTime;
    use crate::report::groups;

    #[test]
    fn each_part_is_a_median_per_request() {
        let row = |target: &str, round: u32, front_user_s: f64| Row {
            round,
            id: format!("{target}-put"),
            label: format!("{target} put"),
            target: target.into(),
            mode: "peak".into(),
            requests: 100_000,
            front: CpuTime {
                user_s: front_user_s,
                system_s: 1.0,
            },
            back: CpuTime {
                user_s: 0.5,
                system_s: 0.25,
            },
            check: "ok".into(),
            ..Row::default()
        };
        let rows = vec![
            row("gateway", 1, 1.0),
            row("gateway", 2, 3.0),
            row("gateway", 3, 2.0),
            row("webdis", 1, 0.5),
        ];
        let text = markdown(&groups(&rows));
        assert!(
            text.contains("| gateway put | gateway | 20.0 | 10.0 | Tarantool | 5.0 | 2.5 | 37.5 |"),
            "{text}"
        );
        assert!(
            text.contains("| webdis put | Webdis | 5.0 | 10.0 | Redis | 5.0 | 2.5 | 22.5 |"),
            "{text}"
        );
        assert!(markdown(&[]).is_empty());
    }
}
