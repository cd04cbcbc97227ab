//! The server stacks a run measures, each a front and its backend started on
//! free loopback ports and pinned to the server CPUs: kv-gateway + Tarantool
//! (one build, or two for an A/B run), and Webdis + Redis, with an
//! append-only file written without fsync (Tarantool's `wal_mode = 'write'`)
//! or without persistence.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cpu::CpuSet;
use crate::http::get_once;
use crate::preload;
use crate::procs::{pinned, wait_for, Server};

/// Bytes of Tarantool memory for data: 1 GiB instead of init.lua's 256 MiB,
/// so rounds of POST cases never fill it.
const TARANTOOL_MEMTX_MEMORY: u64 = 1 << 30;

/// A gateway binary, the directory of the `init.lua` it goes with, and its
/// number of HTTP workers.
pub struct GatewayBuild {
    pub bin: PathBuf,
    pub tarantool_dir: PathBuf,
    pub workers: usize,
}

/// How the Redis behind a Webdis keeps its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Persistence {
    /// `appendonly yes`, `appendfsync no`: every write goes to the file,
    /// the OS decides when it reaches the disk.
    Aof,
    /// Memory only.
    None,
}

/// A started stack: the HTTP front (kv-gateway or Webdis) and its backend
/// (Tarantool or Redis). Both are stopped when it is dropped.
pub struct Stack {
    /// `gateway`, `A`, `B`, `webdis`, `webdis-mem`.
    pub name: String,
    /// Where the front listens.
    pub http: SocketAddr,
    /// Tarantool's iproto or Redis's port.
    pub backend: SocketAddr,
    /// The gateway's Tarantool password (empty for Webdis).
    pub password: String,
    /// Where a second gateway on the same Tarantool listens, if started.
    pub watch_http: Option<SocketAddr>,
    front: Server,
    back: Server,
    second: Option<Server>,
}

impl Stack {
    /// Starts Tarantool with `build`'s init.lua (and `KV_INDEXES=indexes` if
    /// given) and the gateway in front of it, with `build.workers` HTTP
    /// workers and the rate limit off.
    pub fn gateway(
        name: &str,
        build: &GatewayBuild,
        indexes: Option<&str>,
        work: &Path,
        cpus: &CpuSet,
    ) -> Result<Stack, String> {
        let [http, backend] = free_ports()?;
        let password = format!("bench-{}", fastrand::u64(..));
        let data = work.join(format!("{name}-tarantool"));
        std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
        let mut tarantool = pinned(cpus, "tarantool");
        tarantool
            .arg(build.tarantool_dir.join("init.lua"))
            .current_dir(&data)
            .env("TARANTOOL_LISTEN", backend.to_string())
            .env("TARANTOOL_WORK_DIR", &data)
            .env("KV_GATEWAY_PASSWORD", &password)
            .env("TARANTOOL_MEMTX_MEMORY", TARANTOOL_MEMTX_MEMORY.to_string());
        if let Some(indexes) = indexes {
            tarantool.env("KV_INDEXES", indexes);
        }
        let back = Server::spawn(
            &format!("{name}: tarantool"),
            tarantool,
            &work.join(format!("{name}-tarantool.log")),
        )?;
        let front = spawn_gateway(name, build, http, backend, &password, work, cpus)?;
        let mut stack = Stack {
            name: name.to_owned(),
            http,
            backend,
            password,
            watch_http: None,
            front,
            back,
            second: None,
        };
        stack.wait_ready("the gateway to be ready", "/ready")?;
        Ok(stack)
    }

    /// Starts a second gateway of `build` on this stack's Tarantool, for
    /// watchers on "another gateway".
    pub fn add_second_gateway(
        &mut self,
        build: &GatewayBuild,
        work: &Path,
        cpus: &CpuSet,
    ) -> Result<(), String> {
        let [http] = free_ports()?;
        let name = format!("{}-second", self.name);
        let second = spawn_gateway(&name, build, http, self.backend, &self.password, work, cpus)?;
        self.second = Some(second);
        self.watch_http = Some(http);
        let mut servers: Vec<&mut Server> = self.second.iter_mut().collect();
        wait_for("the second gateway to be ready", 30, &mut servers, || {
            matches!(get_once(http, "/ready"), Ok((200, _)))
        })
    }

