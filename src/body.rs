//! Request bodies: read within the size limit, then parsed once into typed requests.

use std::time::Duration;

use actix_web::http::header::CONTENT_LENGTH;
use actix_web::web::{BytesMut, Payload};
use actix_web::HttpRequest;
use futures_util::StreamExt;
use serde::Deserialize;
use tokio::time::Instant;

use crate::error::ApiError;
use crate::json_numbers::check_integer_range;
use crate::key::Key;
use crate::settings::BodyRead;
use crate::storage::incoming::IncomingValue;
use crate::storage::EncodedValue;

/// A parsed `POST /kv` body.
#[derive(Debug)]
pub struct CreateRequest {
    /// The new record's key.
    pub key: Key,
    /// The new record's value, encoded for storage.
    pub value: EncodedValue,
    /// Seconds until it expires, if it does (`"ttl"`, unchecked yet).
    pub ttl: Option<serde_json::Number>,
}

/// A parsed `PUT /kv/{key}` body.
#[derive(Debug)]
pub struct UpdateRequest {
    /// The new value, encoded for storage.
    pub value: EncodedValue,
    /// Seconds until it expires, if it does (`"ttl"`, unchecked yet).
    pub ttl: Option<serde_json::Number>,
}

#[derive(Deserialize)]
#[serde(expecting = "a JSON object with \"key\" and \"value\"")]
struct CreateBody {
    key: String,
    value: IncomingValue,
    ttl: Option<serde_json::Number>,
}

#[derive(Deserialize)]
#[serde(expecting = "a JSON object with \"value\"")]
struct UpdateBody {
    key: Option<String>,
    value: IncomingValue,
    ttl: Option<serde_json::Number>,
}

/// The most a body buffer is given up front, whatever `Content-Length`
/// claims: a client that declares 1 MiB and sends nothing costs nothing.
const INITIAL_BUFFER: usize = 16 * 1024;

/// How long a body may take before `min_bytes_per_s` applies.
const PACE_GRACE: Duration = Duration::from_secs(1);

/// Reads the whole body, refusing it as soon as it is over `limit` bytes,
/// and with 408 when it does not arrive within `rules.timeout` or falls
/// below `rules.min_bytes_per_s` after its first second.
pub async fn read_limited(
    req: &HttpRequest,
    mut payload: Payload,
    limit: usize,
    rules: BodyRead,
) -> Result<BytesMut, ApiError> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(ApiError::PayloadTooLarge);
    }
    let started = Instant::now();
    let deadline = started + rules.timeout;
    let mut body = BytesMut::with_capacity(declared.unwrap_or(0).min(INITIAL_BUFFER));
    loop {
        // The pace so far allows waiting until this many bytes are overdue.
        let paced = started
            + PACE_GRACE
            + Duration::from_secs_f64(body.len() as f64 / rules.min_bytes_per_s.max(1) as f64);
        let chunk = match tokio::time::timeout_at(deadline.min(paced), payload.next()).await {
            Err(_) => return Err(ApiError::RequestTimeout),
            Ok(None) => return Ok(body),
            Ok(Some(chunk)) => {
                chunk.map_err(|e| ApiError::InvalidBody(format!("could not read the body: {e}")))?
            }
        };
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
}

/// Parses a `POST /kv` body: `{"key": "...", "value": {...}}`.
pub fn parse_create(body: &[u8], max_key_bytes: usize) -> Result<CreateRequest, ApiError> {
    let parsed: CreateBody = parse_json(body)?;
    let key =
        Key::parse(parsed.key, max_key_bytes).map_err(|e| ApiError::InvalidBody(e.to_string()))?;
    let value = object(parsed.value)?;
    Ok(CreateRequest {
        key,
        value,
        ttl: parsed.ttl,
    })
}

/// Parses a `PUT /kv/{key}` body: `{"value": {...}}`, optionally with a
/// `key`, which must then be the key of the path, and a `ttl`.
pub fn parse_update(body: &[u8], key: &Key) -> Result<UpdateRequest, ApiError> {
    let parsed: UpdateBody = parse_json(body)?;
    if parsed.key.as_deref().is_some_and(|k| k != key.as_str()) {
        return Err(ApiError::InvalidBody(
            "the key in the body differs from the key in the path".into(),
        ));
    }
    Ok(UpdateRequest {
        value: object(parsed.value)?,
        ttl: parsed.ttl,
    })
}

/// The ttl of a write, from the body's `"ttl"` or the `?ttl=` parameter
/// (not both): whole seconds from 1 to `max_s`.
pub fn ttl_of(
    in_body: Option<&serde_json::Number>,
    in_query: Option<&str>,
    max_s: u64,
) -> Result<Option<u64>, ApiError> {
    let rule = format!("an integer number of seconds from 1 to {max_s} (limits.max_ttl_s)");
    match (in_body, in_query) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(ApiError::InvalidParameter(
            "ttl is given both in the body and as a parameter".into(),
        )),
        (Some(number), None) => match number.as_u64().filter(|s| (1..=max_s).contains(s)) {
            Some(seconds) => Ok(Some(seconds)),
            None => Err(ApiError::InvalidBody(format!(
                "ttl must be {rule}, not {number}"
            ))),
        },
        (None, Some(text)) => match text.parse::<u64>().ok().filter(|s| (1..=max_s).contains(s)) {
            Some(seconds) => Ok(Some(seconds)),
            None => Err(ApiError::InvalidParameter(format!(
                "ttl must be {rule}, not {text:?}"
            ))),
        },
    }
}

