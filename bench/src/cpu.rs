//! CPU sets (which cores the servers and the load generators are pinned to)
//! and CPU accounting from /proc: the utime and stime of the server
//! processes, and how much CPU the rest of the machine used meanwhile.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::fs;
use std::time::Instant;

/// A set of CPU ids, as `taskset -c` and /proc spell it (`0-1,3`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuSet(BTreeSet<usize>);

impl CpuSet {
    /// Parses `0`, `0,2` or `0-3,6`.
    pub fn parse(text: &str) -> Result<CpuSet, String> {
        let mut set = BTreeSet::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || format!("bad CPU list {text:?}");
            let (from, to): (usize, usize) = match part.split_once('-') {
                Some((a, b)) => (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?),
                None => {
                    let n: usize = part.parse().map_err(|_| bad())?;
                    (n, n)
                }
            };
            if from > to {
                return Err(bad());
            }
            set.extend(from..=to);
        }
        if set.is_empty() {
            return Err(format!("empty CPU list {text:?}"));
        }
        Ok(CpuSet(set))
    }

    /// The CPUs this process may run on.
    pub fn allowed() -> Result<CpuSet, String> {
        let status = fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
        let list = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .ok_or("no Cpus_allowed_list in /proc/self/status")?;
        CpuSet::parse(list)
    }

    /// The default split of `allowed`: the servers on the first half (at
    /// least one CPU), the load generators on the rest. With one CPU both
    /// share it.
    pub fn split(allowed: &CpuSet) -> (CpuSet, CpuSet) {
        let ids: Vec<usize> = allowed.0.iter().copied().collect();
        if ids.len() < 2 {
            return (allowed.clone(), allowed.clone());
        }
        let (servers, load) = ids.split_at(ids.len() / 2);
        (
            CpuSet(servers.iter().copied().collect()),
            CpuSet(load.iter().copied().collect()),
        )
    }

    /// Number of CPUs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the two sets share a CPU.
    pub fn overlaps(&self, other: &CpuSet) -> bool {
        !self.0.is_disjoint(&other.0)
    }

    /// Whether every CPU of `self` is in `other`.
    pub fn is_subset(&self, other: &CpuSet) -> bool {
        self.0.is_subset(&other.0)
    }
}

impl fmt::Display for CpuSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<String> = self.0.iter().map(usize::to_string).collect();
        f.write_str(&ids.join(","))
    }
}

/// Clock ticks per second of the times in /proc (`getconf CLK_TCK`).
pub fn ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// CPU time of a process, all its threads, in clock ticks: in user space
/// (utime) and in the kernel on its behalf (stime).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ticks {
    pub user: u64,
    pub system: u64,
}

impl Ticks {
    fn total(self) -> u64 {
        self.user + self.system
    }

    fn since(self, before: Ticks) -> Ticks {
        Ticks {
            user: self.user.saturating_sub(before.user),
            system: self.system.saturating_sub(before.system),
        }
    }
}

/// The parent's pid and the CPU time of a process.
fn stat_of(pid: &str) -> Option<(u32, Ticks)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: skip past the last ')'.
    let f: Vec<&str> = text[text.rfind(')')? + 2..].split_whitespace().collect();
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    let ticks = Ticks {
        user: num(11)?,
        system: num(12)?,
    };
    Some((u32::try_from(num(1)?).ok()?, ticks))
}

/// The CPU time of a process (zero once it is gone).
pub fn process_ticks(pid: u32) -> Ticks {
    stat_of(&pid.to_string()).map_or(Ticks::default(), |(_, ticks)| ticks)
}

/// Ticks of every process this run did not start: not this one, not one of
/// its children (the load generators), not a server.
fn other_ticks(servers: &[u32]) -> HashMap<u32, u64> {
    let me = std::process::id();
    let mut out = HashMap::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me || servers.contains(&pid) {
            continue;
        }
        if let Some((parent, ticks)) = stat_of(&pid.to_string()) {
            if parent != me && !servers.contains(&parent) {
                out.insert(pid, ticks.total());
            }
        }
    }
    out
}

