//! Successful outcomes of kv operations, each with its one status, body
//! and `ETag`: built here only, so every way of answering (HTTP, a
//! transaction's results, later WebSocket) gives the same bytes.

use std::time::{Duration, UNIX_EPOCH};

use actix_web::body::BoxBody;
use actix_web::http::header::{ContentType, HttpDate, ETAG, EXPIRES};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, Responder};

use crate::key::Key;
use crate::list_query::cursor;
use crate::preconditions::etag;
use crate::storage::{FieldIndex, JsonValue, ListPage, Record, Revision, TxnResult};

/// What a successful kv operation answers.
#[derive(Debug)]
pub enum KvReply {
    /// A record was stored (`POST /kv`, `PUT` that created).
    Created(Revision),
    /// `GET /kv/{key}` found the record.
    Found(Record),
    /// `HEAD /kv/{key}` found the record: `GET`'s headers, no body.
    Exists {
        /// The record's revision.
        revision: Revision,
        /// When it expires (Unix milliseconds), if it does.
        expires_at_ms: Option<u64>,
    },
    /// `If-None-Match` matched the record's revision.
    NotModified {
        /// The record's revision.
        revision: Revision,
        /// When it expires (Unix milliseconds), if it does.
        expires_at_ms: Option<u64>,
    },
    /// `PUT /kv/{key}` replaced the value.
    Updated(Revision),
    /// `PATCH /kv/{key}` left this value.
    Patched(Record),
    /// `DELETE /kv/{key}` removed the record, which had this value.
    Deleted {
        /// The deleted record's key.
        key: Key,
        /// The value it had; `None` if it could not be shown as JSON.
        value: Option<JsonValue>,
    },
    /// `POST /txn` applied every operation.
    Txn {
        /// The last revision written (the store's, if it only read).
        revision: Revision,
        /// One result per operation.
        results: Vec<TxnResult>,
    },
    /// `GET /kv`: a page of keys.
    List(ListPage),
    /// `DELETE /kv?prefix=`: this many records deleted.
    BulkDeleted(u64),
    /// `GET /indexes`: the declared field indexes.
    Indexes(Vec<FieldIndex>),
}

impl KvReply {
    /// The HTTP status of this outcome.
    pub fn status(&self) -> StatusCode {
        match self {
            KvReply::NotModified { .. } => StatusCode::NOT_MODIFIED,
            _ => StatusCode::OK,
        }
    }

    /// When the record it shows expires, for the `Expires` header of `GET`
    /// and `HEAD`.
    pub fn expires_at_ms(&self) -> Option<u64> {
        match self {
            KvReply::Found(record) => record.expires_at_ms,
            KvReply::Exists { expires_at_ms, .. } | KvReply::NotModified { expires_at_ms, .. } => {
                *expires_at_ms
            }
            _ => None,
        }
    }

    /// The revision its `ETag` names, where it has one.
    pub fn revision(&self) -> Option<Revision> {
        match self {
            KvReply::Created(revision)
            | KvReply::Exists { revision, .. }
            | KvReply::NotModified { revision, .. }
            | KvReply::Updated(revision) => Some(*revision),
            KvReply::Found(record) | KvReply::Patched(record) => Some(record.revision),
            KvReply::Deleted { .. }
            | KvReply::Txn { .. }
            | KvReply::List(_)
            | KvReply::BulkDeleted(_)
            | KvReply::Indexes(_) => None,
        }
    }

