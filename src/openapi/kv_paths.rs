//! The `/kv` operations, documented on functions that are never called:
//! `routes::collection` and `routes::kv::by_key` dispatch by method inside
//! one handler each, which a path macro cannot describe.

use super::bodies::*;
use super::errors::*;
use super::replies::*;
use super::success::*;

pub(super) const TTL: &str = "Seconds until the record expires, from 1 to `limits.max_ttl_s`; \
    not together with a `ttl` in the body.";
pub(super) const BAD_WRITE: &str = "`invalid request body` (empty, not JSON, not an object, a bad \
    or missing member, a member name twice, an integer outside -2^63..2^64-1, a value \
    of the wrong type for a field declared in `KV_INDEXES`), or `invalid parameter` \
    (an unknown or repeated query parameter, a bad `ttl`); `detail` says which.";

/// Create a record
///
/// Creates the record unless the key exists. The body is parsed as JSON
/// whatever its `Content-Type`.
#[utoipa::path(
    post,
    path = "/kv",
    tag = "kv",
    operation_id = "createRecord",
    params(("ttl" = Option<u64>, Query, nullable = false, minimum = 1, description = TTL)),
    request_body(content = CreateRequest, content_type = "application/json"),
    responses(
        (status = 200, response = inline(Created)),
        (status = 400, description = BAD_WRITE, body = Error,
            example = json!({"error": "invalid request body",
                "detail": "value must be a JSON object"})),
        (status = 408, response = inline(RequestTimeout)),
        (status = 409, description = "`key already exists` (the stored value is unchanged), \
            or `field value already taken` with the unique `field`.", body = Error,
            example = json!({"error": "key already exists"})),
        (status = 413, response = inline(PayloadTooLarge)),
        (status = 429, response = inline(TooManyRequests)),
        (status = 500, response = inline(InternalError)),
        (status = 503, response = inline(StorageUnavailable)),
        (status = 507, response = inline(InsufficientStorage)),
    )
)]
pub fn create_record() {}

/// List keys, or find records by fields
///
/// A page of keys in ascending byte order; every parameter is optional and
/// `GET /kv` lists every key. A key that exists for the whole of a paged
/// listing appears in it exactly once; a listing is no snapshot. A page
/// looks at no more than `limits.max_list_scan` keys, so it may hold fewer
/// than `limit` items (even none) and a cursor to go on.
///
/// **Finding by fields:** `where.<path>=<value>` terms (any number; `path`
/// a field of the value, dots for nesting, e.g. `where.slack=ann%40x.io` or
/// `where.profile.age=42`) keep the records whose fields hold those values,
/// read by the indexed field's type. At least one term must be on a field
/// declared in `KV_INDEXES` (see `GET /indexes`), else 400 `field not
/// indexed`. Items then carry values unless `values=false`; `prefix`,
/// `limit` and `cursor` work as for a listing. OpenAPI cannot name a family
/// of parameters, so these terms are not listed below.
#[utoipa::path(
    get,
    path = "/kv",
    tag = "kv",
    operation_id = "listRecords",
    params(
        ("prefix" = Option<String>, Query, nullable = false,
            description = "Only keys that start with this (byte-wise); at most \
                `limits.max_key_bytes` bytes."),
        ("limit" = Option<u32>, Query, nullable = false, minimum = 1, maximum = 1000,
            description = "Items per page, at most 1000; 100 when absent."),
        ("cursor" = Option<String>, Query, nullable = false,
            description = "The `cursor` of the previous page (opaque); one this API did not \
                give out is a 400."),
        ("values" = Option<bool>, Query, nullable = false,
            description = "`true` adds each record's `value` and, for one that expires, \
                `expires_at`. Default `false`, or `true` with `where.` terms."),
        ("match" = Option<String>, Query, nullable = false,
            description = "A glob the whole key must match: `*` any run of characters, `?` one \
                character, `\\` escapes the next one."),
    ),
    responses(
        (status = 200, description = "A page.", body = ListReply),
        (status = 400, description = "`invalid parameter` (an unknown or repeated parameter, \
            a bad `limit`, `values` or `cursor`, a `match` ending in `\\`, a `where.` value \
            that is not of its field's type) or `field not indexed` (no `where.` term is on an \
            indexed field).",
            body = Error,
            example = json!({"error": "field not indexed",
                "detail": "indexed fields: slack, jira, age"})),
        (status = 429, response = inline(TooManyRequests)),
        (status = 500, response = inline(InternalError)),
        (status = 503, response = inline(StorageUnavailable)),
    )
)]
pub fn list_records() {}

/// Delete every key with a prefix
///
/// In steps of 1,000 records, each step one transaction, not as one: a
/// concurrent reader may see some of the keys gone and others not yet. If a
/// step fails, the answer is that step's error and the steps before it
/// stay done. Each deleted record is a write with its own revision.
#[utoipa::path(
    delete,
    path = "/kv",
    tag = "kv",
    operation_id = "deleteByPrefix",
    params(("prefix" = Option<String>, Query, nullable = false,
        description = "The prefix. Without one (or with an empty one) every key is deleted, \
            which only `api.allow_delete_all = true` permits.")),
    responses(
        (status = 200, description = "How many records were deleted.", body = BulkDeleteReply),
        (status = 400, description = "`invalid parameter`: an unknown or repeated parameter.",
            body = Error,
            example = json!({"error": "invalid parameter", "detail": "prefix is given twice"})),
        (status = 403, description = "No prefix, while `api.allow_delete_all` is off.",
            body = Error,
            example = json!({"error": "deleting every key is disabled"})),
        (status = 429, response = inline(TooManyRequests)),
        (status = 500, response = inline(InternalError)),
        (status = 503, response = inline(StorageUnavailable)),
        (status = 507, response = inline(InsufficientStorage)),
    )
)]
pub fn delete_by_prefix() {}