/// Ticks stolen by the hypervisor from all CPUs.
fn steal_ticks() -> u64 {
    let text = fs::read_to_string("/proc/stat").unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with("cpu "))
        .and_then(|l| l.split_whitespace().nth(8))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The CPU times one measurement needs, taken before and after it.
pub struct Snapshot {
    at: Instant,
    servers: Vec<(u32, Ticks)>,
    others: HashMap<u32, u64>,
    steal: u64,
}

impl Snapshot {
    /// Now, for the server processes `pids` (every server the run started).
    pub fn take(pids: &[u32]) -> Snapshot {
        Snapshot {
            at: Instant::now(),
            servers: pids.iter().map(|&p| (p, process_ticks(p))).collect(),
            others: other_ticks(pids),
            steal: steal_ticks(),
        }
    }
}

/// CPU seconds of some processes, in user space and in the kernel.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CpuTime {
    pub user_s: f64,
    pub system_s: f64,
}

impl CpuTime {
    /// User and kernel time together.
    pub fn total(self) -> f64 {
        self.user_s + self.system_s
    }
}

/// What happened between two snapshots.
pub struct Usage {
    /// CPU of the front servers asked for (kv-gateway, Webdis).
    pub front: CpuTime,
    /// CPU of the backend servers asked for (Tarantool, Redis).
    pub back: CpuTime,
    /// CPU used by processes this run did not start, plus time stolen by the
    /// hypervisor, in % of all `cores`. Processes that ended in between are
    /// not seen.
    pub other_pct: f64,
}

/// Usage between `a` and `b` of the servers `front` and `back` (some of the
/// snapshots' pids).
pub fn usage(a: &Snapshot, b: &Snapshot, front: &[u32], back: &[u32], cores: usize) -> Usage {
    let hz = ticks_per_second();
    let wall = (b.at - a.at).as_secs_f64().max(1e-9);
    let time_of = |pids: &[u32]| {
        let ticks = b.servers.iter().filter(|(pid, _)| pids.contains(pid)).fold(
            Ticks::default(),
            |sum, (pid, after)| {
                let before = a
                    .servers
                    .iter()
                    .find(|(p, _)| p == pid)
                    .map_or(Ticks::default(), |x| x.1);
                let d = after.since(before);
                Ticks {
                    user: sum.user + d.user,
                    system: sum.system + d.system,
                }
            },
        );
        CpuTime {
            user_s: ticks.user as f64 / hz,
            system_s: ticks.system as f64 / hz,
        }
    };
    // A process that started in between used all its time in between.
    let others: u64 = b
        .others
        .iter()
        .map(|(pid, after)| after.saturating_sub(a.others.get(pid).copied().unwrap_or(0)))
        .sum::<u64>()
        + b.steal.saturating_sub(a.steal);
    Usage {
        front: time_of(front),
        back: time_of(back),
        other_pct: 100.0 * others as f64 / hz / (wall * cores as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_and_print() {
        assert_eq!(CpuSet::parse("0-2,5").unwrap().to_string(), "0,1,2,5");
        assert_eq!(CpuSet::parse("1").unwrap().len(), 1);
        assert!(CpuSet::parse("").is_err());
        assert!(CpuSet::parse("3-1").is_err());
        assert!(CpuSet::parse("a").is_err());
    }

    #[test]
    fn servers_get_the_first_half() {
        let (s, l) = CpuSet::split(&CpuSet::parse("0-1").unwrap());
        assert_eq!((s.to_string(), l.to_string()), ("0".into(), "1".into()));
        let (s, l) = CpuSet::split(&CpuSet::parse("0-3").unwrap());
        assert_eq!((s.to_string(), l.to_string()), ("0,1".into(), "2,3".into()));
        let (s, l) = CpuSet::split(&CpuSet::parse("4").unwrap());
        assert!(s.overlaps(&l));
    }

    #[test]
    fn this_process_has_cpu_times() {
        let pid = std::process::id();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = std::hint::black_box(x ^ i);
        }
        assert!(process_ticks(pid).total() > 0 || x == 0);
        // This process is ours, pid 1 is not.
        let others = other_ticks(&[]);
        assert!(!others.contains_key(&pid) && others.contains_key(&1));
    }
}
