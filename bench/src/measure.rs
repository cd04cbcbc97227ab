//! Runs one case against one stack: a warm-up, then the measured load with
//! the server processes' CPU times read just before and just after it.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::cases::{Case, Load, Serves};
use crate::cpu::{self, CpuSet, Snapshot};
use crate::procs::{pinned, run_bounded};
use crate::row::Row;
use crate::stacks::Stack;

/// What every load of a run shares.
pub struct Bench {
    /// This program, for its `rate` and `iproto` load generators.
    pub exe: PathBuf,
    /// bench/wrk/.
    pub wrk_dir: PathBuf,
    /// Where every tool's output is kept.
    pub raw: PathBuf,
    pub server_cpus: CpuSet,
    pub load_cpus: CpuSet,
    pub keys: u64,
    pub warmup_s: u64,
    pub duration_s: u64,
    pub connections: usize,
    /// Every server process of the run: the "other CPU" figure leaves them out.
    pub all_pids: Vec<u32>,
    /// CPUs of the machine (what "other CPU" is a share of).
    pub cores: usize,
}

/// Extra time a load may take before it is killed.
const GRACE: Duration = Duration::from_secs(60);

impl Bench {
    /// The closed-loop peak of `case` on `stack`, as round `round`.
    pub fn peak(&self, case: &Case, stack: &Stack, round: u32) -> Result<Row, String> {
        let tag = format!("{}-{}-r{round}", case.id, stack.name);
        let _watchers = self.attach_watchers(case, stack, &tag)?;
        if self.warmup_s > 0 {
            let warmup = self.peak_command(case, stack, self.warmup_s, &format!("{tag}-warmup"))?;
            run_bounded(
                warmup,
                &self.raw.join(format!("{tag}-warmup.txt")),
                self.limit(),
            )?;
        }
        let cmd = self.peak_command(case, stack, self.duration_s, &tag)?;
        let tool = match case.load {
            Load::Wrk(_) => "wrk",
            Load::Iproto(_) => "kv-bench iproto",
            Load::WatchLag => "kv-bench watch-lag",
        };
        let row = self.row(case, stack, round, tool, "peak", None);
        self.measure(row, cmd, &tag, stack)
    }

    /// `case` on `stack` at a constant `rate` (half its peak).
    pub fn half_peak(
        &self,
        case: &Case,
        stack: &Stack,
        kind: &str,
        rate: u64,
    ) -> Result<Row, String> {
        let row = self.row(
            case,
            stack,
            0,
            "kv-bench rate",
            "half-peak",
            Some(rate as f64),
        );
        if rate == 0 {
            return Ok(Row {
                check: "FAIL: no peak to halve".into(),
                ..row
            });
        }
        let tag = format!("{}-{}-half", case.id, stack.name);
        if self.warmup_s > 0 {
            let warmup =
                self.rate_command(stack, kind, rate, self.warmup_s, &format!("{tag}-warmup"));
            run_bounded(
                warmup,
                &self.raw.join(format!("{tag}-warmup.txt")),
                self.limit(),
            )?;
        }
        let cmd = self.rate_command(stack, kind, rate, self.duration_s, &tag);
        self.measure(row, cmd, &tag, stack)
    }

    /// The lag of `case` (a `WatchLag` one) on `stack` at `rate` writes/s.
    pub fn watch_lag(&self, case: &Case, stack: &Stack, rate: u64) -> Result<Row, String> {
        let row = self.row(
            case,
            stack,
            0,
            "kv-bench watch-lag",
            "half-peak",
            Some(rate as f64),
        );
        let Some(watch_http) = stack.watch_http else {
            return Ok(Row {
                check: "FAIL: the stack has no second gateway".into(),
                ..row
            });
        };
        if rate == 0 {
            return Ok(Row {
                check: "FAIL: no PUT peak to halve".into(),
                ..row
            });
        }
        let tag = format!("{}-{}-half", case.id, stack.name);
        let command = |seconds: u64| {
            let mut cmd = pinned(&self.load_cpus, &self.exe);
            cmd.arg("watch-lag")
                .args(["--addr", &stack.http.to_string()])
                .args(["--watch-addr", &watch_http.to_string()])
                .args(["--rate", &rate.to_string()])
                .args(["--connections", &self.connections.min(16).to_string()])
                .args(["--duration", &seconds.to_string()])
                .args(["--threads", &self.load_cpus.len().to_string()]);
            cmd
        };
        if self.warmup_s > 0 {
            let out = self.raw.join(format!("{tag}-warmup.txt"));
            run_bounded(command(self.warmup_s), &out, self.limit())?;
        }
        self.measure(row, command(self.duration_s), &tag, stack)
    }

