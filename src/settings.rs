//! The settings tree and its layered loading: built-in defaults, then an
//! optional `--config` file, then `KV__SECTION__KEY` environment variables.

use std::path::Path;
use std::time::Duration;

use config::{Config, Environment, File, FileFormat};
use serde::{Deserialize, Deserializer};

use crate::client_ip::TrustedProxies;
use crate::observe_settings::{LogSettings, MetricsSettings};
use crate::stream_settings::{WatchSettings, WebSocketSettings};

/// The compiled-in defaults; every key is documented there.
pub const DEFAULTS: &str = include_str!("../config/default.toml");

/// Everything kv-gateway can be configured with.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The HTTP server.
    pub server: ServerSettings,
    /// The Tarantool connection.
    pub tarantool: TarantoolSettings,
    /// Per-client rate limiting on `/kv`.
    pub rate_limit: RateLimitSettings,
    /// Request size limits.
    pub limits: LimitSettings,
    /// What the API allows.
    pub api: ApiSettings,
    /// Change feed streams.
    pub watch: WatchSettings,
    /// WebSocket connections.
    pub websocket: WebSocketSettings,
    /// The log's format.
    pub log: LogSettings,
    /// Where metrics are served.
    pub metrics: MetricsSettings,
}

/// `[api]`: operations that are off unless asked for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSettings {
    /// Whether `DELETE /kv` without a prefix deletes every key.
    pub allow_delete_all: bool,
}

/// `[server]`: where and how the HTTP server runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Address the HTTP server listens on: `host:port`, the host an IP
    /// address or a name resolved at start.
    pub bind: String,
    /// Worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// How long a graceful shutdown waits for in-flight requests.
    pub shutdown_timeout_ms: u64,
    /// Most connections open at once over all workers; 0 means the open
    /// files limit less `RESERVED_FILES`.
    pub max_connections: usize,
    /// A request's headers must arrive within this long (else 408).
    pub client_header_timeout_ms: u64,
    /// An idle keep-alive connection is closed after this long.
    pub keep_alive_ms: u64,
    /// The whole request body must arrive within this long.
    pub client_body_timeout_ms: u64,
    /// ... and, after its first second, at least this fast on average.
    pub client_body_min_bytes_per_s: u64,
    /// A client that takes no data for this long is disconnected; 0 leaves
    /// the system's default.
    pub send_timeout_ms: u64,
}

/// File descriptors kept free of client connections for everything else
/// (Tarantool connections, logs, threads' runtimes).
pub const RESERVED_FILES: usize = 64;

/// How a request body must arrive.
#[derive(Debug, Clone, Copy)]
pub struct BodyRead {
    /// The whole body's deadline.
    pub timeout: Duration,
    /// The slowest average pace accepted after the first second.
    pub min_bytes_per_s: u64,
}

/// `[tarantool]`: how to reach and log in to Tarantool.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TarantoolSettings {
    /// Tarantool's iproto address, `host:port`.
    pub address: String,
    /// Login of the gateway's user.
    pub user: String,
    /// Password of the gateway's user; required.
    pub password: String,
    /// Longest wait for one Tarantool call.
    pub request_timeout_ms: u64,
    /// Pause between reconnection attempts.
    pub reconnect_interval_ms: u64,
    /// A connection that is not up this long after it was made or lost is
    /// replaced by a new one (bounds a hanging connect or greeting).
    pub connect_timeout_ms: u64,
    /// With no answer from Tarantool for this long, the connection is pinged.
    pub ping_interval_ms: u64,
    /// This many unanswered pings in a row and the connection is replaced.
    pub ping_misses: u32,
    /// Most operations sent to Tarantool in one batched call.
    pub batch_max_ops: usize,
    /// A batch stops taking operations once its arguments reach this size.
    pub batch_max_bytes: usize,
    /// Tarantool stops running a batch's operations once its answers reach
    /// this size; the rest go in the next batch.
    pub batch_max_reply_bytes: usize,
    /// Batched calls each worker may have in flight at once.
    pub batches_in_flight: usize,
}

