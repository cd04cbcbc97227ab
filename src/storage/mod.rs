//! The only code that talks to Tarantool: one method per operation, one
//! round trip each, outcomes returned as data.

pub mod codec;
pub mod tarantool;

use std::time::Duration;

pub use codec::{EncodedValue, JsonValue};

use crate::key::Key;
use crate::settings::TarantoolSettings;
use codec::Reply;
use tarantool::Connection;

/// Why a storage call did not produce an outcome.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// Not connected: the call was refused without being sent.
    #[error("not connected to Tarantool ({0})")]
    Unavailable(String),
    /// Sent, but no answer within the request timeout.
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
}

impl Storage {
    /// Opens a connection; call it on the worker thread that will use it.
    pub fn open(settings: &TarantoolSettings) -> Storage {
        Storage {
            connection: Connection::open(settings),
        }
    }

    /// The value stored under `key`, if any.
    pub async fn get(&self, key: &Key) -> Result<Option<JsonValue>, StorageError> {
        let data = self
            .connection
            .call("kv_get", codec::key_args(key.as_str()))
            .await?;
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
        let args = codec::key_value_args(key.as_str(), value);
        let data = self.connection.call("kv_create", args).await?;
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
        let args = codec::key_value_args(key.as_str(), value);
        let data = self.connection.call("kv_update", args).await?;
        let reply = parse(&data)?;
        match reply.status {
            "updated" => Ok(UpdateOutcome::Updated),
            "missing" => Ok(UpdateOutcome::NotFound),
            _ => Err(unexpected(&reply)),
        }
    }

    /// Deletes the record and returns the value it had, if it existed.
    pub async fn delete(&self, key: &Key) -> Result<Option<JsonValue>, StorageError> {
        let data = self
            .connection
            .call("kv_delete", codec::key_args(key.as_str()))
            .await?;
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
}

fn parse(data: &[u8]) -> Result<Reply<'_>, StorageError> {
    codec::parse_reply(data).map_err(|e| StorageError::Protocol(e.to_string()))
}

fn value_of(reply: &Reply<'_>) -> Result<JsonValue, StorageError> {
    codec::first_field_as_json(reply.rest).map_err(|e| StorageError::Protocol(e.to_string()))
}

/// Turns the statuses every kv_* function may return on failure into errors.
fn unexpected(reply: &Reply<'_>) -> StorageError {
    let message = || {
        codec::read_string(reply.rest)
            .unwrap_or("(no message)")
            .to_owned()
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
