//! `PATCH` bodies: the media type picks the format, and the document is
//! checked and encoded here, once; Tarantool applies it.

use actix_web::http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use actix_web::HttpRequest;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::error::ApiError;
use crate::json_numbers::check_integer_range;
use crate::storage::incoming::AnyValue;
use crate::storage::{JsonPatchOp, Patch};

/// `Accept-Patch` (RFC 5789), sent with every `/kv/{key}` response.
pub const ACCEPT_PATCH: HeaderName = HeaderName::from_static("accept-patch");

/// Its value: the patch formats `PATCH /kv/{key}` takes.
pub const PATCH_FORMATS: HeaderValue =
    HeaderValue::from_static("application/merge-patch+json, application/json-patch+json");

/// The formats a patch comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchFormat {
    /// RFC 7396 JSON Merge Patch.
    Merge,
    /// RFC 6902 JSON Patch.
    Json,
}

/// The format the request's `Content-Type` names. A merge patch also comes
/// as `application/json`, as what `curl -d` sends, or with no type at all.
pub fn format_of(req: &HttpRequest) -> Result<PatchFormat, ApiError> {
    let Some(value) = req.headers().get(CONTENT_TYPE) else {
        return Ok(PatchFormat::Merge);
    };
    let essence = value
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/merge-patch+json"
        | "application/json"
        | "application/x-www-form-urlencoded" => Ok(PatchFormat::Merge),
        "application/json-patch+json" => Ok(PatchFormat::Json),
        _ => Err(ApiError::UnsupportedMediaType),
    }
}

/// Parses a patch document of `format`.
pub fn parse(body: &[u8], format: PatchFormat) -> Result<Patch, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::InvalidBody("request body is empty".into()));
    }
    let invalid = |e: serde_json::Error| ApiError::InvalidBody(e.to_string());
    let patch = match format {
        PatchFormat::Merge => {
            let AnyValue(doc) = serde_json::from_slice(body).map_err(invalid)?;
            Patch::Merge(doc)
        }
        PatchFormat::Json => {
            let ops: Vec<Box<RawValue>> = serde_json::from_slice(body).map_err(|_| {
                ApiError::InvalidBody("a JSON Patch is an array of operation objects".into())
            })?;
            let ops = ops
                .iter()
                .enumerate()
                .map(|(i, op)| {
                    json_patch_op(op)
                        .map_err(|why| ApiError::InvalidBody(format!("operation {i}: {why}")))
                })
                .collect::<Result<_, _>>()?;
            Patch::Json(ops)
        }
    };
    check_integer_range(body).map_err(ApiError::InvalidBody)?;
    Ok(patch)
}

#[derive(Deserialize)]
#[serde(expecting = "an object with \"op\" and \"path\"")]
struct RawOp {
    op: String,
    path: String,
    from: Option<String>,
    // `"value": null` is a value; only a missing one is none.
    #[serde(default, deserialize_with = "present")]
    value: Option<AnyValue>,
}

fn present<'de, D: Deserializer<'de>>(de: D) -> Result<Option<AnyValue>, D::Error> {
    AnyValue::deserialize(de).map(Some)
}

fn json_patch_op(raw: &RawValue) -> Result<JsonPatchOp, String> {
    if !raw.get().starts_with('{') {
        return Err("an operation must be an object".into());
    }
    let RawOp {
        op,
        path,
        from,
        value,
    } = serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
    let op = match op.as_str() {
        "add" => "add",
        "remove" => "remove",
        "replace" => "replace",
        "move" => "move",
        "copy" => "copy",
        "test" => "test",
        other => return Err(format!("unknown op {other:?}")),
    };
    let path = pointer(&path).map_err(|why| format!("path: {why}"))?;
    let from = match (op, from) {
        ("move" | "copy", Some(from)) => {
            Some(pointer(&from).map_err(|why| format!("from: {why}"))?)
        }
        ("move" | "copy", None) => return Err(format!("{op} needs \"from\"")),
        _ => None,
    };
    let value = match (op, value) {
        ("add" | "replace" | "test", Some(value)) => Some(value.0),
        ("add" | "replace" | "test", None) => return Err(format!("{op} needs \"value\"")),
        _ => None,
    };
    Ok(JsonPatchOp {
        op,
        path,
        from,
        value,
    })
}

