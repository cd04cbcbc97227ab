//! The `/kv/{key}` operations, documented on functions that are never
//! called: `routes::kv::by_key` takes every method in one handler. Every
//! response here carries `Accept-Patch` (added by `rules`), and `HEAD`'s
//! have no body.

use super::bodies::*;
use super::errors::*;
use super::kv_paths::{BAD_WRITE, TTL};
use super::replies::*;
use super::success::*;

const KEY: &str = "The key: everything after `/kv/`, percent-decoded exactly once, so \
    `/kv/a/b` and `/kv/a%2Fb` both address the key `a/b`, and `/kv/100%252F` addresses \
    `100%2F` (a `+` is a plus sign). Encode `?`, `#`, `%` and spaces. A non-empty UTF-8 \
    string of at most `limits.max_key_bytes` (1024) bytes once decoded.";
const IF_MATCH: &str = "`*` or a list of strong entity tags (`\"5\"`, `\"5\", \"7\"`): \
    the write happens only if the record exists at one of these revisions (for `*`: \
    exists at all), else 412 and nothing changes. A weak tag never matches.";
const IF_NONE_MATCH_READ: &str = "A list of entity tags or `*` (weak comparison): when \
    one names the record's revision, 304 without a body.";
const NO_NONE_MATCH: &str = "Not taken here: any value is a 400 (use `If-Match`).";
const BAD_READ: &str = "`invalid key` (empty, too long, not UTF-8 once decoded), \
    `invalid header` (a malformed `If-None-Match`) or `invalid parameter` (this request \
    takes no query parameters).";
const BAD_DELETE: &str = "`invalid key`, `invalid header` (a malformed `If-Match`, any \
    `If-None-Match`) or `invalid parameter` (this request takes no query parameters).";

/// Read a record
///
/// The value, with its revision as `ETag`.
#[utoipa::path(
    get,
    path = "/kv/{key}",
    tag = "kv",
    operation_id = "getRecord",
    params(
        ("key" = String, Path, min_length = 1, description = KEY),
        ("If-None-Match" = Option<String>, Header, nullable = false,
            description = IF_NONE_MATCH_READ),
    ),
    responses(
        (status = 200, response = inline(Found)),
        (status = 304, response = inline(NotModified)),
        (status = 400, description = BAD_READ, body = Error,
            example = json!({"error": "invalid key", "detail": "key must not be empty"})),
        (status = 404, response = inline(KeyNotFound)),
        (status = 429, response = inline(TooManyRequests)),
        (status = 500, response = inline(InternalError)),
        (status = 503, response = inline(StorageUnavailable)),
    )
)]
pub fn get_record() {}

/// Check a record
///
/// `GET`'s status and headers without a body.
#[utoipa::path(
    head,
    path = "/kv/{key}",
    tag = "kv",
    operation_id = "headRecord",
    params(
        ("key" = String, Path, min_length = 1, description = KEY),
        ("If-None-Match" = Option<String>, Header, nullable = false,
            description = IF_NONE_MATCH_READ),
    ),
    responses(
        (status = 200, response = inline(Exists)),
        (status = 304, response = inline(NotModified)),
        (status = 400, description = BAD_READ),
        (status = 404, response = inline(KeyNotFound)),
        (status = 429, response = inline(TooManyRequests)),
        (status = 500, response = inline(InternalError)),
        (status = 503, response = inline(StorageUnavailable)),
    )
)]
pub fn head_record() {}

/// Replace a record's value
///
/// The stored value becomes exactly the body's `value`. Plain `PUT` never
/// creates (404 for a missing key); `If-None-Match: *` creates only, and
/// `upsert=true` creates or replaces. Without a ttl an expiry is removed.
#[utoipa::path(
    put,
    path = "/kv/{key}",
    tag = "kv",
    operation_id = "putRecord",
    params(
        ("key" = String, Path, min_length = 1, description = KEY),
        ("upsert" = Option<bool>, Query, nullable = false,
            description = "`true`: create the record if it does not exist. Default `false`."),
        ("ttl" = Option<u64>, Query, nullable = false, minimum = 1, description = TTL),
        ("If-Match" = Option<String>, Header, nullable = false, description = IF_MATCH),
        ("If-None-Match" = Option<String>, Header, nullable = false,
            description = "Only `*`: create the record if it does not exist, else 412. \
                Anything else is a 400."),
    ),
    request_body(content = UpdateRequest, content_type = "application/json"),
    responses(
        (status = 200, response = inline(Written)),
        (status = 400, description = BAD_WRITE, body = Error,
            example = json!({"error": "invalid request body",
                "detail": "the key in the body differs from the key in the path"})),
        (status = 404, response = inline(KeyNotFound)),
        (status = 408, response = inline(RequestTimeout)),
        (status = 409, description = "`field value already taken`: another record holds this \
            value of the unique `field`; nothing changed.", body = Error,
            example = json!({"error": "field value already taken", "field": "slack"})),
        (status = 412, response = inline(PreconditionFailed)),
        (status = 413, response = inline(PayloadTooLarge)),
        (status = 429, response = inline(TooManyRequests)),
        (status = 500, response = inline(InternalError)),
        (status = 503, response = inline(StorageUnavailable)),
        (status = 507, response = inline(InsufficientStorage)),
    )
)]
pub fn put_record() {}

