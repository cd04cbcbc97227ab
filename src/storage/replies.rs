//! Lua's answers turned into outcomes: one function per operation, each
//! mapping the statuses that operation may answer and treating any other
//! as a failure of the store or a disagreement with it.

use super::codec::{self, Detail, JsonValue, Reply};
use super::outcome::{
    CreateOutcome, DeleteOutcome, PatchOutcome, PutOutcome, Record, TxnFailure, TxnOp, TxnOutcome,
    TxnResult,
};
use super::protocol::Status;
use super::StorageError;

/// Reads the one triple of an operation's encoded result.
pub fn parse(data: &[u8]) -> Result<Reply<'_>, StorageError> {
    codec::read_reply(data)
        .map(|(reply, _)| reply)
        .map_err(|e| StorageError::Internal(e.to_string()))
}

pub fn get(reply: &Reply<'_>) -> Result<Option<Record>, StorageError> {
    match reply.status {
        Status::Found => record(reply).map(Some),
        Status::Missing => Ok(None),
        _ => Err(unexpected(reply)),
    }
}

pub fn create(reply: &Reply<'_>) -> Result<CreateOutcome, StorageError> {
    match reply.status {
        Status::Created => Ok(CreateOutcome::Created(revision(reply)?)),
        Status::Exists => Ok(CreateOutcome::AlreadyExists),
        _ => Err(unexpected(reply)),
    }
}

pub fn put(reply: &Reply<'_>) -> Result<PutOutcome, StorageError> {
    match reply.status {
        Status::Created => Ok(PutOutcome::Created(revision(reply)?)),
        Status::Updated => Ok(PutOutcome::Updated(revision(reply)?)),
        Status::Missing => Ok(PutOutcome::NotFound),
        Status::PreconditionFailed => Ok(PutOutcome::PreconditionFailed),
        _ => Err(unexpected(reply)),
    }
}

pub fn delete(reply: &Reply<'_>) -> Result<DeleteOutcome, StorageError> {
    match reply.status {
        Status::Deleted => Ok(DeleteOutcome::Deleted(deleted_value(reply))),
        Status::Missing => Ok(DeleteOutcome::NotFound),
        Status::PreconditionFailed => Ok(DeleteOutcome::PreconditionFailed),
        _ => Err(unexpected(reply)),
    }
}

pub fn patch(reply: &Reply<'_>) -> Result<PatchOutcome, StorageError> {
    match reply.status {
        Status::Patched => Ok(PatchOutcome::Patched(record(reply)?)),
        Status::Missing => Ok(PatchOutcome::NotFound),
        Status::PreconditionFailed => Ok(PatchOutcome::PreconditionFailed),
        Status::Conflict => Ok(PatchOutcome::Conflict(message(reply))),
        _ => Err(unexpected(reply)),
    }
}

pub fn txn(reply: &Reply<'_>, ops: &[TxnOp]) -> Result<TxnOutcome, StorageError> {
    let (inner, count) = match reply.detail {
        Detail::Triples(inner, count) => (inner, count),
        _ if reply.status == Status::Committed || reply.status == Status::Aborted => {
            return Err(StorageError::Internal(
                "a transaction answered without results".into(),
            ))
        }
        _ => return Err(unexpected(reply)),
    };
    let results =
        codec::triples(inner, count).map_err(|e| StorageError::Internal(e.to_string()))?;
    match reply.status {
        Status::Committed if results.len() == ops.len() => Ok(TxnOutcome::Committed {
            revision: revision(reply)?,
            results: results
                .iter()
                .zip(ops)
                .map(|(result, op)| txn_result(result, op))
                .collect::<Result<_, _>>()?,
        }),
        Status::Aborted => {
            let index = revision(reply)? as usize;
            let failed = results
                .get(index)
                .filter(|_| index < ops.len())
                .ok_or_else(|| StorageError::Internal(format!("aborted at {index}?")))?;
            Ok(TxnOutcome::Aborted {
                index,
                failure: txn_failure(failed)?,
            })
        }
        _ => Err(StorageError::Internal(format!(
            "{} results for {} operations",
            results.len(),
            ops.len()
        ))),
    }
}

fn txn_result(reply: &Reply<'_>, op: &TxnOp) -> Result<TxnResult, StorageError> {
    Ok(match (reply.status, op) {
        (Status::Created, TxnOp::Create(..)) => TxnResult::Created(revision(reply)?),
        (Status::Updated, TxnOp::Update(..)) => TxnResult::Updated(revision(reply)?),
        (Status::Patched, TxnOp::Patch(..)) => TxnResult::Patched(record(reply)?),
        (Status::Deleted, TxnOp::Delete(key)) => {
            TxnResult::Deleted(key.clone(), deleted_value(reply))
        }
        (Status::Found, TxnOp::Get(..)) => TxnResult::Found(record(reply)?),
        (Status::Ok, TxnOp::CheckRevision(..) | TxnOp::CheckAbsent(..)) => TxnResult::Checked,
        _ => return Err(unexpected(reply)),
    })
}

fn txn_failure(reply: &Reply<'_>) -> Result<TxnFailure, StorageError> {
    Ok(match reply.status {
        Status::Exists => TxnFailure::Exists,
        Status::Missing => TxnFailure::NotFound,
        Status::PreconditionFailed => TxnFailure::PreconditionFailed,
        Status::Conflict => TxnFailure::Conflict(message(reply)),
        Status::TooLarge => TxnFailure::TooLarge,
        Status::NoSpace => TxnFailure::NoSpace,
        _ => return Err(unexpected(reply)),
    })
}

fn revision(reply: &Reply<'_>) -> Result<u64, StorageError> {
    reply
        .revision
        .ok_or_else(|| StorageError::Internal(format!("{:?} without a revision", reply.status)))
}

fn value(reply: &Reply<'_>) -> Result<JsonValue, StorageError> {
    let value = reply
        .bytes()
        .ok_or_else(|| StorageError::Internal(format!("{:?} without a value", reply.status)))?;
    codec::msgpack_to_json(value)
        .map_err(|e| StorageError::Internal(format!("a stored value cannot be shown as JSON: {e}")))
}

fn record(reply: &Reply<'_>) -> Result<Record, StorageError> {
    Ok(Record {
        value: value(reply)?,
        revision: revision(reply)?,
    })
}

/// A deleted record's value; the record is gone even if it cannot be shown.
fn deleted_value(reply: &Reply<'_>) -> Option<JsonValue> {
    value(reply)
        .map_err(|err| log::error!("deleted a record but cannot show its value: {err}"))
        .ok()
}

fn message(reply: &Reply<'_>) -> String {
    reply
        .bytes()
        .map_or_else(|| "(no message)".into(), String::from_utf8_lossy)
        .into_owned()
}

/// Turns the statuses any operation may answer on failure into errors.
fn unexpected(reply: &Reply<'_>) -> StorageError {
    match reply.status {
        Status::TooLarge => StorageError::TooLarge,
        Status::NoSpace => StorageError::NoSpace,
        Status::ReadOnly => StorageError::ReadOnly,
        Status::Failed => StorageError::Internal(format!("Lua failed: {}", message(reply))),
        Status::BadRequest => StorageError::Internal(format!(
            "Lua refused what the gateway sent: {}",
            message(reply)
        )),
        other => StorageError::Internal(format!("unexpected status {other:?}")),
    }
}
