//! Lua's answers turned into outcomes: one function per operation, each
//! mapping the statuses that operation may answer and treating any other
//! as a failure of the store or a disagreement with it.

use super::codec::{self, Detail, JsonValue, Reply};
use super::outcome::{
    CreateOutcome, DeleteOutcome, FieldIndex, FieldRefusal, ListItem, ListOutcome, ListPage,
    PatchOutcome, PrefixDeletion, PutOutcome, Record, TxnFailure, TxnOp, TxnOutcome, TxnResult,
};
use super::protocol::Status;
use super::StorageError;

/// Reads the one answer of an operation's encoded result.
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
        _ => refusal(reply).map(CreateOutcome::Refused),
    }
}

/// A refusal of a declared field index, or else an unexpected answer.
fn refusal(reply: &Reply<'_>) -> Result<FieldRefusal, StorageError> {
    match reply.status {
        Status::InvalidValue => Ok(FieldRefusal::InvalidValue(message(reply))),
        Status::FieldTaken => Ok(FieldRefusal::Taken(message(reply))),
        _ => Err(unexpected(reply)),
    }
}

pub fn put(reply: &Reply<'_>) -> Result<PutOutcome, StorageError> {
    match reply.status {
        Status::Created => Ok(PutOutcome::Created(revision(reply)?)),
        Status::Updated => Ok(PutOutcome::Updated(revision(reply)?)),
        Status::Missing => Ok(PutOutcome::NotFound),
        Status::PreconditionFailed => Ok(PutOutcome::PreconditionFailed),
        _ => refusal(reply).map(PutOutcome::Refused),
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
        _ => refusal(reply).map(PatchOutcome::Refused),
    }
}

pub fn txn(reply: &Reply<'_>, ops: &[TxnOp]) -> Result<TxnOutcome, StorageError> {
    let (inner, count) = match reply.detail {
        Detail::Array(inner, count) => (inner, count),
        _ if reply.status == Status::Committed || reply.status == Status::Aborted => {
            return Err(StorageError::Internal(
                "a transaction answered without results".into(),
            ))
        }
        _ => return Err(unexpected(reply)),
    };
    let results =
        codec::answers(inner, count).map_err(|e| StorageError::Internal(e.to_string()))?;
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
        _ => TxnFailure::Refused(refusal(reply)?),
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
        expires_at_ms: reply.due_ms,
    })
}

pub fn list(reply: &Reply<'_>) -> Result<ListOutcome, StorageError> {
    match reply.status {
        Status::NotIndexed => return Ok(ListOutcome::NotIndexed(message(reply))),
        Status::InvalidQuery => return Ok(ListOutcome::InvalidQuery(message(reply))),
        _ => {}
    }
    let (Status::Listed, Detail::Array(mut rd, count)) = (reply.status, reply.detail) else {
        return Err(unexpected(reply));
    };
    let bad = |what: &str| StorageError::Internal(format!("a page of a listing: {what}"));
    if count == 0 || (count - 1) % 4 != 0 {
        return Err(bad("wrong length"));
    }
    let next = optional_str(&mut rd).map_err(|_| bad("cursor"))?;
    let mut items = Vec::with_capacity((count - 1) / 4);
    for _ in 0..(count - 1) / 4 {
        let key = optional_str(&mut rd)
            .ok()
            .flatten()
            .ok_or_else(|| bad("key"))?;
        let revision = rmp::decode::read_int::<u64, _>(&mut rd).map_err(|_| bad("revision"))?;
        let value = match rd.first() {
            Some(0xc0) => {
                rd = &rd[1..];
                None
            }
            _ => {
                let len = rmp::decode::read_str_len(&mut rd).map_err(|_| bad("value"))? as usize;
                let bytes = rd.get(..len).ok_or_else(|| bad("value cut short"))?;
                rd = &rd[len..];
                Some(
                    codec::msgpack_to_json(bytes)
                        .map_err(|e| bad(&format!("a value cannot be shown: {e}")))?,
                )
            }
        };
        let expires_at_ms = match rd.first() {
            Some(0xc0) => {
                rd = &rd[1..];
                None
            }
            _ => Some(rmp::decode::read_int::<u64, _>(&mut rd).map_err(|_| bad("due time"))?),
        };
        items.push(ListItem {
            key,
            revision,
            value,
            expires_at_ms,
        });
    }
    Ok(ListOutcome::Page(ListPage { items, next }))
}

pub fn indexes(reply: &Reply<'_>) -> Result<Vec<FieldIndex>, StorageError> {
    let (Status::Indexes, Detail::Array(mut rd, count)) = (reply.status, reply.detail) else {
        return Err(unexpected(reply));
    };
    let bad = || StorageError::Internal("the declared indexes are no triples".into());
    if count % 3 != 0 {
        return Err(bad());
    }
    (0..count / 3)
        .map(|_| {
            let field = optional_str(&mut rd).ok().flatten().ok_or_else(bad)?;
            let kind = optional_str(&mut rd).ok().flatten().ok_or_else(bad)?;
            let unique = rmp::decode::read_bool(&mut rd).map_err(|_| bad())?;
            Ok(FieldIndex {
                field,
                kind,
                unique,
            })
        })
        .collect()
}

pub fn delete_prefix(reply: &Reply<'_>) -> Result<PrefixDeletion, StorageError> {
    let (Status::DeletedPrefix, Detail::Array(mut rd, 2)) = (reply.status, reply.detail) else {
        return Err(unexpected(reply));
    };
    let deleted = rmp::decode::read_int::<u64, _>(&mut rd)
        .map_err(|_| StorageError::Internal("a delete by prefix: count".into()))?;
    let more = rmp::decode::read_bool(&mut rd)
        .map_err(|_| StorageError::Internal("a delete by prefix: more".into()))?;
    Ok(PrefixDeletion { deleted, more })
}

/// A string or nil.
fn optional_str(rd: &mut &[u8]) -> Result<Option<String>, ()> {
    if rd.first() == Some(&0xc0) {
        *rd = &rd[1..];
        return Ok(None);
    }
    let len = rmp::decode::read_str_len(rd).map_err(drop)? as usize;
    let text = rd.get(..len).ok_or(())?;
    let text = std::str::from_utf8(text).map_err(drop)?.to_owned();
    *rd = &rd[len..];
    Ok(Some(text))
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
