//! What handlers ask of storage beyond a key and a value, and what each
//! operation can answer: preconditions, patches, transaction operations,
//! and one outcome type per operation.

use super::codec::{EncodedValue, JsonValue};
use crate::key::Key;

/// A store-wide revision: every write takes the next one.
pub type Revision = u64;

/// A record as read: its value, the revision that last wrote it, and when
/// its expiry is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The value, as JSON.
    pub value: JsonValue,
    /// The revision of the write that last changed it.
    pub revision: Revision,
    /// When it expires (Unix milliseconds), if it does.
    pub expires_at_ms: Option<u64>,
}

/// A piece of a key glob: `*`, `?`, or characters that must be there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GlobToken {
    /// `*`: any run of characters, none included.
    AnyRun,
    /// `?`: exactly one character.
    OneChar,
    /// These characters, as they are.
    Literal(String),
}

/// What a page of a listing asks for.
#[derive(Debug, Clone)]
pub struct ListQuery {
    /// Keys start with this (empty: every key).
    pub prefix: String,
    /// Start after this key (from the cursor), or at the prefix.
    pub after: Option<String>,
    /// Items on the page, at most.
    pub limit: usize,
    /// Whether items carry their values (and due times).
    pub values: bool,
    /// Keys must match this, if given.
    pub glob: Option<Vec<GlobToken>>,
    /// Fields of the value that must hold these values (`where.<path>=`);
    /// when there are any, a declared index finds the records.
    pub terms: Vec<(String, String)>,
    /// Keys looked at for the page, at most.
    pub scan_limit: usize,
}

/// One item of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListItem {
    /// The record's key.
    pub key: String,
    /// Its revision.
    pub revision: Revision,
    /// Its value, if asked for.
    pub value: Option<JsonValue>,
    /// When it expires (Unix milliseconds), if asked for and it does.
    pub expires_at_ms: Option<u64>,
}

/// A page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    /// The items, in key order.
    pub items: Vec<ListItem>,
    /// The key the next page starts after, or `None` on the last page.
    pub next: Option<String>,
}

/// What a listing or a query found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListOutcome {
    /// A page.
    Page(ListPage),
    /// No term of the query is on a declared field; which ones are.
    NotIndexed(String),
    /// A term's value does not fit its field's type.
    InvalidQuery(String),
}

/// A declared index on a field of the values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldIndex {
    /// The field's path, dots for nesting.
    pub field: String,
    /// `string`, `number`, `integer` or `boolean`.
    pub kind: String,
    /// Whether two records may not hold the same value there.
    pub unique: bool,
}

/// Why a write was refused by the declared field indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldRefusal {
    /// A declared field has the wrong type; why.
    InvalidValue(String),
    /// A unique field's value belongs to another record: this field.
    Taken(String),
}

/// What one step of a delete by prefix did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixDeletion {
    /// Records deleted in this step.
    pub deleted: u64,
    /// Whether records with the prefix remain.
    pub more: bool,
}

/// An `If-Match` the record must satisfy, checked in the same step as the write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: the record must exist.
    Any,
    /// The record must have one of these revisions (possibly none can).
    Revisions(Vec<Revision>),
}

/// What a `PUT` may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutMode {
    /// Replace an existing record only (plain `PUT`).
    Update,
    /// Replace, or create when absent (`?upsert=true`).
    Upsert,
    /// Create only (`If-None-Match: *`); a taken key fails the precondition.
    Create,
}

impl PutMode {
    /// The name Lua knows it by.
    pub fn name(self) -> &'static str {
        match self {
            PutMode::Update => "update",
            PutMode::Upsert => "upsert",
            PutMode::Create => "create",
        }
    }
}

/// A patch, its documents already checked and encoded.
#[derive(Debug, Clone)]
pub enum Patch {
    /// RFC 7396 JSON Merge Patch: the patch document (any JSON value).
    Merge(EncodedValue),
    /// RFC 6902 JSON Patch: its operations, in order.
    Json(Vec<JsonPatchOp>),
}

