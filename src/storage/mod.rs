//! The only code that talks to Tarantool: one method per operation,
//! outcomes returned as data. Concurrent operations share round trips
//! (see `batch`).

pub mod batch;
mod client;
pub mod codec;
pub mod feed;
pub mod incoming;
mod ops;
pub mod outcome;
pub mod protocol;
mod replies;
pub mod tarantool;

pub use codec::{EncodedValue, JsonValue};
pub use feed::{EventKind, FeedEvent, FeedOutcome, FeedWaiter};
pub use outcome::{
    CreateOutcome, DeleteOutcome, FieldIndex, FieldRefusal, GlobToken, IfMatch, JsonPatchOp,
    ListItem, ListOutcome, ListPage, ListQuery, Patch, PatchOutcome, PrefixDeletion, PutMode,
    PutOutcome, Record, Revision, TxnFailure, TxnOp, TxnOutcome, TxnResult,
};

use std::sync::Arc;

use crate::key::Key;
use crate::metrics::{ConnectionLabels, Metrics};
use crate::settings::{LimitSettings, TarantoolSettings};
use batch::{Batcher, Kind};
use protocol::ReadyInfo;
use tarantool::{Connection, Probe};

/// Why a storage call did not produce an outcome.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The operation was never sent (not connected, no call slot in time,
    /// the gateway stopping) or Tarantool refused it before changing
    /// anything: it was not applied.
    #[error("{0}")]
    NotApplied(String),
    /// It was sent but no answer came (timeout, connection lost): it may or
    /// may not have been applied.
    #[error("{0}")]
    OutcomeUnknown(String),
    /// The instance is read-only (a replica, or still starting): not applied.
    #[error("Tarantool is read-only")]
    ReadOnly,
    /// The record is over Tarantool's `memtx_max_tuple_size`.
    #[error("record is over Tarantool's tuple size limit")]
    TooLarge,
    /// Tarantool's memory for data (`memtx_memory`) is full.
    #[error("Tarantool is out of memory for data")]
    NoSpace,
    /// Something a retry will not fix: the two sides disagree on the
    /// protocol, the gateway's user lacks a grant, or the Lua code failed.
    #[error("{0}")]
    Internal(String),
}

impl StorageError {
    /// The same error again, for each operation of a batch that failed as a whole.
    fn duplicate(&self) -> StorageError {
        match self {
            StorageError::NotApplied(reason) => StorageError::NotApplied(reason.clone()),
            StorageError::OutcomeUnknown(reason) => StorageError::OutcomeUnknown(reason.clone()),
            StorageError::ReadOnly => StorageError::ReadOnly,
            StorageError::TooLarge => StorageError::TooLarge,
            StorageError::NoSpace => StorageError::NoSpace,
            StorageError::Internal(reason) => StorageError::Internal(reason.clone()),
        }
    }
}

/// The key-value store, as handlers see it.
#[derive(Clone)]
pub struct Storage {
    connection: Connection,
    batcher: Batcher,
    batch_max_ops: usize,
}

impl Storage {
    /// Opens a connection for worker `worker`, reporting to `metrics`;
    /// call it on the worker thread that will use it.
    pub fn open(settings: &TarantoolSettings, metrics: &Arc<Metrics>, worker: u16) -> Storage {
        let probe = Probe {
            metrics: Arc::clone(metrics),
            labels: ConnectionLabels {
                worker,
                connection: "batches",
            },
        };
        let connection = Connection::open(settings, probe);
        Storage {
            batcher: Batcher::start(&connection, settings, metrics),
            connection,
            batch_max_ops: settings.batch_max_ops,
        }
    }

    /// The record stored under `key`, if any.
    pub async fn get(&self, key: &Key) -> Result<Option<Record>, StorageError> {
        let data = self.batcher.submit(Kind::Read, ops::get(key)).await?;
        replies::get(&replies::parse(&data)?)
    }

    /// Stores a new record unless the key is taken; it expires after
    /// `ttl_s` seconds if given.
    pub async fn create(
        &self,
        key: &Key,
        value: &EncodedValue,
        ttl_s: Option<u64>,
    ) -> Result<CreateOutcome, StorageError> {
        let data = self.write(ops::create(key, value, ttl_s)).await?;
        replies::create(&replies::parse(&data)?)
    }

