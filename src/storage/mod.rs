//! The only code that talks to Tarantool: one method per operation,
//! outcomes returned as data. Concurrent operations share round trips
//! (see `batch`).

pub mod batch;
pub mod codec;
pub mod incoming;
pub mod tarantool;

use std::time::Duration;

pub use codec::{EncodedValue, JsonValue};

use crate::key::Key;
use crate::settings::TarantoolSettings;
use batch::{Batcher, Kind};
use codec::Reply;
use tarantool::Connection;

/// Why a storage call did not produce an outcome.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// Not connected: the call was refused without being sent.
    #[error("not connected to Tarantool ({0})")]
    Unavailable(String),
    /// No answer within the request timeout.
    #[error("no answer from Tarantool within {0:?}")]
    Timeout(Duration),
    /// The call failed in transport, or Tarantool raised an error.
    #[error("Tarantool call failed")]
    Call(#[source] std::io::Error),
    /// Tarantool caught an error in the operation and reported it.
    #[error("Tarantool failed the operation: {0}")]
    Failed(String),
    /// The instance is read-only (a replica, or still starting).
    #[error("Tarantool is read-only")]
    ReadOnly,
    /// The record is over Tarantool's `memtx_max_tuple_size`.
    #[error("record is over Tarantool's tuple size limit")]
    TooLarge,
    /// Tarantool's memory for data (`memtx_memory`) is full.
    #[error("Tarantool is out of memory for data")]
    NoSpace,
    /// Tarantool refused the arguments as malformed.
    #[error("{0}")]
    InvalidArgument(String),
    /// The answer did not have the agreed shape.
    #[error("unexpected answer from Tarantool: {0}")]
    Protocol(String),
}

impl StorageError {
    /// The same error again, for each operation of a batch that failed as a whole.
    fn duplicate(&self) -> StorageError {
        match self {
            StorageError::Unavailable(reason) => StorageError::Unavailable(reason.clone()),
            StorageError::Timeout(after) => StorageError::Timeout(*after),
            StorageError::Call(err) => {
                StorageError::Call(std::io::Error::new(err.kind(), err.to_string()))
            }
            StorageError::Failed(message) => StorageError::Failed(message.clone()),
            StorageError::ReadOnly => StorageError::ReadOnly,
            StorageError::TooLarge => StorageError::TooLarge,
            StorageError::NoSpace => StorageError::NoSpace,
            StorageError::InvalidArgument(message) => {
                StorageError::InvalidArgument(message.clone())
            }
            StorageError::Protocol(message) => StorageError::Protocol(message.clone()),
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
}

impl Storage {
    /// Opens a connection; call it on the worker thread that will use it.
    pub fn open(settings: &TarantoolSettings) -> Storage {
        let connection = Connection::open(settings);
        Storage {
            batcher: Batcher::start(connection.clone(), settings),
            connection,
        }
    }

    /// The value stored under `key`, if any.
    pub async fn get(&self, key: &Key) -> Result<Option<JsonValue>, StorageError> {
        let data = self.run(Kind::Read, "get", key, None).await?;
        let reply = parse(&data)?;
        match reply.status {
            "found" => value_of(&reply).map(Some),
            "missing" => Ok(None),
            _ => Err(unexpected(&reply)),
        }
    }

    /// Stores a new record unless the key is taken.
    pub async fn create(
        &self,
        key: &Key,
        value: &EncodedValue,
    ) -> Result<CreateOutcome, StorageError> {
        let data = self.run(Kind::Write, "create", key, Some(value)).await?;
        let reply = parse(&data)?;
        match reply.status {
            "created" => Ok(CreateOutcome::Created),
            "exists" => Ok(CreateOutcome::AlreadyExists),
            _ => Err(unexpected(&reply)),
        }
    }

    /// Replaces the value of an existing record; never creates one.
    pub async fn update(
        &self,
        key: &Key,
        value: &EncodedValue,
    ) -> Result<UpdateOutcome, StorageError> {
        let data = self.run(Kind::Write, "update", key, Some(value)).await?;
        let reply = parse(&data)?;
        match reply.status {
            "updated" => Ok(UpdateOutcome::Updated),
            "missing" => Ok(UpdateOutcome::NotFound),
            _ => Err(unexpected(&reply)),
        }
    }

    /// Deletes the record and returns the value it had, if it existed.
    pub async fn delete(&self, key: &Key) -> Result<Option<JsonValue>, StorageError> {
        let data = self.run(Kind::Write, "delete", key, None).await?;
        let reply = parse(&data)?;
        match reply.status {
            "deleted" => value_of(&reply).map(Some),
            "missing" => Ok(None),
            _ => Err(unexpected(&reply)),
        }
    }

    /// Succeeds when Tarantool answers a ping in time.
    pub async fn ping(&self) -> Result<(), StorageError> {
        self.connection.ping().await
    }

    /// Runs the operation `name` of `kv_batch` and returns its encoded result.
    async fn run(
        &self,
        kind: Kind,
        name: &str,
        key: &Key,
        value: Option<&EncodedValue>,
    ) -> Result<bytes::Bytes, StorageError> {
        let op = codec::operation(name, key.as_str(), value);
        self.batcher.submit(kind, op).await
    }
}

fn parse(data: &[u8]) -> Result<Reply<'_>, StorageError> {
    codec::read_reply(data)
        .map(|(reply, _)| reply)
        .map_err(|e| StorageError::Protocol(e.to_string()))
}

fn value_of(reply: &Reply<'_>) -> Result<JsonValue, StorageError> {
    let value = reply
        .detail
        .ok_or_else(|| StorageError::Protocol(format!("{} without a value", reply.status)))?;
    codec::msgpack_to_json(value).map_err(|e| StorageError::Protocol(e.to_string()))
}

/// Turns the statuses every kv_* function may return on failure into errors.
fn unexpected(reply: &Reply<'_>) -> StorageError {
    let message = || {
        reply
            .detail
            .map_or_else(|| "(no message)".into(), String::from_utf8_lossy)
            .into_owned()
    };
    match reply.status {
        "too_large" => StorageError::TooLarge,
        "no_space" => StorageError::NoSpace,
        "read_only" => StorageError::ReadOnly,
        "failed" => StorageError::Failed(message()),
        "bad_request" => StorageError::InvalidArgument(message()),
        other => StorageError::Protocol(format!("unknown status {other:?}")),
    }
}