    /// Starts Redis (`persistence`) and Webdis with one thread per server CPU.
    pub fn webdis(
        name: &str,
        persistence: Persistence,
        work: &Path,
        cpus: &CpuSet,
    ) -> Result<Stack, String> {
        let [http, backend] = free_ports()?;
        let data = work.join(format!("{name}-redis"));
        std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
        let mut redis = pinned(cpus, "redis-server");
        redis
            .args(["--bind", "127.0.0.1", "--port", &backend.port().to_string()])
            .arg("--dir")
            .arg(&data)
            .args(["--daemonize", "no", "--save", ""])
            // An AOF rewrite would fork in the middle of a case, as a
            // Tarantool checkpoint would (once an hour, never in a run).
            .args(["--auto-aof-rewrite-percentage", "0"]);
        match persistence {
            Persistence::Aof => redis.args(["--appendonly", "yes", "--appendfsync", "no"]),
            Persistence::None => redis.args(["--appendonly", "no"]),
        };
        let log = work.join(format!("{name}-redis.log"));
        let back = Server::spawn(&format!("{name}: redis-server"), redis, &log)?;
        let config = work.join(format!("{name}-webdis.json"));
        let webdis_log = work.join(format!("{name}-webdis.log"));
        // Debian's /etc/webdis/webdis.json, on our ports, in the foreground.
        let json = serde_json::json!({
            "redis_host": "127.0.0.1",
            "redis_port": backend.port(),
            "redis_auth": null,
            "http_host": "127.0.0.1",
            "http_port": http.port(),
            "threads": cpus.len(),
            "daemonize": false,
            "database": 0,
            "acl": [ { "disabled": ["DEBUG"] } ],
            "verbosity": 3,
            "logfile": webdis_log.to_string_lossy(),
        });
        std::fs::write(&config, json.to_string()).map_err(|e| e.to_string())?;
        let mut webdis = pinned(cpus, "webdis");
        webdis.arg(&config);
        let front = Server::spawn(&format!("{name}: webdis"), webdis, &webdis_log)?;
        let mut stack = Stack {
            name: name.to_owned(),
            http,
            backend,
            password: String::new(),
            watch_http: None,
            front,
            back,
            second: None,
        };
        wait_for("Redis", 30, &mut [&mut stack.back], || redis_ping(backend))?;
        stack.wait_ready("Webdis", "/PING")?;
        Ok(stack)
    }

    fn is_gateway(&self) -> bool {
        !self.password.is_empty()
    }

    fn wait_ready(&mut self, what: &str, path: &str) -> Result<(), String> {
        let http = self.http;
        wait_for(what, 30, &mut [&mut self.front, &mut self.back], || {
            matches!(get_once(http, path), Ok((200, _)))
        })
    }

    /// The process ids whose CPU time is this stack's.
    pub fn pids(&self) -> Vec<u32> {
        let mut pids = self.front_pids();
        pids.push(self.back.pid());
        pids
    }

    /// The HTTP fronts' process ids: the gateway (and a second one) or Webdis.
    pub fn front_pids(&self) -> Vec<u32> {
        let mut pids = vec![self.front.pid()];
        pids.extend(self.second.as_ref().map(Server::pid));
        pids
    }

    /// The backend's process id: Tarantool or Redis.
    pub fn back_pid(&self) -> u32 {
        self.back.pid()
    }

    /// Stores `key-0`..`key-{N-1}` and checks that the last one reads back.
    pub fn preload(&self, keys: u64, concurrency: usize) -> Result<(), String> {
        let last = keys - 1;
        let path = if self.is_gateway() {
            preload::gateway(self.http, keys, concurrency)?;
            format!("/kv/key-{last}")
        } else {
            preload::redis(self.backend, keys)?;
            format!("/GET/key-{last}")
        };
        match get_once(self.http, &path) {
            Ok((200, body)) if body.contains(&format!("user-{last}")) => Ok(()),
            other => Err(format!(
                "{}: preload check {path} gave {other:?}",
                self.name
            )),
        }
    }

    /// The front's current and peak resident memory, in KiB.
    pub fn front_rss_kib(&self) -> (Option<u64>, Option<u64>) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.front.pid()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// `Err` when a process of the stack has exited.
    pub fn check_alive(&mut self) -> Result<(), String> {
        self.front.check_alive()?;
        if let Some(second) = &mut self.second {
            second.check_alive()?;
        }
        self.back.check_alive()
    }
}

/// A gateway of `build` on `http`, in front of the Tarantool at `backend`,
/// with default settings (RUST_LOG unset: access log at info, to a file)
/// and the rate limit off.
fn spawn_gateway(
    name: &str,
    build: &GatewayBuild,
    http: SocketAddr,
    backend: SocketAddr,
    password: &str,
    work: &Path,
    cpus: &CpuSet,
) -> Result<Server, String> {
    let mut gateway = pinned(cpus, &build.bin);
    gateway
        .env_remove("RUST_LOG")
        .env("KV__SERVER__BIND", http.to_string())
        .env("KV__SERVER__WORKERS", build.workers.to_string())
        .env("KV__TARANTOOL__ADDRESS", backend.to_string())
        .env("KV__TARANTOOL__PASSWORD", password)
        .env("KV__RATE_LIMIT__PER_SECOND", "0");
    Server::spawn(
        &format!("{name}: kv-gateway"),
        gateway,
        &work.join(format!("{name}-gateway.log")),
    )
}

fn redis_ping(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut answer = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut answer).is_ok()
        && &answer == b"+PONG\r\n"
}

/// Binds the ports at once so they differ, then releases them.
fn free_ports<const N: usize>() -> Result<[SocketAddr; N], String> {
    let listeners = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let addrs = listeners
        .iter()
        .map(TcpListener::local_addr)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    addrs
        .try_into()
        .map_err(|_| "wrong number of ports".to_owned())
}
