//! The contract with the Lua side (`tarantool/kv/protocol.lua`): operation
//! names, outcome statuses and the protocol version, each in one place.
//! `/ready` compares versions, so a gateway and a Lua side that disagree
//! are found at start, never as misread answers.

/// The version of `kv_batch`'s arguments and answers this gateway speaks.
pub const VERSION: u64 = 6;

/// An operation of `kv_batch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Read a record.
    Get,
    /// Insert a record unless the key exists.
    Create,
    /// Write a record's value, as its mode and precondition allow.
    Put,
    /// Remove a record.
    Delete,
    /// Patch a record's value.
    Patch,
    /// Several operations, all or none.
    Txn,
    /// A page of keys in order.
    List,
    /// Delete a step's worth of keys with a prefix.
    DeletePrefix,
    /// A page of records found through a field index.
    Query,
    /// The declared field indexes.
    Indexes,
    /// The change feed's events after a revision, without waiting.
    Feed,
}

impl Op {
    /// The name Lua knows it by.
    pub fn name(self) -> &'static str {
        match self {
            Op::Get => "get",
            Op::Create => "create",
            Op::Put => "put",
            Op::Delete => "delete",
            Op::Patch => "patch",
            Op::Txn => "txn",
            Op::List => "list",
            Op::DeletePrefix => "delete_prefix",
            Op::Query => "query",
            Op::Indexes => "indexes",
            Op::Feed => "feed",
        }
    }
}

/// What an operation did, as Lua reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The record exists; the detail is its value.
    Found,
    /// No record has the key.
    Missing,
    /// A record was inserted.
    Created,
    /// A create found the key taken.
    Exists,
    /// A record's value was replaced.
    Updated,
    /// A record was removed; the detail is the value it had.
    Deleted,
    /// A record was patched; the detail is its new value.
    Patched,
    /// A precondition did not hold; nothing changed.
    PreconditionFailed,
    /// A patch cannot apply; the detail says why.
    Conflict,
    /// A transaction's check held.
    Ok,
    /// A transaction happened; the detail holds its results.
    Committed,
    /// A transaction did not happen; the detail holds the results up to the
    /// failing operation, the revision slot its index.
    Aborted,
    /// A page of a listing; the detail holds the cursor and the items.
    Listed,
    /// A step of a delete by prefix; the detail holds the count and whether
    /// more remain.
    DeletedPrefix,
    /// The declared field indexes; the detail holds path, type, unique of each.
    Indexes,
    /// A declared field of the value has the wrong type; the detail says which.
    InvalidValue,
    /// A unique field's value belongs to another record; the detail is the field.
    FieldTaken,
    /// A query names no declared field; the detail lists them.
    NotIndexed,
    /// A query's value does not fit its field's type; the detail says so.
    InvalidQuery,
    /// Events of the change feed; the detail holds revision, key, kind and
    /// value of each, the revision slot the last committed revision, the
    /// due slot the first revision the feed has every event from.
    Events,
    /// The change feed no longer holds every event after the revision asked
    /// for (or that revision is later than any): slots as for `Events`.
    Compacted,
    /// Not run: the batch's reply budget was spent. Send it again.
    Deferred,
    /// Lua refused the arguments; the detail says why.
    BadRequest,
    /// The record is over `memtx_max_tuple_size`.
    TooLarge,
    /// `memtx_memory` is full.
    NoSpace,
    /// The instance is read-only.
    ReadOnly,
    /// The operation raised an error; the detail is its text.
    Failed,
}

impl Status {
    /// The status named `name`, if Lua and this gateway both know it.
    pub fn parse(name: &str) -> Option<Status> {
        Some(match name {
            "found" => Status::Found,
            "missing" => Status::Missing,
            "created" => Status::Created,
            "exists" => Status::Exists,
            "updated" => Status::Updated,
            "deleted" => Status::Deleted,
            "patched" => Status::Patched,
            "precondition_failed" => Status::PreconditionFailed,
            "conflict" => Status::Conflict,
            "ok" => Status::Ok,
            "committed" => Status::Committed,
            "aborted" => Status::Aborted,
            "listed" => Status::Listed,
            "deleted_prefix" => Status::DeletedPrefix,
            "indexes" => Status::Indexes,
            "invalid_value" => Status::InvalidValue,
            "field_taken" => Status::FieldTaken,
            "not_indexed" => Status::NotIndexed,
            "invalid_query" => Status::InvalidQuery,
            "events" => Status::Events,
            "compacted" => Status::Compacted,
            "deferred" => Status::Deferred,
            "bad_request" => Status::BadRequest,
            "too_large" => Status::TooLarge,
            "no_space" => Status::NoSpace,
            "read_only" => Status::ReadOnly,
            "failed" => Status::Failed,
            _ => return None,
        })
    }
}

/// What `kv_ready` says about the Lua side.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct ReadyInfo {
    /// Its protocol version.
    pub protocol: u64,
    /// The longest key it stores.
    pub max_key_bytes: usize,
    /// The most operations it takes in one `kv_batch` call.
    pub max_batch_ops: usize,
}

impl ReadyInfo {
    /// Why a gateway with these limits cannot work with this Lua side, if so.
    pub fn mismatch(&self, max_key_bytes: usize, batch_max_ops: usize) -> Option<String> {
        if self.protocol != VERSION {
            return Some(format!(
                "Tarantool's kv functions speak protocol {}, this gateway speaks {VERSION}: \
                 run the tarantool/ scripts of the same release as the gateway",
                self.protocol
            ));
        }
        if max_key_bytes > self.max_key_bytes {
            return Some(format!(
                "limits.max_key_bytes is {max_key_bytes} but Tarantool stores keys of at most \
                 {} bytes (KV_MAX_KEY_BYTES)",
                self.max_key_bytes
            ));
        }
        if batch_max_ops > self.max_batch_ops {
            return Some(format!(
                "tarantool.batch_max_ops is {batch_max_ops} but Tarantool takes at most {} \
                 operations per call",
                self.max_batch_ops
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_name_parses_and_others_do_not() {
        for name in [
            "found",
            "missing",
            "created",
            "exists",
            "updated",
            "deleted",
            "patched",
            "precondition_failed",
            "conflict",
            "ok",
            "committed",
            "aborted",
            "listed",
            "deleted_prefix",
            "indexes",
            "invalid_value",
            "field_taken",
            "not_indexed",
            "invalid_query",
            "events",
            "compacted",
            "deferred",
            "bad_request",
            "too_large",
            "no_space",
            "read_only",
            "failed",
        ] {
            assert!(Status::parse(name).is_some(), "{name}");
        }
        assert_eq!(Status::parse("Found"), None);
        assert_eq!(Status::parse(""), None);
    }

    #[test]
    fn a_different_protocol_or_smaller_limits_are_a_mismatch() {
        let info = ReadyInfo {
            protocol: VERSION,
            max_key_bytes: 1024,
            max_batch_ops: 1024,
        };
        assert_eq!(info.mismatch(1024, 128), None);
        assert!(info
            .mismatch(2048, 128)
            .unwrap()
            .contains("KV_MAX_KEY_BYTES"));
        assert!(info.mismatch(1024, 2000).unwrap().contains("batch_max_ops"));
        let old = ReadyInfo {
            protocol: 4,
            ..info
        };
        assert!(old.mismatch(1024, 128).unwrap().contains("protocol 4"));
    }
}
