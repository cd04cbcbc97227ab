//! The document's body types read what the gateway really sends: every
//! success body `KvReply` renders and every error body `ApiError` renders
//! parses into its mirror type, whose unknown members are refused, so a new
//! member or error phrase fails here until the document describes it.

use serde::de::DeserializeOwned;

use super::errors::Error;
use super::replies::*;
use crate::error::ApiError;
use crate::key::{Key, KeyError};
use crate::reply::KvReply;
use crate::storage::codec::msgpack_to_json;
use crate::storage::{FieldIndex as StoredIndex, ListItem as StoredItem, ListPage, Record};
use crate::storage::{StorageError, TxnResult as StoredResult};

fn parses_as<T: DeserializeOwned>(body: &[u8]) {
    if let Err(err) = serde_json::from_slice::<T>(body) {
        panic!(
            "{} does not describe {}: {err}",
            std::any::type_name::<T>(),
            String::from_utf8_lossy(body)
        );
    }
}

fn record(expires_at_ms: Option<u64>) -> Record {
    Record {
        value: msgpack_to_json(&[0x81, 0xa1, b'a', 0x01]).expect("a valid map"),
        revision: 3,
        expires_at_ms,
    }
}

fn key() -> Key {
    Key::parse("k".into(), 16).expect("a valid key")
}

#[test]
fn every_success_body_is_described() {
    parses_as::<WriteResult>(&KvReply::Created(1).body());
    parses_as::<WriteResult>(&KvReply::Updated(1).body());
    parses_as::<ValueReply>(&KvReply::Found(record(Some(5))).body());
    parses_as::<ValueReply>(&KvReply::Patched(record(None)).body());
    for value in [Some(record(None).value), None] {
        parses_as::<DeleteReply>(&KvReply::Deleted { key: key(), value }.body());
    }
    let item = |value: bool, expires_at_ms| StoredItem {
        key: "k".into(),
        revision: 2,
        value: value.then(|| record(None).value),
        expires_at_ms,
    };
    for next in [Some("k".to_owned()), None] {
        let page = ListPage {
            items: vec![item(false, None), item(true, None), item(true, Some(1001))],
            next,
        };
        parses_as::<ListReply>(&KvReply::List(page).body());
    }
    parses_as::<BulkDeleteReply>(&KvReply::BulkDeleted(7).body());
    let kinds = ["string", "number", "integer", "boolean"];
    let indexes = kinds.map(|kind| StoredIndex {
        field: "f".into(),
        kind: kind.into(),
        unique: kind == "string",
    });
    parses_as::<IndexesReply>(&KvReply::Indexes(Vec::from(indexes)).body());
    let results = vec![
        StoredResult::Created(1),
        StoredResult::Updated(2),
        StoredResult::Patched(record(None)),
        StoredResult::Deleted(key(), None),
        StoredResult::Found(record(Some(9))),
        StoredResult::Checked,
    ];
    let txn = KvReply::Txn {
        revision: 2,
        results,
    };
    parses_as::<TxnReply>(&txn.body());
}

/// One of each `ApiError`; the match makes a new variant a compile error
/// here until it is added (and its body checked).
fn every_error() -> Vec<ApiError> {
    let storage = || StorageError::Internal("x".into());
    let all = vec![
        ApiError::InvalidBody("x".into()),
        ApiError::InvalidKey(KeyError::Empty),
        ApiError::KeyNotFound,
        ApiError::KeyExists,
        ApiError::PayloadTooLarge,
        ApiError::TooManyRequests,
        ApiError::RequestTimeout,
        ApiError::InsufficientStorage(StorageError::NoSpace),
        ApiError::StorageUnavailable(StorageError::OutcomeUnknown("x".into())),
        ApiError::StorageUnavailable(StorageError::NotApplied("x".into())),
        ApiError::NotReady(storage()),
        ApiError::Internal(storage()),
        ApiError::NotFound,
        ApiError::MethodNotAllowed { allow: "GET" },
        ApiError::InvalidHeader("x".into()),
        ApiError::InvalidParameter("x".into()),
        ApiError::PreconditionFailed,
        ApiError::PatchConflict("x".into()),
        ApiError::FieldTaken("f".into()),
        ApiError::FieldNotIndexed("x".into()),
        ApiError::DeleteAllDisabled,
        ApiError::UnsupportedMediaType,
        ApiError::RevisionCompacted { oldest: 4 },
        ApiError::TooManyWatchers(1),
        ApiError::InTxn {
            op: 1,
            error: Box::new(ApiError::FieldTaken("f".into())),
        },
    ];
    for error in &all {
        match error {
            ApiError::InvalidBody(_)
            | ApiError::InvalidKey(_)
            | ApiError::KeyNotFound
            | ApiError::KeyExists
            | ApiError::PayloadTooLarge
            | ApiError::TooManyRequests
            | ApiError::RequestTimeout
            | ApiError::InsufficientStorage(_)
            | ApiError::StorageUnavailable(_)
            | ApiError::NotReady(_)
            | ApiError::Internal(_)
            | ApiError::NotFound
            | ApiError::MethodNotAllowed { .. }
            | ApiError::InvalidHeader(_)
            | ApiError::InvalidParameter(_)
            | ApiError::PreconditionFailed
            | ApiError::PatchConflict(_)
            | ApiError::FieldTaken(_)
            | ApiError::FieldNotIndexed(_)
            | ApiError::DeleteAllDisabled
            | ApiError::UnsupportedMediaType
            | ApiError::RevisionCompacted { .. }
            | ApiError::TooManyWatchers(_)
            | ApiError::InTxn { .. } => {}
        }
    }
    all
}

#[test]
fn every_error_body_is_described() {
    for error in every_error() {
        let (_, body) = error.status_and_body();
        parses_as::<Error>(&body);
    }
}

#[actix_web::test]
async fn the_health_body_is_described() {
    let response = crate::routes::health::health().await;
    let body = actix_web::body::to_bytes(response.into_body())
        .await
        .expect("a body in memory");
    parses_as::<HealthReply>(&body);
}