    /// Starts `case.watchers` SSE watchers of every key on `stack`'s
    /// gateway, pinned with the load; they stop when the guard is dropped.
    fn attach_watchers(
        &self,
        case: &Case,
        stack: &Stack,
        tag: &str,
    ) -> Result<Option<Watchers>, String> {
        if case.watchers == 0 {
            return Ok(None);
        }
        let mut cmd = pinned(&self.load_cpus, &self.exe);
        let seconds = self.warmup_s + self.duration_s + GRACE.as_secs();
        cmd.arg("sse-watchers")
            .args(["--addr", &stack.http.to_string()])
            .args(["--count", &case.watchers.to_string()])
            .args(["--seconds", &seconds.to_string()])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        let mut child = cmd.spawn().map_err(|e| format!("sse-watchers: {e}"))?;
        // It says WATCHING once every stream is open.
        let mut line = String::new();
        let stdout = child.stdout.take().ok_or("sse-watchers: no stdout")?;
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .map_err(|e| e.to_string())?;
        if !line.starts_with("WATCHING") {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{tag}: the SSE watchers did not start"));
        }
        Ok(Some(Watchers(child)))
    }

    fn limit(&self) -> Duration {
        Duration::from_secs(self.duration_s.max(self.warmup_s)) + GRACE
    }

    fn row(
        &self,
        case: &Case,
        stack: &Stack,
        round: u32,
        tool: &str,
        mode: &str,
        offered: Option<f64>,
    ) -> Row {
        let role = match (case.ceiling, case.serves) {
            (true, _) => "ceiling",
            (false, Serves::Gateway | Serves::GatewayIndexed) => "gateway",
            (false, Serves::Webdis(_)) => "webdis",
        };
        Row {
            round,
            id: case.id.into(),
            label: case.label.into(),
            target: stack.name.clone(),
            role: role.into(),
            tool: tool.into(),
            mode: mode.into(),
            offered_rps: offered,
            ..Row::default()
        }
    }

    /// Runs `cmd` between two CPU snapshots and fills `row`.
    fn measure(&self, mut row: Row, cmd: Command, tag: &str, stack: &Stack) -> Result<Row, String> {
        let out = self.raw.join(format!("{tag}.txt"));
        let before = Snapshot::take(&self.all_pids);
        run_bounded(cmd, &out, self.limit())?;
        let after = Snapshot::take(&self.all_pids);
        let usage = cpu::usage(
            &before,
            &after,
            &stack.front_pids(),
            &[stack.back_pid()],
            self.cores,
        );
        row.take_result(&std::fs::read_to_string(&out).unwrap_or_default());
        row.front = usage.front;
        row.back = usage.back;
        row.server_busy_pct = if row.duration_s > 0.0 {
            100.0 * row.server_cpu_s() / (row.duration_s * self.server_cpus.len() as f64)
        } else {
            f64::NAN
        };
        row.other_cpu_pct = usage.other_pct;
        Ok(row)
    }

    fn peak_command(
        &self,
        case: &Case,
        stack: &Stack,
        seconds: u64,
        tag: &str,
    ) -> Result<Command, String> {
        Ok(match case.load {
            Load::Wrk(script) => {
                let mut cmd = pinned(&self.load_cpus, "wrk");
                cmd.arg(format!("-t{}", self.load_cpus.len()))
                    .arg(format!("-c{}", self.connections))
                    .arg(format!("-d{seconds}s"))
                    .arg("--latency")
                    .arg("-s")
                    .arg(self.wrk_dir.join(script))
                    .arg(format!("http://{}", stack.http))
                    .env("BENCH_WRK_DIR", &self.wrk_dir)
                    .env("BENCH_KEYS", self.keys.to_string())
                    .env("BENCH_TAG", tag);
                cmd
            }
            Load::WatchLag => {
                return Err(format!("{}: a lag case has no peak", case.id));
            }
            Load::Iproto(op) => {
                let mut cmd = pinned(&self.load_cpus, &self.exe);
                cmd.arg("iproto")
                    .args(["--addr", &stack.backend.to_string()])
                    .args(["--password", &stack.password])
                    .args(["--op", op])
                    .args(["--warmup", "0"])
                    .args(["--concurrency", &self.connections.to_string()])
                    .args(self.common_args(seconds));
                cmd
            }
        })
    }

    fn rate_command(
        &self,
        stack: &Stack,
        kind: &str,
        rate: u64,
        seconds: u64,
        tag: &str,
    ) -> Command {
        let mut cmd = pinned(&self.load_cpus, &self.exe);
        cmd.arg("rate")
            .args(["--addr", &stack.http.to_string()])
            .args(["--kind", kind])
            .args(["--rate", &rate.to_string()])
            .args(["--warmup", "0"])
            .args(["--tag", tag])
            .args(["--connections", &self.connections.to_string()])
            .args(self.common_args(seconds));
        cmd
    }

    fn common_args(&self, seconds: u64) -> Vec<String> {
        [
            ("--keys", self.keys.to_string()),
            ("--duration", seconds.to_string()),
            ("--threads", self.load_cpus.len().to_string()),
        ]
        .into_iter()
        .flat_map(|(name, value)| [name.to_owned(), value])
        .collect()
    }
}

/// The `sse-watchers` process of a case; killed when dropped.
struct Watchers(std::process::Child);

impl Drop for Watchers {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