/// Patch a record's value
///
/// Applied inside Tarantool in one step; numbers the patch does not touch
/// stay exactly as written, and an expiry is kept. The `Content-Type` picks
/// the format: `application/merge-patch+json` (RFC 7396), or its synonyms
/// `application/json`, `application/x-www-form-urlencoded` (what `curl -d`
/// sends) and none at all; `application/json-patch+json` (RFC 6902). Any
/// other is a 415.
#[utoipa::path(
    patch,
    path = "/kv/{key}",
    tag = "kv",
    operation_id = "patchRecord",
    params(
        ("key" = String, Path, min_length = 1, description = KEY),
        ("If-Match" = Option<String>, Header, nullable = false, description = IF_MATCH),
        ("If-None-Match" = Option<String>, Header, nullable = false, description = NO_NONE_MATCH),
    ),
    request_body(content(
        (MergePatch = "application/merge-patch+json"),
        (MergePatch = "application/json"),
        (JsonPatch = "application/json-patch+json"),
    )),
    responses(
        (status = 200, response = inline(Patched)),
        (status = 400, description = "`invalid request body` (an empty or malformed patch, a \
            value of the wrong type for a declared field), `invalid key`, `invalid header` (a \
            malformed `If-Match`, any `If-None-Match`) or `invalid parameter` (this request \
            takes no query parameters).", body = Error,
            example = json!({"error": "invalid request body",
                "detail": "operation 0: add needs \"value\""})),
        (status = 404, response = inline(KeyNotFound)),
        (status = 408, response = inline(RequestTimeout)),
        (status = 409, description = "`patch conflict` (a failed `test`, a path that is not \
            there, a result that is not a JSON object) or `field value already taken`; \
            nothing changed.", body = Error,
            example = json!({"error": "patch conflict",
                "detail": "operation 0 (test): test failed: the value at /jira differs"})),
        (status = 412, response = inline(PreconditionFailed)),
        (status = 413, response = inline(PayloadTooLarge)),
        (status = 415, response = inline(UnsupportedMediaType)),
        (status = 429, response = inline(TooManyRequests)),
        (status = 500, response = inline(InternalError)),
        (status = 503, response = inline(StorageUnavailable)),
        (status = 507, response = inline(InsufficientStorage)),
    )
)]
pub fn patch_record() {}

/// Delete a record
///
/// Removes the record and answers with what it held.
#[utoipa::path(
    delete,
    path = "/kv/{key}",
    tag = "kv",
    operation_id = "deleteRecord",
    params(
        ("key" = String, Path, min_length = 1, description = KEY),
        ("If-Match" = Option<String>, Header, nullable = false, description = IF_MATCH),
        ("If-None-Match" = Option<String>, Header, nullable = false, description = NO_NONE_MATCH),
    ),
    responses(
        (status = 200, description = "The record is gone; this is what it held.",
            body = DeleteReply),
        (status = 400, description = BAD_DELETE, body = Error,
            example = json!({"error": "invalid header", "detail": "If-None-Match is taken on \
                GET, HEAD and (as *) on PUT; use If-Match here"})),
        (status = 404, response = inline(KeyNotFound)),
        (status = 412, response = inline(PreconditionFailed)),
        (status = 429, response = inline(TooManyRequests)),
        (status = 500, response = inline(InternalError)),
        (status = 503, response = inline(StorageUnavailable)),
        (status = 507, response = inline(InsufficientStorage)),
    )
)]
pub fn delete_record() {}
