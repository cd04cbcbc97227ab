//! The operations besides `/kv`: transactions, indexes, the change feed,
//! probes, metrics and this document. Documented on functions that are
//! never called, beside the real handlers in `routes` and `ws`.

use super::bodies::*;
use super::errors::*;
use super::replies::*;

/// Run operations in one transaction
///
/// Every operation runs in one Tarantool transaction, in order, later ones
/// seeing earlier ones: all of them happen, or none. If one fails, nothing
/// is applied and the answer is that operation's error status and body
/// plus `"op": <its index>`. A transaction of `get`s and `check`s only does
/// not wait for writes.
#[utoipa::path(
    post,
    path = "/txn",
    tag = "kv",
    operation_id = "runTransaction",
    request_body(content = TxnRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Every operation was applied.", body = TxnReply),
        (status = 400, description = "`invalid request body`: the body is malformed, has no or \
            more than `limits.max_txn_ops` (128) operations, or an operation is (then with \
            `op`); or `invalid parameter` (this request takes no query parameters).",
            body = Error,
            example = json!({"error": "invalid request body", "detail": "unknown op \"fly\"; \
                one of create, update, patch, delete, get, check", "op": 3})),
        (status = 404, description = "An `update`, `patch`, `delete` or `get` of a missing key; \
            with `op`.", body = Error, example = json!({"error": "key not found", "op": 0})),
        (status = 408, response = inline(RequestTimeout)),
        (status = 409, description = "`key already exists` (a `create`), `patch conflict` or \
            `field value already taken`; with `op`.", body = Error,
            example = json!({"error": "key already exists", "op": 1})),
        (status = 412, description = "A `check` that does not hold; with `op`.", body = Error,
            example = json!({"error": "precondition failed", "op": 2})),
        (status = 413, response = inline(PayloadTooLarge)),
        (status = 429, response = inline(TooManyRequests)),
        (status = 500, response = inline(InternalError)),
        (status = 503, response = inline(StorageUnavailable)),
        (status = 507, response = inline(InsufficientStorage)),
    )
)]
pub fn run_transaction() {}

/// List the field indexes
///
/// The indexes declared on fields of the values, as Tarantool has them
/// (`KV_INDEXES` is Tarantool's setting).
#[utoipa::path(
    get,
    path = "/indexes",
    tag = "kv",
    operation_id = "listIndexes",
    responses(
        (status = 200, description = "The declared indexes.", body = IndexesReply),
        (status = 400, description = "`invalid parameter`: this request takes no query parameters.",
            body = Error,
            example = json!({"error": "invalid parameter",
                "detail": "unknown parameter \"x\"; this request takes no parameters"})),
        (status = 429, response = inline(TooManyRequests)),
        (status = 500, response = inline(InternalError)),
        (status = 503, response = inline(StorageUnavailable)),
    )
)]
pub fn list_indexes() {}

/// Watch changes (Server-Sent Events)
///
/// The changes after revision `since` (or `Last-Event-ID`, which wins),
/// then live ones, in revision order, each exactly once; without either,
/// from now on. `key` watches one key, `prefix` the keys starting with it,
/// neither every key.
///
/// The stream starts with a comment, `: watching changes after revision N`.
/// Each event is `id: <revision>`, `event: put | delete | expire` and one
/// line `data: {"key": ..., "value": ..., "revision": N}` (`value` only for
/// a `put`), then a blank line. A comment line (`: keep-alive`) comes every
/// `watch.heartbeat_ms`. A stream whose watcher fell behind the feed ends
/// with `event: compacted`, `data: {"error": "revision compacted", "oldest": M}`;
/// one that falls more than `watch.max_queued_bytes` behind is dropped
/// (resume with `Last-Event-ID`); a gateway shutting down ends it cleanly.
#[utoipa::path(
    get,
    path = "/watch",
    tag = "change feed",
    operation_id = "watch",
    params(
        ("key" = Option<String>, Query, nullable = false, min_length = 1,
            description = "Watch this key only; not with `prefix`."),
        ("prefix" = Option<String>, Query, nullable = false,
            description = "Watch the keys that start with this (byte-wise); empty: every key."),
        ("since" = Option<u64>, Query, nullable = false,
            description = "Start after this revision, with every change the feed holds since."),
        ("Last-Event-ID" = Option<u64>, Header, nullable = false,
            description = "What a reconnecting `EventSource` sends: as `since`, and wins over it."),
    ),
    responses(
        (status = 200, description = "The stream of changes.", content_type = "text/event-stream",
            body = String,
            example = "id: 42\nevent: put\n\
                data: {\"key\":\"user:1\",\"value\":{\"name\":\"Ada\"},\"revision\":42}\n\n"),
        (status = 400, description = "`invalid parameter` (an unknown parameter, `key` with \
            `prefix`, a `since` that is not a revision, a prefix too long), `invalid key` or \
            `invalid header` (a `Last-Event-ID` that is not a revision).", body = Error,
            example = json!({"error": "invalid parameter",
                "detail": "give key or prefix, not both"})),
        (status = 410, description = "The feed no longer holds every change after `since` (or \
            `since` is after the store's last revision): read the state anew and watch from \
            `oldest` - 1 or later.", body = Error,
            example = json!({"error": "revision compacted", "oldest": 1200})),
        (status = 429, response = inline(TooManyRequests)),
        (status = 500, response = inline(InternalError)),
        (status = 503, response = inline(WatchUnavailable)),
    )
)]
pub fn watch() {}

