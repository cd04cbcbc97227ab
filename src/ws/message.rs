//! WebSocket messages from clients: a JSON object with an `id` (any JSON
//! value, echoed in the reply) and an `op`, with the fields of the matching
//! HTTP request. Each is parsed by the same rules (and mostly the same
//! code) as HTTP bodies, so the same input gets the same 400.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::body::{object, parse_create, ttl_of};
use crate::error::ApiError;
use crate::json_numbers::check_integer_range;
use crate::key::Key;
use crate::kv_request::KvRequest;
use crate::patch_body::{self, PatchFormat};
use crate::preconditions::{self, NoneMatch};
use crate::settings::LimitSettings;
use crate::storage::incoming::IncomingValue;
use crate::storage::{IfMatch, Revision};
use crate::txn_body;
use crate::watch::request::filter_of;
use crate::watch::Filter;

/// What a message asks for.
#[derive(Debug)]
pub enum Command {
    /// A kv operation, answered as HTTP answers it.
    Kv(KvRequest),
    /// Start a watch named by the message's id.
    Watch {
        /// The keys it wants.
        filter: Filter,
        /// The revision it starts after (`None`: now).
        since: Option<Revision>,
    },
    /// Stop the watch named by the message's id.
    Unwatch,
}

/// A parsed message: its id as JSON text (`null` when it has none or
/// cannot be read) and what it asks for, or why it cannot be done.
#[derive(Debug)]
pub struct Parsed {
    /// The id to echo.
    pub id: String,
    /// The command, or the error to answer.
    pub command: Result<Command, ApiError>,
}

const OPS: &str = "get, head, create, update, patch, delete, txn, watch and unwatch";

#[derive(Deserialize)]
#[serde(expecting = "a JSON object with \"id\" and \"op\"")]
struct Envelope<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    op: Option<&'a RawValue>,
}

/// Errors name the header, as over HTTP, so both give the same body.
const IF_MATCH: &str = "if-match";
const IF_NONE_MATCH: &str = "if-none-match";

/// `if_match` and `if_none_match`: the header's text, or a bare revision.
#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "a revision or an entity tag list such as \"\\\"5\\\"\""
)]
enum Condition {
    Revision(Revision),
    Text(String),
}

impl Condition {
    fn if_match(self) -> Result<IfMatch, ApiError> {
        match self {
            Condition::Revision(revision) => Ok(IfMatch::Revisions(vec![revision])),
            Condition::Text(text) => preconditions::if_match_text(IF_MATCH, &text),
        }
    }

    fn none_match(self) -> Result<NoneMatch, ApiError> {
        match self {
            Condition::Revision(revision) => {
                preconditions::none_match_text(IF_NONE_MATCH, &format!("\"{revision}\""))
            }
            Condition::Text(text) => preconditions::none_match_text(IF_NONE_MATCH, &text),
        }
    }
}

#[derive(Deserialize)]
#[serde(expecting = "a message with \"key\"")]
struct Addressed {
    key: String,
    if_match: Option<Condition>,
    if_none_match: Option<Condition>,
}

#[derive(Deserialize)]
#[serde(expecting = "a message with \"key\" and \"value\"")]
struct Update {
    key: String,
    value: IncomingValue,
    ttl: Option<serde_json::Number>,
    upsert: Option<bool>,
    if_match: Option<Condition>,
    if_none_match: Option<Condition>,
}

#[derive(Deserialize)]
#[serde(expecting = "a message with \"key\" and \"merge\" or \"json_patch\"")]
struct PatchMessage<'a> {
    key: String,
    #[serde(borrow)]
    merge: Option<&'a RawValue>,
    json_patch: Option<&'a RawValue>,
    if_match: Option<Condition>,
    if_none_match: Option<Condition>,
}

#[derive(Deserialize)]
#[serde(expecting = "a message with \"key\" or \"prefix\", and \"since\"")]
struct WatchMessage {
    key: Option<String>,
    prefix: Option<String>,
    since: Option<Revision>,
}