    /// The JSON body of this outcome (empty for `HEAD` and 304).
    pub fn body(&self) -> Vec<u8> {
        match self {
            KvReply::Created(_) => CREATED.to_vec(),
            KvReply::Updated(_) => UPDATED.to_vec(),
            KvReply::Found(record) | KvReply::Patched(record) => {
                wrap(br#"{"value":"#, record.value.as_bytes(), b"}")
            }
            KvReply::Exists { .. } | KvReply::NotModified { .. } => Vec::new(),
            KvReply::List(page) => list(page),
            KvReply::BulkDeleted(count) => format!(r#"{{"deleted":{count}}}"#).into_bytes(),
            KvReply::Indexes(indexes) => {
                let indexes: Vec<serde_json::Value> = indexes
                    .iter()
                    .map(|index| {
                        serde_json::json!({
                            "field": index.field,
                            "type": index.kind,
                            "unique": index.unique,
                        })
                    })
                    .collect();
                // Serialising plain JSON values cannot fail.
                serde_json::to_vec(&serde_json::json!({ "indexes": indexes })).unwrap_or_default()
            }
            KvReply::Deleted { key, value } => deleted(key, value.as_ref()),
            KvReply::Txn { revision, results } => {
                let mut out = format!(r#"{{"revision":{revision},"results":["#).into_bytes();
                for (i, result) in results.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(&txn_result(result));
                }
                out.extend_from_slice(b"]}");
                out
            }
        }
    }
}

/// Unix seconds from Unix milliseconds, rounded up: by then it is gone.
pub fn seconds_up(ms: u64) -> u64 {
    ms.div_ceil(1000)
}

/// `{"items": [...], "cursor": ...}`; an item holds `value` and `expires_at`
/// where the page asked for values (and the record expires).
fn list(page: &ListPage) -> Vec<u8> {
    // Serialising strings into a Vec cannot fail.
    let json = |text: &str| serde_json::to_vec(text).unwrap_or_default();
    let mut out = br#"{"items":["#.to_vec();
    for (i, item) in page.items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(br#"{"key":"#);
        out.extend_from_slice(&json(&item.key));
        out.extend_from_slice(format!(r#","revision":{}"#, item.revision).as_bytes());
        if let Some(value) = &item.value {
            out.extend_from_slice(br#","value":"#);
            out.extend_from_slice(value.as_bytes());
        }
        if let Some(ms) = item.expires_at_ms {
            out.extend_from_slice(format!(r#","expires_at":{}"#, seconds_up(ms)).as_bytes());
        }
        out.push(b'}');
    }
    out.extend_from_slice(br#"],"cursor":"#);
    match &page.next {
        Some(key) => out.extend_from_slice(&json(&cursor(key))),
        None => out.extend_from_slice(b"null"),
    }
    out.push(b'}');
    out
}

const CREATED: &[u8] = br#"{"result":"record created"}"#;
const UPDATED: &[u8] = br#"{"result":"record updated"}"#;

/// One transaction result: the body its operation has alone, with the
/// revision it concerns.
fn txn_result(result: &TxnResult) -> Vec<u8> {
    match result {
        TxnResult::Created(revision) => with_revision(CREATED, *revision),
        TxnResult::Updated(revision) => with_revision(UPDATED, *revision),
        TxnResult::Patched(record) | TxnResult::Found(record) => with_revision(
            &wrap(br#"{"value":"#, record.value.as_bytes(), b"}"),
            record.revision,
        ),
        TxnResult::Deleted(key, value) => deleted(key, value.as_ref()),
        TxnResult::Checked => br#"{"result":"check passed"}"#.to_vec(),
    }
}

fn deleted(key: &Key, value: Option<&JsonValue>) -> Vec<u8> {
    // Serialising a str into a Vec cannot fail.
    let key = serde_json::to_vec(key.as_str()).unwrap_or_default();
    let mut head = br#"{"deleted":{"key":"#.to_vec();
    head.extend_from_slice(&key);
    head.extend_from_slice(br#","value":"#);
    let value = value.map_or(&b"null"[..], JsonValue::as_bytes);
    wrap(&head, value, b"}}")
}

/// `body` (a JSON object) with `"revision": N` as its last member.
fn with_revision(body: &[u8], revision: Revision) -> Vec<u8> {
    let open = &body[..body.len() - 1];
    wrap(open, format!(r#","revision":{revision}"#).as_bytes(), b"}")
}

/// The value's JSON is already rendered: splice it in rather than re-encode it.
fn wrap(head: &[u8], value: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(head.len() + value.len() + tail.len());
    out.extend_from_slice(head);
    out.extend_from_slice(value);
    out.extend_from_slice(tail);
    out
}

impl Responder for KvReply {
    type Body = BoxBody;

    fn respond_to(self, _req: &HttpRequest) -> HttpResponse {
        let mut response = HttpResponse::build(self.status());
        if let Some(revision) = self.revision() {
            response.insert_header((ETAG, etag(revision)));
        }
        if let Some(ms) = self.expires_at_ms() {
            let at = UNIX_EPOCH + Duration::from_secs(seconds_up(ms));
            response.insert_header((EXPIRES, HttpDate::from(at)));
        }
        match self {
            KvReply::NotModified { .. } => response.finish(),
            _ => response
                .insert_header(ContentType::json())
                .body(self.body()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::codec::msgpack_to_json;

    fn json(bytes: &[u8]) -> serde_json::Value {
        serde_json::from_slice(bytes).unwrap()
    }

    fn record(revision: Revision) -> Record {
        Record {
            value: msgpack_to_json(&[0x81, 0xa1, b'a', 0x01]).unwrap(),
            revision,
            expires_at_ms: None,
        }
    }

    #[test]
    fn every_outcome_has_its_body_and_etag() {
        let key = Key::parse("we\"ird".into(), 16).unwrap();
        let cases = [
            (
                KvReply::Created(1),
                serde_json::json!({"result": "record created"}),
                Some(1),
            ),
            (
                KvReply::Updated(2),
                serde_json::json!({"result": "record updated"}),
                Some(2),
            ),
            (
                KvReply::Found(record(3)),
                serde_json::json!({"value": {"a": 1}}),
                Some(3),
            ),
            (
                KvReply::Patched(record(4)),
                serde_json::json!({"value": {"a": 1}}),
                Some(4),
            ),
            (
                KvReply::Deleted {
                    key: key.clone(),
                    value: Some(record(5).value),
                },
                serde_json::json!({"deleted": {"key": "we\"ird", "value": {"a": 1}}}),
                None,
            ),
            (
                KvReply::Deleted {
                    key: key.clone(),
                    value: None,
                },
                serde_json::json!({"deleted": {"key": "we\"ird", "value": null}}),
                None,
            ),
        ];
        for (reply, body, revision) in cases {
            assert_eq!(json(&reply.body()), body, "{reply:?}");
            assert_eq!(reply.revision(), revision);
        }
        let head = KvReply::Exists {
            revision: 7,
            expires_at_ms: Some(1001),
        };
        assert!(head.body().is_empty());
        assert_eq!(head.expires_at_ms(), Some(1001));
        let not_modified = KvReply::NotModified {
            revision: 7,
            expires_at_ms: None,
        };
        assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(seconds_up(1001), 2);
        assert_eq!(seconds_up(2000), 2);
    }

    #[test]
    fn transaction_results_are_each_operations_body_with_its_revision() {
        let key = Key::parse("k".into(), 16).unwrap();
        let reply = KvReply::Txn {
            revision: 9,
            results: vec![
                TxnResult::Created(8),
                TxnResult::Found(record(8)),
                TxnResult::Deleted(key, Some(record(3).value)),
                TxnResult::Checked,
                TxnResult::Updated(9),
            ],
        };
        assert_eq!(
            json(&reply.body()),
            serde_json::json!({"revision": 9, "results": [
                {"result": "record created", "revision": 8},
                {"value": {"a": 1}, "revision": 8},
                {"deleted": {"key": "k", "value": {"a": 1}}},
                {"result": "check passed"},
                {"result": "record updated", "revision": 9},
            ]})
        );
    }
}