/// One RFC 6902 operation, with its pointers split into reference tokens.
#[derive(Debug, Clone)]
pub struct JsonPatchOp {
    /// `add`, `remove`, `replace`, `move`, `copy` or `test`.
    pub op: &'static str,
    /// The target location.
    pub path: Vec<String>,
    /// The source location of `move` and `copy`.
    pub from: Option<Vec<String>>,
    /// The value of `add`, `replace` and `test`.
    pub value: Option<EncodedValue>,
}

/// One operation of a transaction.
#[derive(Debug, Clone)]
pub enum TxnOp {
    /// Insert unless the key exists.
    Create(Key, EncodedValue),
    /// Replace an existing record.
    Update(Key, EncodedValue),
    /// Merge-patch an existing record.
    Patch(Key, EncodedValue),
    /// Remove a record.
    Delete(Key),
    /// Read a record.
    Get(Key),
    /// The record has this revision.
    CheckRevision(Key, Revision),
    /// There is no record.
    CheckAbsent(Key),
}

impl TxnOp {
    /// Whether it changes data.
    pub fn writes(&self) -> bool {
        matches!(
            self,
            TxnOp::Create(..) | TxnOp::Update(..) | TxnOp::Patch(..) | TxnOp::Delete(..)
        )
    }

    /// The key it addresses.
    pub fn key(&self) -> &Key {
        match self {
            TxnOp::Create(key, _)
            | TxnOp::Update(key, _)
            | TxnOp::Patch(key, _)
            | TxnOp::Delete(key)
            | TxnOp::Get(key)
            | TxnOp::CheckRevision(key, _)
            | TxnOp::CheckAbsent(key) => key,
        }
    }
}

/// What a create did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    /// The record was stored with this revision.
    Created(Revision),
    /// A record with the key exists; nothing changed.
    AlreadyExists,
    /// A declared field index refused the value; nothing changed.
    Refused(FieldRefusal),
}

/// What a `PUT` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutOutcome {
    /// A new record was stored.
    Created(Revision),
    /// The record's value was replaced.
    Updated(Revision),
    /// No record has the key; nothing was created.
    NotFound,
    /// A precondition did not hold; nothing changed.
    PreconditionFailed,
    /// A declared field index refused the value; nothing changed.
    Refused(FieldRefusal),
}

/// What a delete did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// The record is gone; it had this value (`None` if it cannot be shown
    /// as JSON: a record written around the gateway).
    Deleted(Option<JsonValue>),
    /// No record has the key.
    NotFound,
    /// A precondition did not hold; nothing changed.
    PreconditionFailed,
}

/// What a patch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchOutcome {
    /// The record now holds this.
    Patched(Record),
    /// No record has the key.
    NotFound,
    /// A precondition did not hold; nothing changed.
    PreconditionFailed,
    /// The patch cannot apply to the current value; nothing changed.
    Conflict(String),
    /// A declared field index refused the new value; nothing changed.
    Refused(FieldRefusal),
}

/// The result of one operation of a committed transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnResult {
    /// A create stored the record.
    Created(Revision),
    /// An update replaced the value.
    Updated(Revision),
    /// A patch left this value.
    Patched(Record),
    /// A delete removed the record, which had this value.
    Deleted(Key, Option<JsonValue>),
    /// A get found this.
    Found(Record),
    /// A check held.
    Checked,
}

/// Why a transaction was not applied: what its failing operation met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnFailure {
    /// A create found the key taken.
    Exists,
    /// An update, patch, delete or get found no record.
    NotFound,
    /// A check did not hold.
    PreconditionFailed,
    /// A patch could not apply.
    Conflict(String),
    /// A record would be over Tarantool's tuple size limit.
    TooLarge,
    /// Tarantool's memory for data is full.
    NoSpace,
    /// A declared field index refused a value.
    Refused(FieldRefusal),
}

/// What a transaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnOutcome {
    /// Every operation happened. `revision` is the last one written (the
    /// store's revision if the transaction only read).
    Committed {
        /// See above.
        revision: Revision,
        /// One result per operation, in order.
        results: Vec<TxnResult>,
    },
    /// Nothing happened: operation `index` (0-based) failed.
    Aborted {
        /// The failing operation.
        index: usize,
        /// What it met.
        failure: TxnFailure,
    },
}
