//! One measured load run: a line of results.csv, built from the `RESULT`
//! line the load generator printed and the CPU times around it.

use std::fmt::Write as _;

use crate::cpu::CpuTime;

/// The columns of results.csv.
pub const CSV_HEADER: &str = "round,id,label,target,role,tool,mode,offered_rps,duration_s,\
requests,rps,p50_ms,p99_ms,max_ms,unexpected,socket_errors,server_cpu_s,server_cpu_us_per_req,\
server_busy_pct,other_cpu_pct,front_user_s,front_system_s,back_user_s,back_system_s,check";

/// One load run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Row {
    /// 1.. for the rounds of peak runs, 0 for half-peak runs.
    pub round: u32,
    pub id: String,
    pub label: String,
    /// The stack that served it: `gateway`, `webdis`, `webdis-mem`, `A`, `B`.
    pub target: String,
    /// `gateway`, `ceiling` or `webdis`.
    pub role: String,
    pub tool: String,
    /// `peak` (closed loop) or `half-peak` (constant rate).
    pub mode: String,
    pub offered_rps: Option<f64>,
    pub duration_s: f64,
    pub requests: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub unexpected: u64,
    pub socket_errors: u64,
    /// CPU seconds over the run of the HTTP front (gateway or Webdis) and of
    /// the backend (Tarantool or Redis), each in user space and in the kernel.
    pub front: CpuTime,
    pub back: CpuTime,
    /// That CPU in % of the server CPUs over the measured duration.
    pub server_busy_pct: f64,
    /// CPU used meanwhile by processes the run did not start, % of all cores.
    pub other_cpu_pct: f64,
    /// `ok` or `FAIL: why`.
    pub check: String,
}

impl Row {
    /// utime+stime of the stack's processes over the run, seconds.
    pub fn server_cpu_s(&self) -> f64 {
        self.front.total() + self.back.total()
    }

    /// Server CPU per request, microseconds.
    pub fn cpu_us_per_req(&self) -> f64 {
        self.us_per_req(self.server_cpu_s())
    }

    /// CPU seconds per request, in microseconds.
    pub fn us_per_req(&self, seconds: f64) -> f64 {
        if self.requests == 0 {
            f64::NAN
        } else {
            seconds * 1e6 / self.requests as f64
        }
    }

    /// Whether it passed its check.
    pub fn ok(&self) -> bool {
        self.check == "ok"
    }

    /// Fills the load's figures from `output` (the last `RESULT` line) and
    /// sets the check: requests made, none unexpected, no socket error.
    pub fn take_result(&mut self, output: &str) {
        let Some(line) = output.lines().rev().find(|l| l.starts_with("RESULT ")) else {
            self.check = "FAIL: no result".into();
            return;
        };
        for (name, value) in line.split_whitespace().filter_map(|f| f.split_once('=')) {
            let num = || value.parse::<f64>().unwrap_or(f64::NAN);
            let int = || value.parse::<u64>().unwrap_or(0);
            match name {
                "requests" => self.requests = int(),
                "duration_s" => self.duration_s = num(),
                "rps" => self.rps = num(),
                "p50_ms" => self.p50_ms = num(),
                "p99_ms" => self.p99_ms = num(),
                "max_ms" => self.max_ms = num(),
                "unexpected" => self.unexpected = int(),
                "socket_errors" => self.socket_errors = int(),
                _ => {}
            }
        }
        self.check = if self.requests == 0 {
            "FAIL: no requests".into()
        } else if self.unexpected != 0 || self.socket_errors != 0 {
            format!(
                "FAIL: {} unexpected statuses; {} socket errors",
                self.unexpected, self.socket_errors
            )
        } else {
            "ok".into()
        };
    }