/// Kv operations and watches over a WebSocket
///
/// After the handshake, the client sends JSON text messages
/// `{"id": <any JSON, echoed>, "op": ...}` with the fields of the matching
/// HTTP request: `get`/`head` (`key`, `if_none_match`), `create` (`key`,
/// `value`, `ttl`), `update` (`key`, `value`, `ttl`, `upsert`, `if_match`,
/// `if_none_match`), `patch` (`key`, `merge` or `json_patch`, `if_match`),
/// `delete` (`key`, `if_match`), `txn` (`ops`), `watch` (`key` or `prefix`,
/// `since`) and `unwatch`. `if_match` and `if_none_match` take the header's
/// text or a bare revision. Each message gets one reply, in order:
/// `{"id": ..., "status": <HTTP status>, "body": <the HTTP body, or null>}`
/// plus `"revision": N` where HTTP sends an `ETag`. A `watch` is answered
/// `{"result": "watching", "revision": N}`, then its events come as
/// `{"watch": <id>, "event": "put" | "delete" | "expire", "key": ...,
/// "value": ..., "revision": N}`; one the feed left behind ends with
/// `{"watch": <id>, "status": 410, "body": {...}}`. A malformed message gets
/// a 400 reply and the connection stays; a frame over twice
/// `limits.max_body_bytes` closes it (1009). Every message counts against
/// the rate limit. Silent clients are pinged, then closed (1001).
#[utoipa::path(
    get,
    path = "/ws",
    tag = "change feed",
    operation_id = "websocket",
    responses(
        (status = 101, description = "Switching to the WebSocket protocol."),
        (status = 400, description = "`invalid header`: no WebSocket handshake (`Upgrade: \
            websocket` and its headers); or `invalid parameter` (this request takes no query \
            parameters).", body = Error,
            example = json!({"error": "invalid header", "detail": "/ws takes a WebSocket \
                handshake (GET with Upgrade: websocket): WebSocket upgrade is expected"})),
        (status = 429, response = inline(TooManyRequests)),
        (status = 500, response = inline(InternalError)),
    )
)]
pub fn websocket() {}

/// Liveness
///
/// 200 while the process serves requests. Not rate limited, not logged.
#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    operation_id = "health",
    responses((status = 200, description = "The process runs.", body = HealthReply,
        example = json!({"status": "ok"}))),
)]
pub fn health() {}

/// Readiness
///
/// 200 when the gateway can do its work: Tarantool answers, the gateway's
/// user may call the kv functions, and both sides speak the same protocol
/// version within the same limits. Not rate limited, not logged.
#[utoipa::path(
    get,
    path = "/ready",
    tag = "operations",
    operation_id = "ready",
    responses(
        (status = 200, description = "Ready.", body = ReadyReply,
            example = json!({"status": "ready"})),
        (status = 503, response = inline(NotReady)),
    )
)]
pub fn ready() {}

/// Metrics
///
/// The gateway's metrics in the OpenMetrics text format (which Prometheus
/// scrapes). Neither rate limited nor access-logged; `metrics.bind` can
/// serve it on an address of its own as well.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    operation_id = "metrics",
    responses((status = 200, description = "The metrics.",
        content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8",
        body = String)),
)]
pub fn metrics() {}

/// This document
///
/// The OpenAPI 3.1 document of this API. Not rate limited.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    operation_id = "openapi",
    responses((status = 200, description = "The document.", body = Object)),
)]
pub fn openapi() {}
