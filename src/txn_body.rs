//! `POST /txn` bodies: `{"ops": [...]}`, each operation parsed on its own
//! so an error can name the operation it is in.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::ApiError;
use crate::json_numbers::check_integer_range;
use crate::key::Key;
use crate::storage::incoming::{AnyValue, IncomingValue};
use crate::storage::TxnOp;

#[derive(Deserialize)]
#[serde(expecting = "a JSON object with \"ops\"")]
struct TxnBody<'a> {
    #[serde(borrow)]
    ops: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(expecting = "an object with \"op\" and \"key\"")]
struct RawOp {
    op: String,
    key: String,
    value: Option<IncomingValue>,
    merge: Option<AnyValue>,
    revision: Option<u64>,
    absent: Option<bool>,
}

/// Parses a transaction body of at most `max_ops` operations.
pub fn parse(body: &[u8], max_ops: usize, max_key_bytes: usize) -> Result<Vec<TxnOp>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::InvalidBody("request body is empty".into()));
    }
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::InvalidBody(
            "request body must be a JSON object".into(),
        ));
    }
    let parsed: TxnBody<'_> =
        serde_json::from_slice(body).map_err(|e| ApiError::InvalidBody(e.to_string()))?;
    check_integer_range(body).map_err(ApiError::InvalidBody)?;
    if parsed.ops.is_empty() {
        return Err(ApiError::InvalidBody("ops must not be empty".into()));
    }
    if parsed.ops.len() > max_ops {
        return Err(ApiError::InvalidBody(format!(
            "a transaction has at most {max_ops} operations (limits.max_txn_ops), this one {}",
            parsed.ops.len()
        )));
    }
    parsed
        .ops
        .iter()
        .enumerate()
        .map(|(index, raw)| {
            op(raw, max_key_bytes).map_err(|detail| ApiError::InTxn {
                op: index,
                error: Box::new(ApiError::InvalidBody(detail)),
            })
        })
        .collect()
}

fn op(raw: &RawValue, max_key_bytes: usize) -> Result<TxnOp, String> {
    if !raw.get().starts_with('{') {
        return Err("an operation must be a JSON object".into());
    }
    let RawOp {
        op,
        key,
        value,
        merge,
        revision,
        absent,
    } = serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
    let key = Key::parse(key, max_key_bytes).map_err(|e| e.to_string())?;
    let object = |value: Option<IncomingValue>| match value {
        Some(IncomingValue::Object(value)) => Ok(value),
        Some(IncomingValue::NotObject) => Err("value must be a JSON object".to_owned()),
        None => Err(format!("{op} needs \"value\"")),
    };
    Ok(match op.as_str() {
        "create" => TxnOp::Create(key, object(value)?),
        "update" => TxnOp::Update(key, object(value)?),
        "patch" => match merge {
            Some(AnyValue(merge)) => TxnOp::Patch(key, merge),
            None => return Err("patch needs \"merge\"".into()),
        },
        "delete" => TxnOp::Delete(key),
        "get" => TxnOp::Get(key),
        "check" => match (revision, absent) {
            (Some(revision), None) => TxnOp::CheckRevision(key, revision),
            (None, Some(true)) => TxnOp::CheckAbsent(key),
            _ => return Err("check needs \"revision\": N or \"absent\": true".into()),
        },
        other => {
            return Err(format!(
                "unknown op {other:?}; one of create, update, patch, delete, get, check"
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(body: &str) -> (Option<usize>, String) {
        match parse(body.as_bytes(), 4, 16) {
            Err(ApiError::InTxn { op, error }) => match *error {
                ApiError::InvalidBody(detail) => (Some(op), detail),
                other => panic!("{other:?}"),
            },
            Err(ApiError::InvalidBody(detail)) => (None, detail),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_kind_of_operation_parses() {
        let ops = parse(
            br#"{"ops":[{"op":"create","key":"a","value":{"n":1}},{"op":"patch","key":"a","merge":{"n":null}},
                {"op":"check","key":"b","absent":true},{"op":"check","key":"a","revision":7}]}"#,
            4,
            16,
        )
        .unwrap();
        assert!(matches!(ops[0], TxnOp::Create(..)));
        assert!(matches!(ops[1], TxnOp::Patch(..)));
        assert!(matches!(ops[2], TxnOp::CheckAbsent(..)));
        assert!(matches!(ops[3], TxnOp::CheckRevision(_, 7)));
    }

    #[test]
    fn a_bad_operation_is_named_by_its_index() {
        assert_eq!(
            failure(r#"{"ops":[{"op":"get","key":"a"},{"op":"create","key":"b","value":[1]}]}"#),
            (Some(1), "value must be a JSON object".into())
        );
        assert_eq!(
            failure(r#"{"ops":[{"op":"check","key":"a","revision":1,"absent":true}]}"#).0,
            Some(0)
        );
        assert!(failure(r#"{"ops":[{"op":"fly","key":"a"}]}"#)
            .1
            .contains("unknown op"));
        assert!(failure(r#"{"ops":[{"op":"get","key":""}]}"#)
            .1
            .contains("empty"));
        assert!(failure(r#"{"ops":[5]}"#)
            .1
            .contains("must be a JSON object"));
    }

    #[test]
    fn the_body_itself_and_the_operation_count_are_checked() {
        assert_eq!(
            failure(r#"{"ops":[]}"#),
            (None, "ops must not be empty".into())
        );
        let five = r#"{"ops":[{"op":"get","key":"a"},{"op":"get","key":"a"},{"op":"get","key":"a"},{"op":"get","key":"a"},{"op":"get","key":"a"}]}"#;
        assert!(failure(five)
            .1
            .starts_with("a transaction has at most 4 operations"));
        assert_eq!(failure("[]").1, "request body must be a JSON object");
    }
}
