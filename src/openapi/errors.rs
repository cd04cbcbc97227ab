//! The one error body (`error::ApiError`) as the OpenAPI document
//! describes it, and the error responses that mean the same on every route.

use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::responses::{json, Header::*};

/// Every error body: `error` always, the other members only where they
/// say something.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "error": "invalid request body",
    "detail": "value must be a JSON object"
}))]
pub struct Error {
    /// What went wrong, one of a fixed set of phrases.
    pub error: ErrorKind,
    /// More about it, for a person (the unknown parameter's name, the JSON
    /// parser's message); never internals.
    #[schema(nullable = false)]
    pub detail: Option<String>,
    /// On a 503 from storage: whether the request may have been applied.
    #[schema(nullable = false)]
    pub code: Option<UnavailableCode>,
    /// On `field value already taken`: the unique field.
    #[schema(nullable = false)]
    pub field: Option<String>,
    /// In a transaction: the index of the operation that failed.
    #[schema(nullable = false)]
    pub op: Option<u64>,
    /// On `revision compacted`: the first revision the change feed has
    /// every change from.
    #[schema(nullable = false)]
    pub oldest: Option<u64>,
}

/// The `error` of an error body: `ApiError`'s messages.
#[derive(Deserialize, ToSchema)]
pub enum ErrorKind {
    /// 400: the body is not what the request takes.
    #[serde(rename = "invalid request body")]
    InvalidBody,
    /// 400: the key in the path is empty, too long or not UTF-8.
    #[serde(rename = "invalid key")]
    InvalidKey,
    /// 400: a malformed or misplaced header.
    #[serde(rename = "invalid header")]
    InvalidHeader,
    /// 400: an unknown, repeated or bad query parameter.
    #[serde(rename = "invalid parameter")]
    InvalidParameter,
    /// 400: a `where.` query with no indexed field.
    #[serde(rename = "field not indexed")]
    FieldNotIndexed,
    /// 403: `DELETE /kv` without a prefix.
    #[serde(rename = "deleting every key is disabled")]
    DeleteAllDisabled,
    /// 404: no record has the key.
    #[serde(rename = "key not found")]
    KeyNotFound,
    /// 404: no such route.
    #[serde(rename = "not found")]
    NotFound,
    /// 405: the route does not take the method.
    #[serde(rename = "method not allowed")]
    MethodNotAllowed,
    /// 408: the body came too late or too slowly.
    #[serde(rename = "request timeout")]
    RequestTimeout,
    /// 409: a create of a taken key.
    #[serde(rename = "key already exists")]
    KeyExists,
    /// 409: a patch that cannot apply to the value.
    #[serde(rename = "patch conflict")]
    PatchConflict,
    /// 409: another record holds the value of a unique field.
    #[serde(rename = "field value already taken")]
    FieldTaken,
    /// 410: the change feed no longer holds the changes asked for.
    #[serde(rename = "revision compacted")]
    RevisionCompacted,
    /// 412: an `If-Match`, `If-None-Match` or `check` did not hold.
    #[serde(rename = "precondition failed")]
    PreconditionFailed,
    /// 413: the body or the record is too large.
    #[serde(rename = "payload too large")]
    PayloadTooLarge,
    /// 415: a `PATCH` in a format not taken.
    #[serde(rename = "unsupported media type")]
    UnsupportedMediaType,
    /// 429: over the rate limit.
    #[serde(rename = "too many requests")]
    TooManyRequests,
    /// 500: a failure a retry will not fix.
    #[serde(rename = "internal error")]
    InternalError,
    /// 503: Tarantool unreachable, read-only or too slow, or not ready.
    #[serde(rename = "storage unavailable")]
    StorageUnavailable,
    /// 503: `watch.max_watchers` streams are open.
    #[serde(rename = "too many watchers")]
    TooManyWatchers,
    /// 507: Tarantool's memory for data is full.
    #[serde(rename = "insufficient storage")]
    InsufficientStorage,
}

/// Whether a 503'd request may have been applied.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnavailableCode {
    /// Never sent to Tarantool, or refused unapplied: safe to retry.
    NotApplied,
    /// Sent, but no answer came in time: it may or may not have been applied.
    OutcomeUnknown,
}