    /// The CSV line (no newline).
    pub fn to_csv(&self) -> String {
        let mut s = String::new();
        let clean = |t: &str| t.replace(',', ";");
        let _ = write!(
            s,
            "{},{},{},{},{},{},{},{},{:.3},{},{:.1},{:.3},{:.3},{:.3},{},{},{:.3},{:.2},{:.1},{:.1},{:.3},{:.3},{:.3},{:.3},{}",
            self.round,
            self.id,
            clean(&self.label),
            self.target,
            self.role,
            self.tool,
            self.mode,
            self.offered_rps.map_or(String::new(), |r| format!("{r:.0}")),
            self.duration_s,
            self.requests,
            self.rps,
            self.p50_ms,
            self.p99_ms,
            self.max_ms,
            self.unexpected,
            self.socket_errors,
            self.server_cpu_s(),
            self.cpu_us_per_req(),
            self.server_busy_pct,
            self.other_cpu_pct,
            self.front.user_s,
            self.front.system_s,
            self.back.user_s,
            self.back.system_s,
            clean(&self.check),
        );
        s
    }

    /// Parses a line written by [`Row::to_csv`].
    pub fn from_csv(line: &str) -> Result<Row, String> {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != CSV_HEADER.split(',').count() {
            return Err(format!("bad row {line:?}"));
        }
        let num = |s: &str| s.parse::<f64>().unwrap_or(f64::NAN);
        let int = |s: &str| s.parse::<u64>().unwrap_or(0);
        Ok(Row {
            round: f[0].parse().unwrap_or(0),
            id: f[1].into(),
            label: f[2].into(),
            target: f[3].into(),
            role: f[4].into(),
            tool: f[5].into(),
            mode: f[6].into(),
            offered_rps: f[7].parse().ok(),
            duration_s: num(f[8]),
            requests: int(f[9]),
            rps: num(f[10]),
            p50_ms: num(f[11]),
            p99_ms: num(f[12]),
            max_ms: num(f[13]),
            unexpected: int(f[14]),
            socket_errors: int(f[15]),
            // f[16] and f[17], server CPU and CPU per request, are derived.
            server_busy_pct: num(f[18]),
            other_cpu_pct: num(f[19]),
            front: CpuTime {
                user_s: num(f[20]),
                system_s: num(f[21]),
            },
            back: CpuTime {
                user_s: num(f[22]),
                system_s: num(f[23]),
            },
            check: f[24].into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_line_fills_the_row_and_its_check() {
        let mut row = Row::default();
        row.take_result(
            "noise\nRESULT requests=1000 duration_s=2.000 rps=500.0 p50_ms=1.000 p99_ms=2.500 \
             max_ms=9.000 unexpected=0 socket_errors=0\n",
        );
        assert_eq!((row.requests, row.rps, row.p99_ms), (1000, 500.0, 2.5));
        assert!(row.ok());
        row.front.user_s = 0.02;
        assert!((row.cpu_us_per_req() - 20.0).abs() < 1e-9);

        let mut bad = Row::default();
        bad.take_result("RESULT requests=10 unexpected=3 socket_errors=0");
        assert!(bad.check.starts_with("FAIL: 3 unexpected"));
        let mut none = Row::default();
        none.take_result("wrk: connection refused");
        assert_eq!(none.check, "FAIL: no result");
    }

    #[test]
    fn rows_survive_the_csv() {
        let mut row = Row {
            round: 2,
            id: "get".into(),
            label: "GET, existing".into(),
            target: "A".into(),
            role: "gateway".into(),
            tool: "wrk".into(),
            mode: "peak".into(),
            front: CpuTime {
                user_s: 0.5,
                system_s: 0.25,
            },
            back: CpuTime {
                user_s: 0.625,
                system_s: 0.125,
            },
            server_busy_pct: 99.5,
            ..Row::default()
        };
        row.take_result("RESULT requests=100000 duration_s=5.000 rps=20000.0 p50_ms=1.000 p99_ms=2.000 max_ms=3.000 unexpected=0 socket_errors=0");
        let back = Row::from_csv(&row.to_csv()).unwrap();
        assert_eq!(back.label, "GET; existing");
        assert_eq!(
            (back.requests, back.rps, back.server_cpu_s()),
            (100000, 20000.0, 1.5)
        );
        assert_eq!((back.front, back.back), (row.front, row.back));
        assert_eq!(back.check, "ok");
        assert_eq!(
            CSV_HEADER.split(',').count(),
            row.to_csv().split(',').count()
        );
    }
}
