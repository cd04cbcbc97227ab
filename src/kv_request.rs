//! A kv operation as HTTP and WebSocket both give it: parsed, checked
//! input, run with one storage call, answered with the one `KvReply` or
//! `ApiError` of its outcome. HTTP handlers and WebSocket messages only
//! differ in how they build a `KvRequest`.

use crate::error::ApiError;
use crate::key::Key;
use crate::preconditions::NoneMatch;
use crate::reply::KvReply;
use crate::storage::{
    CreateOutcome, DeleteOutcome, EncodedValue, IfMatch, Patch, PatchOutcome, PutMode, PutOutcome,
    Storage, TxnFailure, TxnOp, TxnOutcome,
};

/// One operation on the store.
#[derive(Debug)]
pub enum KvRequest {
    /// Read a record (`head`: without its value); 304 when `if_none_match`
    /// names its revision.
    Get {
        /// The record's key.
        key: Key,
        /// The client's `If-None-Match`.
        if_none_match: Option<NoneMatch>,
        /// Answer as HEAD does.
        head: bool,
    },
    /// Store a new record unless the key is taken.
    Create {
        /// Its key.
        key: Key,
        /// Its value.
        value: EncodedValue,
        /// Seconds until it expires.
        ttl_s: Option<u64>,
    },
    /// Write a record's value as `mode` allows, if `if_match` holds.
    Put {
        /// Its key.
        key: Key,
        /// Its new value.
        value: EncodedValue,
        /// Replace, create, or either.
        mode: PutMode,
        /// The revisions it must be at.
        if_match: Option<IfMatch>,
        /// Seconds until it expires (else never).
        ttl_s: Option<u64>,
    },
    /// Patch a record's value if `if_match` holds.
    Patch {
        /// Its key.
        key: Key,
        /// The patch.
        patch: Patch,
        /// The revisions it must be at.
        if_match: Option<IfMatch>,
    },
    /// Delete a record if `if_match` holds.
    Delete {
        /// Its key.
        key: Key,
        /// The revisions it must be at.
        if_match: Option<IfMatch>,
    },
    /// Several operations, all or none.
    Txn(Vec<TxnOp>),
}

impl KvRequest {
    /// Runs it: one storage call.
    pub async fn run(self, storage: &Storage) -> Result<KvReply, ApiError> {
        match self {
            KvRequest::Get {
                key,
                if_none_match,
                head,
            } => {
                let record = storage.get(&key).await?.ok_or(ApiError::KeyNotFound)?;
                let (revision, expires_at_ms) = (record.revision, record.expires_at_ms);
                Ok(if if_none_match.is_some_and(|tags| tags.hits(revision)) {
                    KvReply::NotModified {
                        revision,
                        expires_at_ms,
                    }
                } else if head {
                    KvReply::Exists {
                        revision,
                        expires_at_ms,
                    }
                } else {
                    KvReply::Found(record)
                })
            }
            KvRequest::Create { key, value, ttl_s } => {
                match storage.create(&key, &value, ttl_s).await? {
                    CreateOutcome::Created(revision) => Ok(KvReply::Created(revision)),
                    CreateOutcome::AlreadyExists => Err(ApiError::KeyExists),
                    CreateOutcome::Refused(refusal) => Err(refusal.into()),
                }
            }
            KvRequest::Put {
                key,
                value,
                mode,
                if_match,
                ttl_s,
            } => match storage
                .put(&key, &value, mode, if_match.as_ref(), ttl_s)
                .await?
            {
                PutOutcome::Created(revision) => Ok(KvReply::Created(revision)),
                PutOutcome::Updated(revision) => Ok(KvReply::Updated(revision)),
                PutOutcome::NotFound => Err(ApiError::KeyNotFound),
                PutOutcome::PreconditionFailed => Err(ApiError::PreconditionFailed),
                PutOutcome::Refused(refusal) => Err(refusal.into()),
            },
            KvRequest::Patch {
                key,
                patch,
                if_match,
            } => match storage.patch(&key, &patch, if_match.as_ref()).await? {
                PatchOutcome::Patched(record) => Ok(KvReply::Patched(record)),
                PatchOutcome::NotFound => Err(ApiError::KeyNotFound),
                PatchOutcome::PreconditionFailed => Err(ApiError::PreconditionFailed),
                PatchOutcome::Conflict(why) => Err(ApiError::PatchConflict(why)),
                PatchOutcome::Refused(refusal) => Err(refusal.into()),
            },
            KvRequest::Delete { key, if_match } => {
                match storage.delete(&key, if_match.as_ref()).await? {
                    DeleteOutcome::Deleted(value) => Ok(KvReply::Deleted { key, value }),
                    DeleteOutcome::NotFound => Err(ApiError::KeyNotFound),
                    DeleteOutcome::PreconditionFailed => Err(ApiError::PreconditionFailed),
                }
            }
            KvRequest::Txn(ops) => match storage.txn(&ops).await? {
                TxnOutcome::Committed { revision, results } => {
                    Ok(KvReply::Txn { revision, results })
                }
                TxnOutcome::Aborted { index, failure } => Err(ApiError::InTxn {
                    op: index,
                    error: Box::new(txn_failure(failure)),
                }),
            },
        }
    }
}

fn txn_failure(failure: TxnFailure) -> ApiError {
    match failure {
        TxnFailure::Exists => ApiError::KeyExists,
        TxnFailure::NotFound => ApiError::KeyNotFound,
        TxnFailure::PreconditionFailed => ApiError::PreconditionFailed,
        TxnFailure::Conflict(why) => ApiError::PatchConflict(why),
        TxnFailure::TooLarge => ApiError::PayloadTooLarge,
        TxnFailure::NoSpace => ApiError::InsufficientStorage(crate::storage::StorageError::NoSpace),
        TxnFailure::Refused(refusal) => refusal.into(),
    }
}