response!(
    /// 404 for a missing record.
    KeyNotFound => json(
        "No record has this key (or it has expired).",
        "Error",
        json!({"error": "key not found"}),
        &[],
    )
);
response!(
    /// 404 for a path no route matches.
    NotFound => json(
        "No route matches the path.",
        "Error",
        json!({"error": "not found"}),
        &[],
    )
);
response!(
    /// 405, with the methods the path takes.
    MethodNotAllowed => json(
        "The path does not take this method; `Allow` lists those it takes.",
        "Error",
        json!({"error": "method not allowed"}),
        &[Allow],
    )
);
response!(
    /// 408 while reading a body.
    RequestTimeout => json(
        "The body did not arrive within `server.client_body_timeout_ms`, or came slower \
             than `server.client_body_min_bytes_per_s` after its first second. The connection \
             is closed.",
        "Error",
        json!({"error": "request timeout"}),
        &[],
    )
);
response!(
    /// 412 for a precondition that did not hold.
    PreconditionFailed => json(
        "`If-Match` named no revision the record is at (or `If-None-Match: *` found it); \
             nothing changed.",
        "Error",
        json!({"error": "precondition failed"}),
        &[],
    )
);
response!(
    /// 413 for a body or record over the limit.
    PayloadTooLarge => json(
        "The body is over `limits.max_body_bytes` (with `Expect: 100-continue` and a larger \
             `Content-Length`, answered at once), or the record over Tarantool's \
             `memtx_max_tuple_size`. The connection is closed.",
        "Error",
        json!({"error": "payload too large"}),
        &[],
    )
);
response!(
    /// 415 for a patch format not taken.
    UnsupportedMediaType => json(
        "The `Content-Type` is no patch format this API takes; `Accept-Patch` lists them.",
        "Error",
        json!({"error": "unsupported media type"}),
        &[AcceptPatch],
    )
);
response!(
    /// 429 from the rate limiter.
    TooManyRequests => json(
        "The client is over its rate limit (`rate_limit.per_second`, `rate_limit.burst`).",
        "Error",
        json!({"error": "too many requests"}),
        &[RetryAfter],
    )
);
response!(
    /// 500: a retry will not fix it.
    InternalError => json(
        "A failure a retry will not fix: the gateway's user lacks a grant, the Lua side \
             speaks another protocol or refuses what the gateway sent, a Lua error. The cause \
             is logged, not sent.",
        "Error",
        json!({"error": "internal error"}),
        &[],
    )
);
response!(
    /// 503 from storage, saying whether the request may have been applied.
    StorageUnavailable => json(
        "Tarantool could not take the request. `code` `not_applied`: it was never sent \
             (no connection, no call slot within `tarantool.request_timeout_ms`, the gateway \
             stopping) or refused unapplied (read-only): safe to retry. `outcome_unknown`: it \
             was sent but no answer came in time: it may or may not have been applied.",
        "Error",
        json!({"error": "storage unavailable", "code": "not_applied"}),
        &[RetryAfter],
    )
);
response!(
    /// 507: Tarantool's memory is full.
    InsufficientStorage => json(
        "Tarantool's `memtx_memory` is full.",
        "Error",
        json!({"error": "insufficient storage"}),
        &[RetryAfter],
    )
);
response!(
    /// 503 for a watch that cannot start.
    WatchUnavailable => json(
        "`storage unavailable` with `code`, as for any request (also while the gateway is \
         stopping), or `too many watchers`: `watch.max_watchers` streams and watches are \
         open on this gateway.",
        "Error",
        json!({
            "error": "too many watchers",
            "detail": "this gateway serves at most 10000 watchers (watch.max_watchers); \
                try again later"
        }),
        &[RetryAfter],
    )
);
response!(
    /// 503 from `/ready`, saying why.
    NotReady => json(
        "The gateway cannot do its work; `detail` says why (also logged): Tarantool does \
         not answer, the gateway's user may not call the kv functions, or the two sides \
         speak another protocol version or have other limits.",
        "Error",
        json!({
            "error": "storage unavailable",
            "detail": "not connected to Tarantool (Connection refused (os error 111))"
        }),
        &[RetryAfter],
    )
);
