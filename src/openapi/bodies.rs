//! Request bodies as the OpenAPI document describes them. Handlers parse
//! bodies by hand (`body`, `patch_body`, `txn_body`) for exact errors, so
//! these types only mirror what those parsers take; each says where.

use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

/// `POST /kv`: a new record. Unknown members are ignored; a member name
/// twice in one object, or an integer outside -2^63..2^64-1 anywhere, is a 400.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"key": "user:1", "value": {"name": "Ada", "langs": ["en"]}}))]
pub struct CreateRequest {
    /// The key: a non-empty UTF-8 string of at most `limits.max_key_bytes`
    /// (1024) bytes.
    #[schema(min_length = 1)]
    pub key: String,
    /// The value: any JSON object.
    #[schema(value_type = Object)]
    pub value: Value,
    /// Seconds until the record expires, from 1 to `limits.max_ttl_s`;
    /// never when absent. Not together with `?ttl=`.
    #[schema(minimum = 1)]
    pub ttl: Option<u64>,
}

/// `PUT /kv/{key}`: the record's whole new value. Unknown members are ignored.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"value": {"name": "Ada", "langs": ["en", "fr"]}}))]
pub struct UpdateRequest {
    /// The path's key again, if given; another key is a 400.
    #[schema(min_length = 1)]
    pub key: Option<String>,
    /// The new value, replacing the old one whole: any JSON object.
    #[schema(value_type = Object)]
    pub value: Value,
    /// Seconds until the record expires, from 1 to `limits.max_ttl_s`;
    /// without it the record no longer expires. Not together with `?ttl=`.
    #[schema(minimum = 1)]
    pub ttl: Option<u64>,
}

/// An RFC 7396 JSON Merge Patch: members replace the value's members,
/// objects merge recursively, `null` removes a member. Any JSON value; a
/// result that is not an object is a 409.
#[derive(Deserialize, ToSchema)]
#[schema(value_type = Value, example = json!({"github": "ann-h", "slack": null}))]
pub struct MergePatch(pub Value);

/// An RFC 6902 JSON Patch: operations applied in order, all or none.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!([
    {"op": "test", "path": "/jira", "value": "ann"},
    {"op": "replace", "path": "/jira", "value": "ann.h"}
]))]
pub struct JsonPatch(pub Vec<JsonPatchOperation>);

/// One JSON Patch operation. `path` and `from` are JSON Pointers (RFC
/// 6901): empty, or `/` followed by tokens with `~0` for `~` and `~1` for `/`.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum JsonPatchOperation {
    /// Adds `value` at `path`.
    Add {
        /// Where.
        path: String,
        /// What.
        value: Value,
    },
    /// Removes what is at `path`.
    Remove {
        /// Where.
        path: String,
    },
    /// Replaces what is at `path` with `value`.
    Replace {
        /// Where.
        path: String,
        /// What.
        value: Value,
    },
    /// Moves what is at `from` to `path`.
    Move {
        /// From where.
        from: String,
        /// To where.
        path: String,
    },
    /// Copies what is at `from` to `path`.
    Copy {
        /// From where.
        from: String,
        /// To where.
        path: String,
    },
    /// Fails the whole patch (409) unless `path` holds `value`.
    Test {
        /// Where.
        path: String,
        /// What it must hold.
        value: Value,
    },
}

/// `POST /txn`: at least one and at most `limits.max_txn_ops` (128)
/// operations, run in order in one transaction. Unknown members are ignored.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"ops": [
    {"op": "check", "key": "acct/a", "absent": true},
    {"op": "create", "key": "acct/a", "value": {"balance": 40}},
    {"op": "get", "key": "acct/a"}
]}))]
pub struct TxnRequest {
    /// The operations.
    #[schema(min_items = 1)]
    pub ops: Vec<TxnOperation>,
}

/// One operation of a transaction; `key` as in `POST /kv`.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum TxnOperation {
    /// As `POST /kv` (no ttl): fails with 409 if the key exists.
    Create {
        /// The key.
        key: String,
        /// The value: any JSON object.
        #[schema(value_type = Object)]
        value: Value,
    },
    /// As `PUT /kv/{key}` (no ttl; an expiry is removed): fails with 404 if
    /// the key is missing.
    Update {
        /// The key.
        key: String,
        /// The new value: any JSON object.
        #[schema(value_type = Object)]
        value: Value,
    },
    /// A merge patch, as `PATCH /kv/{key}`; keeps the expiry.
    Patch {
        /// The key.
        key: String,
        /// The RFC 7396 merge patch.
        merge: Value,
    },
    /// As `DELETE /kv/{key}`.
    Delete {
        /// The key.
        key: String,
    },
    /// Reads the record, seeing the transaction's earlier writes.
    Get {
        /// The key.
        key: String,
    },
    /// Fails the transaction (412) unless the record is at `revision`, or,
    /// with `"absent": true`, does not exist. Exactly one of the two.
    Check {
        /// The key.
        key: String,
        /// The revision the record must be at.
        revision: Option<u64>,
        /// `true`: the record must not exist.
        absent: Option<bool>,
    },
}