/// `[rate_limit]`: per-client request rate on `/kv`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Average requests per second per client; 0 disables the limit.
    pub per_second: u64,
    /// Requests a client may make at once.
    pub burst: u32,
    /// Peers whose `X-Forwarded-For` is believed.
    #[serde(deserialize_with = "list_or_comma_separated")]
    pub trusted_proxies: Vec<String>,
}

/// `[limits]`: bounds enforced before any work is done.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Longest accepted key, in UTF-8 bytes.
    pub max_key_bytes: usize,
    /// Most operations in one `POST /txn`.
    pub max_txn_ops: usize,
    /// The longest expiry a record may be given, in seconds.
    pub max_ttl_s: u64,
    /// Keys a page of a listing looks at, at most.
    pub max_list_scan: usize,
}

/// Why the settings could not be loaded; the message names the offending key.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A source could not be read or a value has the wrong type.
    #[error("invalid configuration: {0}")]
    Load(#[from] config::ConfigError),
    /// A value has the right type but is not acceptable.
    #[error("invalid configuration: {key} {problem} (set it with {env})")]
    Invalid {
        /// The dotted key, e.g. `tarantool.password`.
        key: &'static str,
        /// The environment variable that sets it.
        env: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

impl Settings {
    /// Loads defaults < `file` (if given) < `KV__SECTION__KEY` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Settings, SettingsError> {
        let settings: Settings = layered(file)?.try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    /// Only `server.bind`, from the same layers: all `healthcheck` needs,
    /// so it runs without the Tarantool password.
    pub fn load_bind(file: Option<&Path>) -> Result<String, SettingsError> {
        let bind: String = layered(file)?.get("server.bind")?;
        check_bind(&bind)?;
        Ok(bind)
    }

    /// Loads the defaults overridden by `toml` (no file, no environment).
    pub fn from_toml(toml: &str) -> Result<Settings, SettingsError> {
        let settings: Settings = Config::builder()
            .add_source(File::from_str(DEFAULTS, FileFormat::Toml))
            .add_source(File::from_str(toml, FileFormat::Toml))
            .build()?
            .try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        check_bind(&self.server.bind)?;
        let invalid = |key, env, problem: &str| {
            Err(SettingsError::Invalid {
                key,
                env,
                problem: problem.to_owned(),
            })
        };
        if self.tarantool.password.is_empty() {
            return invalid(
                "tarantool.password",
                "KV__TARANTOOL__PASSWORD",
                "is required (the password of tarantool.user)",
            );
        }
        if self.tarantool.address.trim().is_empty() {
            return invalid(
                "tarantool.address",
                "KV__TARANTOOL__ADDRESS",
                "must be host:port",
            );
        }
        if self.rate_limit.per_second > 0 && self.rate_limit.burst == 0 {
            return invalid(
                "rate_limit.burst",
                "KV__RATE_LIMIT__BURST",
                "must be at least 1 while rate_limit.per_second is not 0",
            );
        }
        if !self.metrics.bind.is_empty() {
            check_bind(&self.metrics.bind).map_err(|_| SettingsError::Invalid {
                key: "metrics.bind",
                env: "KV__METRICS__BIND",
                problem: format!(
                    "must be empty or host:port, such as 0.0.0.0:9100; got {:?}",
                    self.metrics.bind
                ),
            })?;
        }
        if let Err(problem) = TrustedProxies::parse(&self.rate_limit.trusted_proxies) {
            return invalid(
                "rate_limit.trusted_proxies",
                "KV__RATE_LIMIT__TRUSTED_PROXIES",
                &problem,
            );
        }
        let at_least_one = [
            (
                self.server.client_header_timeout_ms == 0,
                "server.client_header_timeout_ms",
                "KV__SERVER__CLIENT_HEADER_TIMEOUT_MS",
            ),
            (
                self.server.client_body_timeout_ms == 0,
                "server.client_body_timeout_ms",
                "KV__SERVER__CLIENT_BODY_TIMEOUT_MS",
            ),
            (
                self.tarantool.request_timeout_ms == 0,
                "tarantool.request_timeout_ms",
                "KV__TARANTOOL__REQUEST_TIMEOUT_MS",
            ),
            (
                self.tarantool.reconnect_interval_ms == 0,
                "tarantool.reconnect_interval_ms",
                "KV__TARANTOOL__RECONNECT_INTERVAL_MS",
            ),
            (
                self.tarantool.connect_timeout_ms == 0,
                "tarantool.connect_timeout_ms",
                "KV__TARANTOOL__CONNECT_TIMEOUT_MS",
            ),
            (
                self.tarantool.ping_interval_ms == 0,
                "tarantool.ping_interval_ms",
                "KV__TARANTOOL__PING_INTERVAL_MS",
            ),
            (
                self.tarantool.ping_misses == 0,
                "tarantool.ping_misses",
                "KV__TARANTOOL__PING_MISSES",
            ),
            (
                self.tarantool.batch_max_ops == 0,
                "tarantool.batch_max_ops",
                "KV__TARANTOOL__BATCH_MAX_OPS",
            ),
            (
                self.tarantool.batch_max_bytes == 0,
                "tarantool.batch_max_bytes",
                "KV__TARANTOOL__BATCH_MAX_BYTES",
            ),
            (
                self.tarantool.batch_max_reply_bytes == 0,
                "tarantool.batch_max_reply_bytes",
                "KV__TARANTOOL__BATCH_MAX_REPLY_BYTES",
            ),
            (
                self.tarantool.batches_in_flight == 0,
                "tarantool.batches_in_flight",
                "KV__TARANTOOL__BATCHES_IN_FLIGHT",
            ),
            (
                self.limits.max_body_bytes == 0,
                "limits.max_body_bytes",
                "KV__LIMITS__MAX_BODY_BYTES",
            ),
            (
                self.limits.max_key_bytes == 0,
                "limits.max_key_bytes",
                "KV__LIMITS__MAX_KEY_BYTES",
            ),
            (
                self.limits.max_txn_ops == 0,
                "limits.max_txn_ops",
                "KV__LIMITS__MAX_TXN_OPS",
            ),
            (
                self.limits.max_ttl_s == 0,
                "limits.max_ttl_s",
                "KV__LIMITS__MAX_TTL_S",
            ),
            (
                self.limits.max_list_scan == 0,
                "limits.max_list_scan",
                "KV__LIMITS__MAX_LIST_SCAN",
            ),
        ];
        let streams = self
            .watch
            .nonzero()
            .into_iter()
            .chain(self.websocket.nonzero());
        if let Some((_, key, env)) = at_least_one
            .into_iter()
            .chain(streams)
            .find(|(zero, _, _)| *zero)
        {
            return invalid(key, env, "must be at least 1");
        }
        Ok(())
    }
}

/// Defaults < `file` (if given) < `KV__SECTION__KEY` environment variables.
fn layered(file: Option<&Path>) -> Result<Config, SettingsError> {
    let mut builder = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Toml));
    if let Some(file) = file {
        builder = builder.add_source(File::from(file).required(true));
    }
    // No try_parsing: it would turn a password such as "1.50" into "1.5".
    // Typed fields still parse from strings.
    builder = builder.add_source(
        Environment::with_prefix("KV")
            .prefix_separator("__")
            .separator("__"),
    );
    Ok(builder.build()?)
}