/// Parses one text message within `limits`.
pub fn parse(text: &str, limits: &LimitSettings) -> Parsed {
    let null = || "null".to_owned();
    if text.len() > limits.max_body_bytes {
        return Parsed {
            id: null(),
            command: Err(ApiError::InvalidBody(format!(
                "a message is at most {} bytes (limits.max_body_bytes), this one {}",
                limits.max_body_bytes,
                text.len()
            ))),
        };
    }
    // serde would also take the fields of a struct from an array.
    if text.trim_start().as_bytes().first() != Some(&b'{') {
        return Parsed {
            id: null(),
            command: Err(invalid(
                "a message must be a JSON object with \"id\" and \"op\"",
            )),
        };
    }
    let envelope: Envelope<'_> = match serde_json::from_str(text) {
        Ok(envelope) => envelope,
        Err(err) => {
            return Parsed {
                id: null(),
                command: Err(ApiError::InvalidBody(err.to_string())),
            }
        }
    };
    let id = envelope.id.map_or_else(null, |raw| raw.get().to_owned());
    let command = check_integer_range(text.as_bytes())
        .map_err(ApiError::InvalidBody)
        .and_then(|()| command(text, envelope.op, limits));
    Parsed { id, command }
}

fn command(text: &str, op: Option<&RawValue>, limits: &LimitSettings) -> Result<Command, ApiError> {
    let op: String = match op {
        None => return Err(invalid(&format!("a message needs \"op\": one of {OPS}"))),
        Some(raw) => serde_json::from_str(raw.get())
            .map_err(|_| invalid(&format!("op must be a string: one of {OPS}")))?,
    };
    let kv = |request| Ok(Command::Kv(request));
    match op.as_str() {
        "get" | "head" => {
            // As over HTTP, a read ignores `if_match`.
            let message: Addressed = fields(text)?;
            kv(KvRequest::Get {
                key: key(message.key, limits)?,
                if_none_match: message
                    .if_none_match
                    .map(Condition::none_match)
                    .transpose()?,
                head: op == "head",
            })
        }
        "create" => {
            let request = parse_create(text.as_bytes(), limits.max_key_bytes)?;
            kv(KvRequest::Create {
                key: request.key,
                value: request.value,
                ttl_s: ttl_of(request.ttl.as_ref(), None, limits.max_ttl_s)?,
            })
        }
        "update" => {
            let message: Update = fields(text)?;
            let none_match = message
                .if_none_match
                .map(Condition::none_match)
                .transpose()?;
            kv(KvRequest::Put {
                key: key(message.key, limits)?,
                mode: preconditions::put_mode(
                    none_match.as_ref(),
                    message.upsert.unwrap_or(false),
                )?,
                if_match: message.if_match.map(Condition::if_match).transpose()?,
                value: object(message.value)?,
                ttl_s: ttl_of(message.ttl.as_ref(), None, limits.max_ttl_s)?,
            })
        }
        "patch" => {
            let message: PatchMessage<'_> = fields(text)?;
            let none_match = message
                .if_none_match
                .map(Condition::none_match)
                .transpose()?;
            preconditions::no_none_match(none_match.as_ref())?;
            let (document, format) = match (message.merge, message.json_patch) {
                (Some(doc), None) => (doc, PatchFormat::Merge),
                (None, Some(doc)) => (doc, PatchFormat::Json),
                _ => {
                    return Err(invalid(
                        "patch takes \"merge\" (RFC 7396) or \"json_patch\" (RFC 6902)",
                    ))
                }
            };
            kv(KvRequest::Patch {
                key: key(message.key, limits)?,
                patch: patch_body::parse(document.get().as_bytes(), format)?,
                if_match: message.if_match.map(Condition::if_match).transpose()?,
            })
        }
        "delete" => {
            let message: Addressed = fields(text)?;
            let none_match = message
                .if_none_match
                .map(Condition::none_match)
                .transpose()?;
            preconditions::no_none_match(none_match.as_ref())?;
            kv(KvRequest::Delete {
                key: key(message.key, limits)?,
                if_match: message.if_match.map(Condition::if_match).transpose()?,
            })
        }
        "txn" => kv(KvRequest::Txn(txn_body::parse(
            text.as_bytes(),
            limits.max_txn_ops,
            limits.max_key_bytes,
        )?)),
        "watch" => {
            let message: WatchMessage = fields(text)?;
            Ok(Command::Watch {
                filter: filter_of(
                    message.key.as_deref(),
                    message.prefix.as_deref(),
                    limits.max_key_bytes,
                )?,
                since: message.since,
            })
        }
        "unwatch" => Ok(Command::Unwatch),
        other => Err(invalid(&format!("unknown op {other:?}; ops are {OPS}"))),
    }
}

