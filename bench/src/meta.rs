//! meta.txt: the facts about a run that the report prints beside its
//! figures: the machine, the versions, the settings, how busy the machine
//! was with other work, and the gateways' memory.

use std::fs;
use std::process::Command;

use crate::cpu::{self, Snapshot};
use crate::stacks::Stack;
use crate::stats::calibrate_mops;
use crate::suite::Options;

/// What is measured around the cases.
pub struct Facts {
    /// CPU used by other processes before the cases, % of all cores.
    other_before: f64,
    calibrate_before: f64,
    calibrate_after: f64,
    /// `(stack, VmRSS KiB, VmHWM KiB)` of every gateway after the cases.
    gateway_rss: Vec<(String, Option<u64>, Option<u64>)>,
}

impl Facts {
    /// Watches the machine for 2 s with the servers idle, then times a
    /// fixed CPU loop.
    pub fn before(opts: &Options, server_pids: &[u32]) -> Facts {
        let before = Snapshot::take(server_pids);
        std::thread::sleep(std::time::Duration::from_secs(2));
        let after = Snapshot::take(server_pids);
        let idle = cpu::usage(&before, &after, &[], &[], opts.allowed.len());
        eprintln!(
            "--- other processes use {:.0}% of the CPU before the cases start",
            idle.other_pct
        );
        if idle.other_pct >= 10.0 {
            eprintln!(
                "--- WARNING: the machine is busy with other work; the figures will be noisy"
            );
        }
        Facts {
            other_before: idle.other_pct,
            calibrate_before: calibrate_mops(1.0),
            calibrate_after: f64::NAN,
            gateway_rss: Vec::new(),
        }
    }

    /// The CPU loop again, and the gateways' memory, after the cases.
    pub fn after(&mut self, stacks: &[Stack]) {
        self.calibrate_after = calibrate_mops(1.0);
        self.gateway_rss = stacks
            .iter()
            .filter(|s| !s.password.is_empty())
            .map(|s| {
                let (rss, hwm) = s.front_rss_kib();
                (s.name.clone(), rss, hwm)
            })
            .collect();
    }

    /// Writes `<out>/meta.txt`, one `key=value` a line.
    pub fn write(&self, opts: &Options) -> Result<(), String> {
        let version = |program: &str, args: &[&str], word: usize| {
            first_line(program, args)
                .split_whitespace()
                .nth(word)
                .map_or_else(
                    || "unknown".into(),
                    |w| w.trim_start_matches("v=").to_owned(),
                )
        };
        let mut meta = vec![
            ("mode", opts.mode.clone()),
            ("ab", if opts.ab() { "yes" } else { "no" }.to_owned()),
            ("started", started(opts)),
            ("keys", opts.keys.to_string()),
            ("value_bytes", crate::values::VALUE_BYTES.to_string()),
            ("warmup", opts.warmup_s.to_string()),
            ("duration", opts.duration_s.to_string()),
            ("rounds", opts.rounds.to_string()),
            ("connections", opts.connections.to_string()),
            ("server_cpus", opts.server_cpus.to_string()),
            ("load_cpus", opts.load_cpus.to_string()),
            ("server_cpu_count", opts.server_cpus.len().to_string()),
            ("load_cpu_count", opts.load_cpus.len().to_string()),
            ("cores", opts.allowed.len().to_string()),
            ("cpu", cpu_model()),
            ("kernel", first_line("uname", &["-sr"])),
            ("gateway_a", opts.label_a.clone()),
            ("gateway_b", opts.label_b.clone()),
            ("gateway_workers_a", opts.build_a.workers.to_string()),
            (
                "gateway_workers_b",
                opts.build_b
                    .as_ref()
                    .map_or(String::new(), |b| b.workers.to_string()),
            ),
            ("tarantool", version("tarantool", &["--version"], 1)),
            ("redis", version("redis-server", &["--version"], 2)),
            (
                "webdis",
                first_line("dpkg-query", &["-W", "-f=${Version}", "webdis"]),
            ),
            ("other_cpu_before_pct", format!("{:.0}", self.other_before)),
            (
                "calibrate_before_mops",
                format!("{:.0}", self.calibrate_before),
            ),
            (
                "calibrate_after_mops",
                format!("{:.0}", self.calibrate_after),
            ),
        ];
        let kib = |v: &Option<u64>| v.map_or(String::new(), |v| v.to_string());
        for (name, rss, hwm) in &self.gateway_rss {
            meta.push(("gateway_rss_kib", format!("{name}={}", kib(rss))));
            meta.push(("gateway_peak_rss_kib", format!("{name}={}", kib(hwm))));
        }
        let text: String = meta.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        fs::write(opts.out.join("meta.txt"), text).map_err(|e| e.to_string())
    }
}

fn first_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "unknown".into())
}

/// `20250102-030405` of an output directory named `20250102-030405-full`.
fn started(opts: &Options) -> String {
    let name = opts
        .out
        .file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into_owned());
    name.get(..15).unwrap_or(&name).to_owned()
}

fn cpu_model() -> String {
    fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|v| v.split_once(':')))
        .map_or_else(|| "unknown".into(), |(_, v)| v.trim().to_owned())
}
