//! One access-log line per request: method, path, key, status and latency,
//! also as key-values (route, and the rest) for the JSON log format.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use actix_web::http::{Method, StatusCode};

use crate::key::Key;

/// The key a request addressed, left in the request extensions by the handler.
#[derive(Debug, Clone)]
pub struct LoggedKey(pub Key);

/// Paths polled by orchestrators and scrapers every few seconds; logging
/// them is noise.
const UNLOGGED_PATHS: [&str; 3] = ["/health", "/ready", "/metrics"];

/// Longest path or key written to the log, in characters.
const MAX_LOGGED_CHARS: usize = 128;

/// The log target of access lines.
const TARGET: &str = "kv_gateway::access";

/// Whether access lines are written at all (`RUST_LOG` at info or finer).
pub fn enabled() -> bool {
    log::log_enabled!(target: TARGET, log::Level::Info)
}

/// Whether a request to `path` gets an access line.
pub fn logs(path: &str) -> bool {
    !UNLOGGED_PATHS.contains(&path) && enabled()
}

/// What one access line says.
pub struct AccessLine<'a> {
    /// The request's method.
    pub method: &'a Method,
    /// Its route template.
    pub route: &'static str,
    /// Its path.
    pub path: &'a str,
    /// The key it addressed, if any.
    pub key: Option<&'a Key>,
    /// Its status.
    pub status: StatusCode,
    /// How long it took.
    pub latency: Duration,
}

/// Writes the line. Keys and paths are written with control characters
/// and quotes escaped (Rust's `{:?}`; JSON's own escaping in JSON lines).
pub fn write(line: &AccessLine<'_>) {
    let path = shorten(line.path);
    let key = line.key.map(|k| shorten(k.as_str()));
    let micros = line.latency.as_micros();
    let latency_ms = micros as f64 / 1000.0;
    log::info!(
        target: TARGET,
        method = line.method.as_str(),
        route = line.route,
        path = &*path,
        key = key.as_deref(),
        status = line.status.as_u16(),
        latency_ms = latency_ms;
        "{} {path:?} key={} status={} latency={}.{:03}ms",
        line.method,
        ShownKey(key.as_deref()),
        line.status.as_u16(),
        micros / 1000,
        micros % 1000,
    );
}

/// A key as the human line shows it: quoted and escaped, or `-`. Written
/// straight into the line, since this runs for every request.
struct ShownKey<'a>(Option<&'a str>);

impl fmt::Display for ShownKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(key) => write!(f, "{key:?}"),
            None => f.write_str("-"),
        }
    }
}

/// `s`, cut after `MAX_LOGGED_CHARS` characters; borrowed when it is short.
fn shorten(s: &str) -> Cow<'_, str> {
    match s.char_indices().nth(MAX_LOGGED_CHARS) {
        Some((cut, _)) => Cow::Owned(format!("{}...", &s[..cut])),
        None => Cow::Borrowed(s),
    }
}