/// `server.bind` must be `host:port`; the host is resolved when binding.
fn check_bind(bind: &str) -> Result<(), SettingsError> {
    let port = bind
        .rsplit_once(':')
        .map(|(host, port)| (host, port.parse::<u16>()));
    match port {
        Some((host, Ok(_))) if !host.is_empty() => Ok(()),
        _ => Err(SettingsError::Invalid {
            key: "server.bind",
            env: "KV__SERVER__BIND",
            problem: format!(
                "must be host:port, such as 127.0.0.1:8080, [::1]:8080 or localhost:8080; got {bind:?}"
            ),
        }),
    }
}

impl ServerSettings {
    /// Worker threads to start: the setting, or one per CPU core for 0.
    pub fn worker_count(&self) -> usize {
        if self.workers > 0 {
            return self.workers;
        }
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }

    /// `shutdown_timeout_ms` as a `Duration`.
    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_millis(self.shutdown_timeout_ms)
    }

    /// The connection cap over all workers: the setting, or for 0 the
    /// process's open files limit less `RESERVED_FILES`.
    pub fn max_connections(&self) -> usize {
        if self.max_connections > 0 {
            return self.max_connections;
        }
        open_files_limit()
            .map_or(1024, |limit| limit.saturating_sub(RESERVED_FILES))
            .max(1)
    }

    /// The cap each worker enforces (actix caps per worker).
    pub fn connections_per_worker(&self) -> usize {
        self.max_connections().div_ceil(self.worker_count()).max(1)
    }

    /// `client_header_timeout_ms` as a `Duration`.
    pub fn client_header_timeout(&self) -> Duration {
        Duration::from_millis(self.client_header_timeout_ms)
    }

    /// `send_timeout_ms` as a `Duration`, unless 0.
    pub fn send_timeout(&self) -> Option<Duration> {
        (self.send_timeout_ms > 0).then(|| Duration::from_millis(self.send_timeout_ms))
    }

    /// `keep_alive_ms` as a `Duration`.
    pub fn keep_alive(&self) -> Duration {
        Duration::from_millis(self.keep_alive_ms)
    }

    /// The rules for reading request bodies.
    pub fn body_read(&self) -> BodyRead {
        BodyRead {
            timeout: Duration::from_millis(self.client_body_timeout_ms),
            min_bytes_per_s: self.client_body_min_bytes_per_s,
        }
    }
}