/// The reference tokens of a JSON Pointer (RFC 6901), unescaped.
fn pointer(text: &str) -> Result<Vec<String>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let rest = text
        .strip_prefix('/')
        .ok_or_else(|| format!("{text:?} is not a JSON Pointer (it must start with /)"))?;
    rest.split('/').map(unescape).collect()
}

fn unescape(token: &str) -> Result<String, String> {
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => return Err(format!("{token:?} has a ~ that is not ~0 or ~1")),
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn detail(result: Result<Patch, ApiError>) -> String {
        match result {
            Err(ApiError::InvalidBody(detail)) => detail,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_media_type_picks_the_format() {
        let of = |ct: Option<&str>| {
            let mut req = TestRequest::default();
            if let Some(ct) = ct {
                req = req.insert_header((CONTENT_TYPE, ct));
            }
            format_of(&req.to_http_request())
        };
        assert_eq!(of(None).unwrap(), PatchFormat::Merge);
        assert_eq!(of(Some("application/json")).unwrap(), PatchFormat::Merge);
        assert_eq!(
            of(Some("Application/Merge-Patch+JSON; charset=utf-8")).unwrap(),
            PatchFormat::Merge
        );
        assert_eq!(
            of(Some("application/x-www-form-urlencoded")).unwrap(),
            PatchFormat::Merge
        );
        assert_eq!(
            of(Some("application/json-patch+json")).unwrap(),
            PatchFormat::Json
        );
        assert!(matches!(
            of(Some("text/plain")),
            Err(ApiError::UnsupportedMediaType)
        ));
    }

    #[test]
    fn pointers_are_split_and_unescaped() {
        assert_eq!(pointer("").unwrap(), Vec::<String>::new());
        assert_eq!(pointer("/a~1b/~0c/0/").unwrap(), ["a/b", "~c", "0", ""]);
        assert!(pointer("a").is_err());
        assert!(pointer("/a~2").is_err());
    }

    #[test]
    fn json_patch_operations_are_checked() {
        let ok = parse(
            br#"[{"op":"add","path":"/a","value":null},{"op":"move","from":"/a","path":"/b"}]"#,
            PatchFormat::Json,
        )
        .unwrap();
        let Patch::Json(ops) = ok else { panic!() };
        assert_eq!(ops[0].value.as_ref().unwrap().as_bytes(), [0xc0]);
        assert_eq!(ops[1].from.as_deref(), Some(&["a".to_owned()][..]));
        for (body, part) in [
            (&br#"{"op":"add"}"#[..], "array of operation objects"),
            (br#"[1]"#, "operation 0: an operation must be an object"),
            (br#"[{"op":"add","path":"/a"}]"#, "add needs \"value\""),
            (br#"[{"op":"copy","path":"/a"}]"#, "copy needs \"from\""),
            (br#"[{"op":"jump","path":"/a"}]"#, "unknown op"),
            (br#"[{"op":"remove","path":"a"}]"#, "must start with /"),
            (br#"[{"op":"remove"}]"#, "missing field `path`"),
        ] {
            let got = detail(parse(body, PatchFormat::Json));
            assert!(got.contains(part), "{got}");
        }
    }

    #[test]
    fn a_merge_patch_is_any_json_value_by_the_same_rules() {
        assert!(matches!(
            parse(b"[1]", PatchFormat::Merge),
            Ok(Patch::Merge(_))
        ));
        assert!(detail(parse(br#"{"a":1,"a":2}"#, PatchFormat::Merge)).contains("duplicate"));
        assert!(
            detail(parse(br#"{"a":99999999999999999999}"#, PatchFormat::Merge))
                .contains("out of range")
        );
        assert_eq!(
            detail(parse(b"  ", PatchFormat::Merge)),
            "request body is empty"
        );
    }
}