fn parse_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::InvalidBody("request body is empty".into()));
    }
    // serde would also accept a struct written as an array.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::InvalidBody(
            "request body must be a JSON object".into(),
        ));
    }
    let parsed = serde_json::from_slice(body).map_err(|e| ApiError::InvalidBody(e.to_string()))?;
    check_integer_range(body).map_err(ApiError::InvalidBody)?;
    Ok(parsed)
}

/// The schema stores a map, so only a JSON object is a value.
pub fn object(value: IncomingValue) -> Result<EncodedValue, ApiError> {
    match value {
        IncomingValue::Object(value) => Ok(value),
        IncomingValue::NotObject => {
            Err(ApiError::InvalidBody("value must be a JSON object".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create_detail(body: &[u8]) -> String {
        match parse_create(body, 8) {
            Err(ApiError::InvalidBody(detail)) => detail,
            other => panic!("expected an invalid body, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_create_body_parses() {
        let request = parse_create(br#"{"key":"k","value":{"a":1},"extra":true}"#, 8).unwrap();
        assert_eq!(request.key.as_str(), "k");
        assert_eq!(request.value.as_bytes(), [0x81, 0xa1, b'a', 0x01]);
    }

    #[test]
    fn invalid_create_bodies_say_what_is_wrong() {
        assert_eq!(create_detail(b""), "request body is empty");
        assert_eq!(create_detail(b"  \n"), "request body is empty");
        assert!(create_detail(b"{\"key\":").contains("EOF"));
        assert_eq!(
            create_detail(b"not json"),
            "request body must be a JSON object"
        );
        assert!(create_detail(b"{not json}").contains("key must be a string"));
        assert_eq!(create_detail(b"[1]"), "request body must be a JSON object");
        assert_eq!(
            create_detail(br#"["k",{}]"#),
            "request body must be a JSON object"
        );
        assert_eq!(
            create_detail(b"\"k\""),
            "request body must be a JSON object"
        );
        assert!(create_detail(br#"{"value":{}}"#).contains("missing field `key`"));
        assert!(create_detail(br#"{"key":"k"}"#).contains("missing field `value`"));
        assert!(create_detail(br#"{"key":5,"value":{}}"#).contains("expected a string"));
        assert_eq!(
            create_detail(br#"{"key":"","value":{}}"#),
            "key must not be empty"
        );
        assert_eq!(
            create_detail(br#"{"key":"123456789","value":{}}"#),
            "key is longer than 8 bytes"
        );
        assert_eq!(
            create_detail(br#"{"key":"k","value":[1]}"#),
            "value must be a JSON object"
        );
        assert_eq!(
            create_detail(br#"{"key":"k","value":null}"#),
            "value must be a JSON object"
        );
        assert!(create_detail(b"{\"key\":\"\xff\",\"value\":{}}").contains("invalid unicode"));
        assert!(create_detail(br#"{"key":"k","value":{}} trailing"#).contains("trailing"));
    }

    #[test]
    fn absurd_nesting_is_refused_not_overflowed() {
        let deep = format!(
            r#"{{"key":"k","value":{{"a":{}{}}}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(create_detail(deep.as_bytes()).contains("recursion limit"));
    }

    #[test]
    fn an_update_body_needs_an_object_value() {
        let key = Key::parse("k".into(), 8).unwrap();
        assert!(parse_update(br#"{"value":{"a":[]}}"#, &key).is_ok());
        assert!(matches!(
            parse_update(br#"{"value":"x"}"#, &key),
            Err(ApiError::InvalidBody(_))
        ));
        assert!(matches!(
            parse_update(br#"{}"#, &key),
            Err(ApiError::InvalidBody(_))
        ));
    }

    #[test]
    fn a_ttl_is_whole_seconds_in_range_from_the_body_or_the_query() {
        let number = |n: &str| serde_json::from_str::<serde_json::Number>(n).unwrap();
        assert_eq!(ttl_of(None, None, 10).unwrap(), None);
        assert_eq!(ttl_of(Some(&number("5")), None, 10).unwrap(), Some(5));
        assert_eq!(ttl_of(None, Some("10"), 10).unwrap(), Some(10));
        for bad in ["0", "-1", "1.5", "11", "1e3"] {
            assert!(
                matches!(
                    ttl_of(Some(&number(bad)), None, 10),
                    Err(ApiError::InvalidBody(_))
                ),
                "{bad}"
            );
        }
        for bad in ["0", "-1", "x", "11", ""] {
            assert!(
                matches!(
                    ttl_of(None, Some(bad), 10),
                    Err(ApiError::InvalidParameter(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            ttl_of(Some(&number("5")), Some("5"), 10),
            Err(ApiError::InvalidParameter(_))
        ));
    }

    #[test]
    fn an_update_body_may_repeat_the_key_but_not_change_it() {
        let key = Key::parse("k".into(), 8).unwrap();
        assert!(parse_update(br#"{"key":"k","value":{}}"#, &key).is_ok());
        match parse_update(br#"{"key":"other","value":{}}"#, &key) {
            Err(ApiError::InvalidBody(detail)) => assert_eq!(
                detail,
                "the key in the body differs from the key in the path"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn duplicate_names_and_out_of_range_integers_are_refused() {
        assert!(create_detail(br#"{"key":"k","value":{"a":1,"a":2}}"#)
            .starts_with(r#"duplicate member name "a""#));
        assert!(
            create_detail(br#"{"key":"k","value":{"x":18446744073709551616}}"#)
                .starts_with("integer 18446744073709551616 is out of range")
        );
    }
}
