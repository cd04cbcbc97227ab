//! Successful outcomes of kv operations, each with its one status and body.

use actix_web::body::BoxBody;
use actix_web::http::header::ContentType;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, Responder};

use crate::key::Key;
use crate::storage::JsonValue;

/// What a successful kv operation answers.
#[derive(Debug)]
pub enum KvReply {
    /// `POST /kv` stored a new record.
    Created,
    /// `GET /kv/{key}` found the record.
    Found(JsonValue),
    /// `PUT /kv/{key}` replaced the value.
    Updated,
    /// `DELETE /kv/{key}` removed the record, which had this value.
    Deleted {
        /// The deleted record's key.
        key: Key,
        /// The value it had; `None` if it could not be shown as JSON.
        value: Option<JsonValue>,
    },
}

impl KvReply {
    /// The HTTP status of this outcome.
    pub fn status(&self) -> StatusCode {
        StatusCode::OK
    }

    /// The JSON body of this outcome.
    pub fn body(&self) -> Vec<u8> {
        match self {
            KvReply::Created => br#"{"result":"record created"}"#.to_vec(),
            KvReply::Updated => br#"{"result":"record updated"}"#.to_vec(),
            KvReply::Found(value) => wrap(br#"{"value":"#, value.as_bytes(), b"}"),
            KvReply::Deleted { key, value } => {
                // Serialising a str into a Vec cannot fail.
                let key = serde_json::to_vec(key.as_str()).unwrap_or_default();
                let mut head = br#"{"deleted":{"key":"#.to_vec();
                head.extend_from_slice(&key);
                head.extend_from_slice(br#","value":"#);
                let value = value.as_ref().map_or(&b"null"[..], JsonValue::as_bytes);
                wrap(&head, value, b"}}")
            }
        }
    }
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
        HttpResponse::build(self.status())
            .insert_header(ContentType::json())
            .body(self.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::codec::msgpack_to_json;

    fn json(bytes: &[u8]) -> serde_json::Value {
        serde_json::from_slice(bytes).unwrap()
    }

    #[test]
    fn every_outcome_has_its_body() {
        let value = msgpack_to_json(&[0x81, 0xa1, b'a', 0x01]).unwrap();
        let key = Key::parse("we\"ird".into(), 16).unwrap();
        assert_eq!(
            json(&KvReply::Created.body()),
            serde_json::json!({"result": "record created"})
        );
        assert_eq!(
            json(&KvReply::Updated.body()),
            serde_json::json!({"result": "record updated"})
        );
        assert_eq!(
            json(&KvReply::Found(value.clone()).body()),
            serde_json::json!({"value": {"a": 1}})
        );
        assert_eq!(
            json(
                &KvReply::Deleted {
                    key: key.clone(),
                    value: Some(value)
                }
                .body()
            ),
            serde_json::json!({"deleted": {"key": "we\"ird", "value": {"a": 1}}})
        );
        assert_eq!(
            json(&KvReply::Deleted { key, value: None }.body()),
            serde_json::json!({"deleted": {"key": "we\"ird", "value": null}})
        );
    }
}
