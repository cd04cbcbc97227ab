//! The gateway's Prometheus metrics (`GET /metrics`), made with
//! prometheus-client: one registry per running gateway, shared by its
//! workers. Every label takes values from a small fixed set (route
//! templates, method names, statuses, outcomes), never a key.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use crate::build_info;

/// An HTTP request's labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// The route template (`/kv/{key}`), not the path.
    pub route: &'static str,
    /// The method, or `other`.
    pub method: &'static str,
    /// The status answered.
    pub status: u16,
}

/// An HTTP request's labels for its latency.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// The route template.
    pub route: &'static str,
    /// The method, or `other`.
    pub method: &'static str,
}

/// A Tarantool call's labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    /// The Lua function called.
    pub function: &'static str,
    /// `ok`, `error` (Tarantool answered with an error), `not_applied`
    /// (never sent) or `outcome_unknown` (no answer).
    pub outcome: &'static str,
}

/// Labels naming just a function.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FunctionLabels {
    /// The Lua function called.
    pub function: &'static str,
}

/// One Tarantool connection of one worker.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConnectionLabels {
    /// The worker's number.
    pub worker: u16,
    /// `batches` (every kv operation) or `feed` (the change feed's wait).
    pub connection: &'static str,
}

/// What kind of stream (`sse`, `websocket`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// Its kind.
    pub kind: &'static str,
}

/// Which batch lane (`read`, `write`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LaneLabels {
    /// The lane.
    pub lane: &'static str,
}

/// Which protocol (`http`, `websocket`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProtocolLabels {
    /// The protocol.
    pub protocol: &'static str,
}

/// Why (`slow`: a client that fell behind).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// The reason.
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    commit: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every metric of a gateway; cheap to share (`Arc`).
pub struct Metrics {
    registry: Registry,
    /// Requests answered, by route, method and status.
    pub http_requests: Family<HttpLabels, Counter>,
    /// Request latency by route and method, in seconds.
    pub http_duration: Histograms<RouteLabels>,
    /// Requests being served.
    pub http_in_flight: Gauge,
    /// Requests and WebSocket messages refused by the rate limit.
    pub rate_limited: Family<ProtocolLabels, Counter>,
    /// Tarantool calls by function and outcome.
    pub tarantool_calls: Family<CallLabels, Counter>,
    /// Tarantool call latency by function, in seconds.
    pub tarantool_duration: Histograms<FunctionLabels>,
    /// Operations per `kv_batch` call, by lane.
    pub batch_operations: Histograms<LaneLabels>,
    /// 1 while a connection is up, else 0.
    pub tarantool_connected: Family<ConnectionLabels, Gauge>,
    /// Open streams (`kind`: `sse` or `websocket`).
    pub streams_open: Family<KindLabels, Gauge>,
    /// Watchers attached (SSE streams and WebSocket watches).
    pub watchers: Gauge<i64, std::sync::atomic::AtomicI64>,
    /// Stream clients disconnected, by reason.
    pub stream_disconnects: Family<ReasonLabels, Counter<u64, AtomicU64>>,
}

/// Counts an open stream (`kind`: `sse` or `websocket`) until dropped.
pub struct OpenStream(Gauge);

impl OpenStream {
    /// Counts one more stream of `kind`.
    pub fn new(metrics: &Metrics, kind: &'static str) -> OpenStream {
        let gauge = metrics
            .streams_open
            .get_or_create_owned(&KindLabels { kind });
        gauge.inc();
        OpenStream(gauge)
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.dec();
    }
}

fn latency_histogram() -> Histogram {
    // 100 us to ~26 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 19))
}

fn batch_histogram() -> Histogram {
    // 1, 2, 4, ... 1024 operations.
    Histogram::new(exponential_buckets(1.0, 2.0, 11))
}

impl Metrics {
    /// A registry with every metric at zero.
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("kv");
        let metrics = Metrics {
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(latency_histogram),
            http_in_flight: Gauge::default(),
            rate_limited: Family::default(),
            tarantool_calls: Family::default(),
            tarantool_duration: Family::new_with_constructor(latency_histogram),
            batch_operations: Family::new_with_constructor(batch_histogram),
            tarantool_connected: Family::default(),
            streams_open: Family::default(),
            watchers: Gauge::default(),
            stream_disconnects: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            metrics.http_requests.clone(),
        );
        registry.register_with_unit(
            "http_request_duration",
            "HTTP request latency, by route template and method",
            Unit::Seconds,
            metrics.http_duration.clone(),
        );
        registry.register(
            "http_requests_in_flight",
            "HTTP requests being served",
            metrics.http_in_flight.clone(),
        );
        registry.register(
            "rate_limited",
            "HTTP requests (protocol=http) and WebSocket messages (protocol=websocket) refused by the rate limit",
            metrics.rate_limited.clone(),
        );
        registry.register(
            "tarantool_calls",
            "calls to Tarantool, by Lua function and outcome",
            metrics.tarantool_calls.clone(),
        );
        registry.register_with_unit(
            "tarantool_call_duration",
            "Tarantool call latency, by Lua function",
            Unit::Seconds,
            metrics.tarantool_duration.clone(),
        );
        registry.register(
            "tarantool_batch_operations",
            "operations per kv_batch call, by lane (read, write)",
            metrics.batch_operations.clone(),
        );
        registry.register(
            "tarantool_connected",
            "1 while a worker's Tarantool connection is up, else 0",
            metrics.tarantool_connected.clone(),
        );
        registry.register(
            "streams_open",
            "open SSE streams and WebSocket connections",
            metrics.streams_open.clone(),
        );
        registry.register(
            "watchers",
            "watchers of the change feed (SSE streams and WebSocket watches)",
            metrics.watchers.clone(),
        );
        registry.register(
            "stream_disconnects",
            "stream clients disconnected, by reason (slow: fell behind)",
            metrics.stream_disconnects.clone(),
        );
        registry.register(
            "build",
            "the gateway's version and the git commit it was built from",
            Info::new(BuildLabels {
                version: build_info::VERSION,
                commit: build_info::COMMIT,
            }),
        );
        // Every series with a fixed label set shows from the start, at 0.
        for protocol in ["http", "websocket"] {
            let _ = metrics
                .rate_limited
                .get_or_create_owned(&ProtocolLabels { protocol });
        }
        for kind in ["sse", "websocket"] {
            let _ = metrics
                .streams_open
                .get_or_create_owned(&KindLabels { kind });
        }
        let _ = metrics
            .stream_disconnects
            .get_or_create_owned(&ReasonLabels { reason: "slow" });
        Arc::new(Metrics {
            registry,
            ..metrics
        })
    }

    /// Every metric in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
