//! The only code that talks to Tarantool: one method per operation,
//! outcomes returned as data. Concurrent operations share round trips
//! (see `batch`).

pub mod batch;
mod client;
pub mod codec;
pub mod incoming;
pub mod protocol;
pub mod tarantool;

pub use codec::{EncodedValue, JsonValue};

use crate::key::Key;
use crate::settings::{LimitSettings, TarantoolSettings};
use batch::{Batcher, Kind};
use codec::Reply;
use protocol::{Op, ReadyInfo, Status};
use tarantool::Connection;

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

/// What a create did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateOutcome {
    /// The record was stored.
    Created,
    /// A record with the key exists; nothing changed.
    AlreadyExists,
}

/// What an update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// The record's value was replaced.
    Updated,
    /// No record has the key; nothing was created.
    NotFound,
}

/// The key-value store, as handlers see it.
#[derive(Clone)]
pub struct Storage {
    connection: Connection,
    batcher: Batcher,
    batch_max_ops: usize,
}

impl Storage {
    /// Opens a connection; call it on the worker thread that will use it.
    pub fn open(settings: &TarantoolSettings) -> Storage {
        let connection = Connection::open(settings);
        Storage {
            batcher: Batcher::start(&connection, settings),
            connection,
            batch_max_ops: settings.batch_max_ops,
        }
    }

    /// The value stored under `key`, if any.
    pub async fn get(&self, key: &Key) -> Result<Option<JsonValue>, StorageError> {
        let data = self.run(Op::Get, key, None).await?;
        let reply = parse(&data)?;
        match reply.status {
            Status::Found => value_of(&reply).map(Some),
            Status::Missing => Ok(None),
            _ => Err(unexpected(&reply)),
        }
    }

    /// Stores a new record unless the key is taken.
    pub async fn create(
        &self,
        key: &Key,
        value: &EncodedValue,
    ) -> Result<CreateOutcome, StorageError> {
        let data = self.run(Op::Create, key, Some(value)).await?;
        let reply = parse(&data)?;
        match reply.status {
            Status::Created => Ok(CreateOutcome::Created),
            Status::Exists => Ok(CreateOutcome::AlreadyExists),
            _ => Err(unexpected(&reply)),
        }
    }

    /// Replaces the value of an existing record; never creates one.
    pub async fn update(
        &self,
        key: &Key,
        value: &EncodedValue,
    ) -> Result<UpdateOutcome, StorageError> {
        let data = self.run(Op::Update, key, Some(value)).await?;
        let reply = parse(&data)?;
        match reply.status {
            Status::Updated => Ok(UpdateOutcome::Updated),
            Status::Missing => Ok(UpdateOutcome::NotFound),
            _ => Err(unexpected(&reply)),
        }
    }

    /// Deletes the record; `Some` with the value it had if it existed. The
    /// value is `None` when it cannot be shown as JSON (a record written
    /// around the gateway): the record is gone all the same.
    pub async fn delete(&self, key: &Key) -> Result<Option<Option<JsonValue>>, StorageError> {
        let data = self.run(Op::Delete, key, None).await?;
        let reply = parse(&data)?;
        match reply.status {
            Status::Deleted => Ok(Some(value_of(&reply).map_err(log_unshowable).ok())),
            Status::Missing => Ok(None),
            _ => Err(unexpected(&reply)),
        }
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

    /// Runs `op` through the batcher and returns its encoded result.
    async fn run(
        &self,
        op: Op,
        key: &Key,
        value: Option<&EncodedValue>,
    ) -> Result<bytes::Bytes, StorageError> {
        let kind = if op.writes() { Kind::Write } else { Kind::Read };
        let encoded = codec::operation(op.name(), key.as_str(), value);
        self.batcher.submit(kind, encoded).await
    }
}

fn parse(data: &[u8]) -> Result<Reply<'_>, StorageError> {
    codec::read_reply(data)
        .map(|(reply, _)| reply)
        .map_err(|e| StorageError::Internal(e.to_string()))
}

fn value_of(reply: &Reply<'_>) -> Result<JsonValue, StorageError> {
    let value = reply
        .detail
        .ok_or_else(|| StorageError::Internal(format!("{:?} without a value", reply.status)))?;
    codec::msgpack_to_json(value)
        .map_err(|e| StorageError::Internal(format!("a stored value cannot be shown as JSON: {e}")))
}

fn log_unshowable(err: StorageError) -> StorageError {
    log::error!("deleted a record but cannot show its value: {err}");
    err
}

/// Turns the statuses any operation may answer on failure into errors.
fn unexpected(reply: &Reply<'_>) -> StorageError {
    let message = || {
        reply
            .detail
            .map_or_else(|| "(no message)".into(), String::from_utf8_lossy)
            .into_owned()
    };
    match reply.status {
        Status::TooLarge => StorageError::TooLarge,
        Status::NoSpace => StorageError::NoSpace,
        Status::ReadOnly => StorageError::ReadOnly,
        Status::Failed => StorageError::Internal(format!("Lua failed: {}", message())),
        Status::BadRequest => {
            StorageError::Internal(format!("Lua refused what the gateway sent: {}", message()))
        }
        other => StorageError::Internal(format!("unexpected status {other:?}")),
    }
}
