//! `[log]` and `[metrics]`: how the gateway reports on itself.

use serde::Deserialize;

/// `[log]`: the log's format (its level is `RUST_LOG`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `human` lines or one JSON object per line.
    pub format: LogFormat,
}

/// How each log line is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `[time LEVEL target request=ID] message`.
    Human,
    /// One JSON object per line, for log shippers.
    Json,
}

/// `[metrics]`: where `GET /metrics` is served.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// Also serve `/metrics` (and nothing else) on this `host:port`; empty:
    /// only on `server.bind`.
    pub bind: String,
}