    /// Writes a record's value as `mode` allows, if `if_match` holds; it
    /// expires after `ttl_s` seconds if given, else never.
    pub async fn put(
        &self,
        key: &Key,
        value: &EncodedValue,
        mode: PutMode,
        if_match: Option<&IfMatch>,
        ttl_s: Option<u64>,
    ) -> Result<PutOutcome, StorageError> {
        let data = self
            .write(ops::put(key, value, mode, if_match, ttl_s))
            .await?;
        replies::put(&replies::parse(&data)?)
    }

    /// A page of keys, as `query` asks: in key order, or found through a
    /// field index when it has terms.
    pub async fn list(&self, query: &ListQuery) -> Result<ListOutcome, StorageError> {
        let op = if query.terms.is_empty() {
            ops::list(query)
        } else {
            ops::query(query)
        };
        let data = self.batcher.submit(Kind::Read, op).await?;
        replies::list(&replies::parse(&data)?)
    }

    /// The indexes declared on fields of the values (`KV_INDEXES`).
    pub async fn indexes(&self) -> Result<Vec<FieldIndex>, StorageError> {
        let data = self.batcher.submit(Kind::Read, ops::indexes()).await?;
        replies::indexes(&replies::parse(&data)?)
    }

    /// Deletes up to `limit` keys with `prefix`, in one transaction.
    pub async fn delete_prefix(
        &self,
        prefix: &str,
        limit: usize,
    ) -> Result<PrefixDeletion, StorageError> {
        let data = self.write(ops::delete_prefix(prefix, limit)).await?;
        replies::delete_prefix(&replies::parse(&data)?)
    }

    /// Deletes the record if `if_match` holds.
    pub async fn delete(
        &self,
        key: &Key,
        if_match: Option<&IfMatch>,
    ) -> Result<DeleteOutcome, StorageError> {
        let data = self.write(ops::delete(key, if_match)).await?;
        replies::delete(&replies::parse(&data)?)
    }

    /// Applies `patch` to the record's value if `if_match` holds.
    pub async fn patch(
        &self,
        key: &Key,
        patch: &Patch,
        if_match: Option<&IfMatch>,
    ) -> Result<PatchOutcome, StorageError> {
        let data = self.write(ops::patch(key, patch, if_match)).await?;
        replies::patch(&replies::parse(&data)?)
    }

    /// Runs `ops` as one transaction: all of them, or none. One that only
    /// reads takes the read lane.
    pub async fn txn(&self, ops: &[TxnOp]) -> Result<TxnOutcome, StorageError> {
        let kind = if ops.iter().any(TxnOp::writes) {
            Kind::Write
        } else {
            Kind::Read
        };
        let data = self.batcher.submit(kind, ops::txn(ops)).await?;
        replies::txn(&replies::parse(&data)?, ops)
    }

    /// The change feed's committed events after `since` (at most `limit`,
    /// about `max_bytes` of values), at once; with `since` `None`, none but
    /// the last committed revision.
    pub async fn feed(
        &self,
        since: Option<Revision>,
        limit: usize,
        max_bytes: usize,
    ) -> Result<FeedOutcome, StorageError> {
        let op = feed::op(since, limit, max_bytes);
        let data = self.batcher.submit(Kind::Read, op).await?;
        feed::outcome(&replies::parse(&data)?)
    }

    /// Succeeds when Tarantool's kv functions answer, this gateway may call
    /// them, and both sides speak the same protocol within `limits`.
    pub async fn ready(&self, limits: &LimitSettings) -> Result<(), StorageError> {
        self.connection.wait_until_connected().await?;
        let data = self.connection.call("kv_ready", codec::no_args()).await?;
        let info: ReadyInfo = codec::read_ready(&data)
            .map_err(|e| StorageError::Internal(format!("kv_ready answered oddly: {e}")))?;
        match info.mismatch(limits.max_key_bytes, self.batch_max_ops) {
            Some(reason) => Err(StorageError::Internal(reason)),
            None => Ok(()),
        }
    }

    async fn write(&self, op: Vec<u8>) -> Result<bytes::Bytes, StorageError> {
        self.batcher.submit(Kind::Write, op).await
    }
}
