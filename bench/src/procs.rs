//! The processes a run starts: servers that live for the whole run and are
//! stopped when dropped, loads that are killed when their time is up, and
//! Ctrl-C / SIGTERM, which stop the run between two steps (every process it
//! started is then stopped on the way out).

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::cpu::CpuSet;

static STOP: AtomicBool = AtomicBool::new(false);

/// From now on SIGINT and SIGTERM set a flag that [`check_stop`] turns into
/// an error, instead of killing this process before it stops its servers.
pub fn watch_signals() -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        runtime.block_on(async move {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut int), Ok(mut term)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) else {
                let _ = ready_tx.send(false);
                return;
            };
            let _ = ready_tx.send(true);
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            STOP.store(true, Ordering::SeqCst);
            eprintln!("--- interrupted: stopping the servers");
        });
    });
    match ready_rx.recv() {
        Ok(true) => Ok(()),
        _ => Err("cannot watch SIGINT/SIGTERM".into()),
    }
}

/// `Err` once SIGINT or SIGTERM arrived.
pub fn check_stop() -> Result<(), String> {
    if STOP.load(Ordering::SeqCst) {
        Err("interrupted".into())
    } else {
        Ok(())
    }
}

/// `program` run through `taskset -c cpus`: it and all its threads stay there.
pub fn pinned(cpus: &CpuSet, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new("taskset");
    cmd.arg("-c").arg(cpus.to_string()).arg(program);
    cmd
}

/// A server process, stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Server {
    name: String,
    child: Child,
}

impl Server {
    /// Starts `cmd` with its output appended to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Result<Server, String> {
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        Ok(Server {
            name: name.to_owned(),
            child,
        })
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Err` when it has exited.
    pub fn check_alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("{} exited ({status})", self.name)),
            Err(e) => Err(format!("{}: {e}", self.name)),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SIGTERM first, so servers that buffer their logs can flush them.
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(self.pid().to_string())
                .status();
            let until = Instant::now() + Duration::from_secs(3);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Polls `ready` every 0.1 s for up to `seconds`; fails early when one of
/// `servers` has exited.
pub fn wait_for(
    what: &str,
    seconds: u64,
    servers: &mut [&mut Server],
    mut ready: impl FnMut() -> bool,
) -> Result<(), String> {
    let until = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < until {
        check_stop()?;
        if ready() {
            return Ok(());
        }
        for server in servers.iter_mut() {
            server
                .check_alive()
                .map_err(|e| format!("{e} while waiting for {what}"))?;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("timed out waiting for {what}"))
}

/// Runs `cmd` with its output in `out`, killed after `limit` or on SIGINT /
/// SIGTERM. `Ok(true)` when it exited successfully.
pub fn run_bounded(mut cmd: Command, out: &Path, limit: Duration) -> Result<bool, String> {
    let file = File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let err = file.try_clone().map_err(|e| e.to_string())?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let until = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok(status.success());
        }
        if check_stop().is_err() || Instant::now() >= until {
            let _ = child.kill();
            let _ = child.wait();
            check_stop()?;
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A temp directory for the servers' data and logs, removed when dropped
/// after the end of every log is copied to `keep_logs_in`.
pub struct WorkDir {
    path: PathBuf,
    keep_logs_in: PathBuf,
}

impl WorkDir {
    /// Creates it under the system temp dir.
    pub fn create(keep_logs_in: &Path) -> Result<WorkDir, String> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!("kv-bench.{}.{nanos}", std::process::id()));
        fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(WorkDir {
            path,
            keep_logs_in: keep_logs_in.to_owned(),
        })
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        for entry in fs::read_dir(&self.path).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "log") {
                let text =
                    String::from_utf8_lossy(&fs::read(&path).unwrap_or_default()).into_owned();
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(200)..].join("\n");
                let _ = fs::write(self.keep_logs_in.join(entry.file_name()), tail + "\n");
            }
        }
        let _ = fs::remove_dir_all(&self.path);
    }
}