/// The soft limit on open files, from /proc/self/limits (Linux).
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

impl TarantoolSettings {
    /// `request_timeout_ms` as a `Duration`.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// `reconnect_interval_ms` as a `Duration`.
    pub fn reconnect_interval(&self) -> Duration {
        Duration::from_millis(self.reconnect_interval_ms)
    }

    /// `connect_timeout_ms` as a `Duration`.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    /// `ping_interval_ms` as a `Duration`.
    pub fn ping_interval(&self) -> Duration {
        Duration::from_millis(self.ping_interval_ms)
    }
}

// The password must never reach a log line.
impl std::fmt::Debug for TarantoolSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TarantoolSettings")
            .field("address", &self.address)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("request_timeout_ms", &self.request_timeout_ms)
            .field("reconnect_interval_ms", &self.reconnect_interval_ms)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("ping_interval_ms", &self.ping_interval_ms)
            .field("ping_misses", &self.ping_misses)
            .field("batch_max_ops", &self.batch_max_ops)
            .field("batch_max_bytes", &self.batch_max_bytes)
            .field("batch_max_reply_bytes", &self.batch_max_reply_bytes)
            .field("batches_in_flight", &self.batches_in_flight)
            .finish()
    }
}

impl RateLimitSettings {
    /// The parsed trusted proxies; `Settings::load` has already validated them.
    pub fn trusted(&self) -> TrustedProxies {
        TrustedProxies::parse(&self.trusted_proxies).unwrap_or_default()
    }
}

