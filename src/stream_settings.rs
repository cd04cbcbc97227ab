//! `[watch]` and `[websocket]`: how change feed streams and WebSocket
//! connections are served.

use std::time::Duration;

use serde::Deserialize;

/// `[watch]`: change feed streams (`GET /watch`, watches over `/ws`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchSettings {
    /// An SSE stream gets a comment line this often.
    pub heartbeat_ms: u64,
    /// A watcher's unsent events may hold this many bytes; past that it is
    /// disconnected.
    pub max_queued_bytes: usize,
    /// Most watchers on one gateway.
    pub max_watchers: usize,
    /// Events read from the feed per call.
    pub batch_events: usize,
    /// The longest one waiting call to Tarantool lasts.
    pub poll_wait_ms: u64,
}

/// `[websocket]`: `/ws` connections.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebSocketSettings {
    /// A client not heard from for this long is pinged.
    pub ping_interval_ms: u64,
    /// A client not heard from for this long is closed.
    pub idle_timeout_ms: u64,
    /// Most watches on one connection.
    pub max_watches: usize,
}

impl WatchSettings {
    /// `heartbeat_ms` as a `Duration`.
    pub fn heartbeat(&self) -> Duration {
        Duration::from_millis(self.heartbeat_ms)
    }

    /// `poll_wait_ms` as a `Duration`.
    pub fn poll_wait(&self) -> Duration {
        Duration::from_millis(self.poll_wait_ms)
    }

    /// The keys that must not be 0: (is it 0, key, variable).
    pub fn nonzero(&self) -> [(bool, &'static str, &'static str); 5] {
        [
            (
                self.heartbeat_ms == 0,
                "watch.heartbeat_ms",
                "KV__WATCH__HEARTBEAT_MS",
            ),
            (
                self.max_queued_bytes == 0,
                "watch.max_queued_bytes",
                "KV__WATCH__MAX_QUEUED_BYTES",
            ),
            (
                self.max_watchers == 0,
                "watch.max_watchers",
                "KV__WATCH__MAX_WATCHERS",
            ),
            (
                self.batch_events == 0,
                "watch.batch_events",
                "KV__WATCH__BATCH_EVENTS",
            ),
            (
                self.poll_wait_ms == 0,
                "watch.poll_wait_ms",
                "KV__WATCH__POLL_WAIT_MS",
            ),
        ]
    }
}

impl WebSocketSettings {
    /// `ping_interval_ms` as a `Duration`.
    pub fn ping_interval(&self) -> Duration {
        Duration::from_millis(self.ping_interval_ms)
    }

    /// `idle_timeout_ms` as a `Duration`.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }

    /// The keys that must not be 0: (is it 0, key, variable).
    pub fn nonzero(&self) -> [(bool, &'static str, &'static str); 3] {
        [
            (
                self.ping_interval_ms == 0,
                "websocket.ping_interval_ms",
                "KV__WEBSOCKET__PING_INTERVAL_MS",
            ),
            (
                self.idle_timeout_ms == 0,
                "websocket.idle_timeout_ms",
                "KV__WEBSOCKET__IDLE_TIMEOUT_MS",
            ),
            (
                self.max_watches == 0,
                "websocket.max_watches",
                "KV__WEBSOCKET__MAX_WATCHES",
            ),
        ]
    }
}