/// The fields of an op, from the whole message (`id` and `op` are ignored).
fn fields<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, ApiError> {
    serde_json::from_str(text).map_err(|e| ApiError::InvalidBody(e.to_string()))
}

/// A key as HTTP takes it from a path.
fn key(raw: String, limits: &LimitSettings) -> Result<Key, ApiError> {
    Key::parse(raw, limits.max_key_bytes).map_err(ApiError::InvalidKey)
}

fn invalid(detail: &str) -> ApiError {
    ApiError::InvalidBody(detail.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> LimitSettings {
        crate::settings::Settings::from_toml("[tarantool]\npassword = \"x\"\n")
            .unwrap()
            .limits
    }

    fn detail(text: &str) -> (String, String) {
        let parsed = parse(text, &limits());
        match parsed.command {
            Err(ApiError::InvalidBody(detail)) => (parsed.id, detail),
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn the_id_is_echoed_as_sent() {
        let parsed = parse(
            r#"{"id": {"n": [1, 2]}, "op": "get", "key": "k"}"#,
            &limits(),
        );
        assert_eq!(parsed.id, r#"{"n": [1, 2]}"#);
        assert!(matches!(
            parsed.command,
            Ok(Command::Kv(KvRequest::Get { head: false, .. }))
        ));
        assert_eq!(parse(r#"{"op":"unwatch"}"#, &limits()).id, "null");
    }

    #[test]
    fn malformed_messages_say_why_and_keep_the_id_when_there_is_one() {
        assert_eq!(detail("not json").0, "null");
        assert!(detail("[1]").1.contains("JSON object"));
        assert!(detail(r#"{"id":1}"#).1.contains("needs \"op\""));
        assert_eq!(detail(r#"{"id":2,"op":"fly"}"#).0, "2");
        assert!(detail(r#"{"id":2,"op":"fly"}"#)
            .1
            .contains("unknown op \"fly\""));
        assert!(detail(r#"{"id":3,"op":7}"#)
            .1
            .contains("op must be a string"));
        assert!(detail(r#"{"id":4,"op":"get","key":5}"#)
            .1
            .contains("expected a string"));
        assert!(detail(r#"{"id":5,"op":"create","key":"k","value":[1]}"#)
            .1
            .contains("value must be a JSON object"));
        assert!(detail(r#"{"id":6,"op":"patch","key":"k"}"#)
            .1
            .contains("merge"));
        assert!(detail(&format!(
            r#"{{"op":"get","key":"{}"}}"#,
            "x".repeat(2_000_000)
        ))
        .1
        .contains("at most"));
        assert!(
            detail(r#"{"op":"create","key":"k","value":{"x":18446744073709551616}}"#)
                .1
                .contains("out of range")
        );
    }

    #[test]
    fn preconditions_take_header_text_or_a_revision() {
        let parsed = parse(
            r#"{"id":1,"op":"update","key":"k","value":{},"if_match":7,"upsert":true}"#,
            &limits(),
        );
        match parsed.command {
            Ok(Command::Kv(KvRequest::Put { if_match, mode, .. })) => {
                assert_eq!(if_match, Some(IfMatch::Revisions(vec![7])));
                assert_eq!(mode, crate::storage::PutMode::Upsert);
            }
            other => panic!("{other:?}"),
        }
        let parsed = parse(
            r#"{"op":"delete","key":"k","if_match":"\"3\", \"4\""}"#,
            &limits(),
        );
        assert!(matches!(
            parsed.command,
            Ok(Command::Kv(KvRequest::Delete { if_match: Some(IfMatch::Revisions(ref r)), .. })) if r == &[3, 4]
        ));
    }

    #[test]
    fn a_watch_names_a_key_or_a_prefix() {
        let parsed = parse(
            r#"{"id":"w","op":"watch","prefix":"a/","since":4}"#,
            &limits(),
        );
        assert!(matches!(
            parsed.command,
            Ok(Command::Watch { filter: Filter::Prefix(ref p), since: Some(4) }) if p == "a/"
        ));
        assert!(matches!(
            parse(r#"{"op":"watch","key":"a","prefix":"b"}"#, &limits()).command,
            Err(ApiError::InvalidParameter(_))
        ));
    }
}