/// Accepts a list (TOML) or one comma-separated string (environment).
fn list_or_comma_separated<'de, D: Deserializer<'de>>(de: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrString {
        List(Vec<String>),
        String(String),
    }
    Ok(match ListOrString::deserialize(de)? {
        ListOrString::List(list) => list,
        ListOrString::String(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_file_loads_and_has_the_documented_defaults() {
        let settings = Settings::from_toml("[tarantool]\npassword = \"x\"").unwrap();
        assert_eq!(settings.server.bind, "127.0.0.1:8080");
        assert_eq!(settings.tarantool.address, "127.0.0.1:3301");
        assert_eq!(settings.tarantool.user, "kv_gateway");
        assert_eq!(settings.tarantool.request_timeout(), Duration::from_secs(1));
        assert_eq!(settings.limits.max_body_bytes, 1024 * 1024);
        assert_eq!(settings.limits.max_key_bytes, 1024);
        assert!(settings.rate_limit.trusted_proxies.is_empty());
        assert_eq!(settings.server.body_read().timeout, Duration::from_secs(10));
    }

    #[test]
    fn the_connection_cap_follows_the_open_files_limit_unless_set() {
        let mut server = Settings::from_toml("[tarantool]\npassword = \"x\"")
            .unwrap()
            .server;
        server.workers = 3;
        let auto = server.max_connections();
        assert_eq!(
            auto,
            open_files_limit()
                .unwrap()
                .saturating_sub(RESERVED_FILES)
                .max(1)
        );
        server.max_connections = 100;
        assert_eq!(server.max_connections(), 100);
        assert_eq!(server.connections_per_worker(), 34);
    }

    #[test]
    fn a_missing_password_names_the_key() {
        let err = Settings::from_toml("").unwrap_err().to_string();
        assert!(err.contains("tarantool.password"), "{err}");
        assert!(err.contains("KV__TARANTOOL__PASSWORD"), "{err}");
    }

    #[test]
    fn a_bad_trusted_proxy_names_the_key() {
        let err = Settings::from_toml(
            "[tarantool]\npassword = \"x\"\n[rate_limit]\ntrusted_proxies = \"10.0.0.0/8,nope\"",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("rate_limit.trusted_proxies"), "{err}");
        assert!(err.contains("nope"), "{err}");
    }

    #[test]
    fn trusted_proxies_accept_a_comma_separated_string() {
        let settings = Settings::from_toml(
            "[tarantool]\npassword = \"x\"\n[rate_limit]\ntrusted_proxies = \"10.0.0.0/8, 127.0.0.1\"",
        )
        .unwrap();
        assert_eq!(
            settings.rate_limit.trusted_proxies,
            vec!["10.0.0.0/8".to_owned(), "127.0.0.1".to_owned()]
        );
    }

    #[test]
    fn a_wrongly_typed_value_names_the_key() {
        let err =
            Settings::from_toml("[tarantool]\npassword = \"x\"\n[server]\nworkers = \"many\"")
                .unwrap_err()
                .to_string();
        assert!(err.contains("server.workers"), "{err}");
    }

    #[test]
    fn bind_takes_a_host_name_or_an_address_with_a_port() {
        for bind in ["localhost:8080", "127.0.0.1:0", "[::1]:8080", "gateway:80"] {
            let toml = format!("[tarantool]\npassword = \"x\"\n[server]\nbind = \"{bind}\"");
            assert!(Settings::from_toml(&toml).is_ok(), "{bind}");
        }
        for bind in ["localhost", ":8080", "host:port", "127.0.0.1:65536", ""] {
            let toml = format!("[tarantool]\npassword = \"x\"\n[server]\nbind = \"{bind}\"");
            let err = Settings::from_toml(&toml).unwrap_err().to_string();
            assert!(
                err.contains("server.bind") && err.contains("host:port"),
                "{err}"
            );
        }
    }

    #[test]
    fn an_unknown_key_is_refused() {
        let err = Settings::from_toml("[tarantool]\npassword = \"x\"\n[server]\nbnd = \"x\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("bnd"), "{err}");
    }

    #[test]
    fn the_password_is_not_printed_by_debug() {
        let settings = Settings::from_toml("[tarantool]\npassword = \"hunter2\"").unwrap();
        assert!(!format!("{settings:?}").contains("hunter2"));
    }
}
