//! Success bodies as the OpenAPI document describes them. `reply::KvReply`
//! renders them by hand (it splices stored JSON in); these types mirror
//! that, and the tests below parse its output with them.

use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

/// What a create or an update did.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteResult {
    /// `record created` or `record updated`.
    pub result: WriteOutcome,
}

/// What a write did to its record.
#[derive(Deserialize, ToSchema)]
pub enum WriteOutcome {
    /// It did not exist and now does.
    #[serde(rename = "record created")]
    RecordCreated,
    /// It existed and now has the new value.
    #[serde(rename = "record updated")]
    RecordUpdated,
}

/// A record's value.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"value": {"name": "Ada", "langs": ["en"]}}))]
pub struct ValueReply {
    /// The value, exactly as written (integers stay integers, `1.0` stays `1.0`).
    #[schema(value_type = Object)]
    pub value: Value,
}

/// A deleted record.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"deleted": {"key": "cart/42", "value": {"items": []}}}))]
pub struct DeleteReply {
    /// What was deleted.
    pub deleted: DeletedRecord,
}

/// The key and last value of a deleted record.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeletedRecord {
    /// Its key.
    pub key: String,
    /// Its value; `null` if the stored value could not be shown as JSON.
    #[schema(value_type = Option<Object>, required = true)]
    pub value: Option<Value>,
}

/// One page of a listing or of a `where.` query.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "items": [{"key": "user:1", "revision": 4}, {"key": "user:2", "revision": 5}],
    "cursor": "k1.dXNlcjoy"
}))]
pub struct ListReply {
    /// The records, keys in ascending byte order.
    pub items: Vec<ListItem>,
    /// Where the next page starts (pass it as `cursor=`); `null` on the last page.
    #[schema(required = true)]
    pub cursor: Option<String>,
}

/// One record of a page.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListItem {
    /// Its key.
    pub key: String,
    /// The revision of the write that last changed it.
    pub revision: u64,
    /// Its value, when the page has values (`values=true`, or a `where.` query).
    #[schema(value_type = Object, required = false)]
    pub value: Option<Value>,
    /// When it expires, in Unix seconds rounded up; only with values, and
    /// only for a record that expires.
    #[schema(nullable = false)]
    pub expires_at: Option<u64>,
}

/// How many records a delete by prefix removed.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"deleted": 3}))]
pub struct BulkDeleteReply {
    /// The count.
    pub deleted: u64,
}

/// The indexes declared on fields of the values (Tarantool's `KV_INDEXES`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"indexes": [{"field": "slack", "type": "string", "unique": true}]}))]
pub struct IndexesReply {
    /// One per declared field.
    pub indexes: Vec<FieldIndex>,
}

/// One field index.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldIndex {
    /// The field's path in the value, dots for nesting.
    pub field: String,
    /// The field's type.
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// Whether no two records may hold the same value there.
    pub unique: bool,
}

/// The type of an indexed field.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// A string.
    String,
    /// Any number.
    Number,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
}

/// A transaction that applied every operation.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"revision": 42, "results": [
    {"result": "check passed"},
    {"result": "record created", "revision": 42},
    {"value": {"balance": 40}, "revision": 42}
]}))]
pub struct TxnReply {
    /// The last revision written; the store's revision if nothing was written.
    pub revision: u64,
    /// One result per operation, in order.
    pub results: Vec<TxnResult>,
}

/// The result of one operation of a transaction: the body it has alone,
/// with the revision it concerns.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum TxnResult {
    /// `create` or `update`.
    Written(WrittenResult),
    /// `patch` (the new value) or `get`.
    Value(ValueResult),
    /// `delete`.
    Deleted(DeleteReply),
    /// `check`.
    Checked(CheckResult),
}

/// The result of a `create` or an `update` in a transaction.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WrittenResult {
    /// `record created` or `record updated`.
    pub result: WriteOutcome,
    /// The write's revision.
    pub revision: u64,
}

/// The result of a `patch` or a `get` in a transaction.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValueResult {
    /// The record's value.
    #[schema(value_type = Object)]
    pub value: Value,
    /// The record's revision.
    pub revision: u64,
}

/// The result of a `check` in a transaction.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckResult {
    /// Always `check passed`.
    pub result: CheckPassed,
}

/// A check that held.
#[derive(Deserialize, ToSchema)]
pub enum CheckPassed {
    /// It held.
    #[serde(rename = "check passed")]
    CheckPassed,
}

/// `GET /health`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthReply {
    /// Always `ok`.
    pub status: HealthStatus,
}

/// The process is up.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// Up.
    Ok,
}

/// `GET /ready`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadyReply {
    /// Always `ready`.
    pub status: ReadyStatus,
}

/// The gateway can do its work.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReadyStatus {
    /// Ready.
    Ready,
}
