//! `GET /kv` parameters: prefix, limit, cursor, values and match, checked
//! and turned into what storage runs; and the opaque cursors themselves.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::ApiError;
use crate::query::Query;
use crate::settings::LimitSettings;
use crate::storage::{GlobToken, ListQuery};

/// Items on a page unless `limit` says otherwise, and the most it may say.
pub const DEFAULT_LIMIT: usize = 100;
/// See `DEFAULT_LIMIT`.
pub const MAX_LIMIT: usize = 1000;

/// What every cursor starts with: a version, so the format can change.
const CURSOR_TAG: &str = "k1.";

/// The parameters `GET /kv` takes.
pub const PARAMETERS: &[&str] = &["prefix", "limit", "cursor", "values", "match"];

/// A cursor resuming after `key`.
pub fn cursor(key: &str) -> String {
    format!("{CURSOR_TAG}{}", URL_SAFE_NO_PAD.encode(key))
}

/// The key a cursor resumes after; a 400 for anything this API did not give out.
fn resume_after(cursor: &str, max_key_bytes: usize) -> Result<String, ApiError> {
    let garbled = || {
        ApiError::InvalidParameter("cursor is not one this API gave out; start without it".into())
    };
    let encoded = cursor.strip_prefix(CURSOR_TAG).ok_or_else(garbled)?;
    let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| garbled())?;
    let key = String::from_utf8(bytes).map_err(|_| garbled())?;
    if key.is_empty() || key.len() > max_key_bytes {
        return Err(garbled());
    }
    Ok(key)
}

/// Parses `*`, `?` and `\`-escapes into tokens.
fn glob(pattern: &str) -> Result<Vec<GlobToken>, ApiError> {
    let mut tokens = Vec::new();
    let mut literal = String::new();
    let mut chars = pattern.chars();
    let flush = |literal: &mut String, tokens: &mut Vec<GlobToken>| {
        if !literal.is_empty() {
            tokens.push(GlobToken::Literal(std::mem::take(literal)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '*' => {
                flush(&mut literal, &mut tokens);
                // Runs of `*` are one `*`.
                if tokens.last() != Some(&GlobToken::AnyRun) {
                    tokens.push(GlobToken::AnyRun);
                }
            }
            '?' => {
                flush(&mut literal, &mut tokens);
                tokens.push(GlobToken::OneChar);
            }
            '\\' => match chars.next() {
                Some(escaped) => literal.push(escaped),
                None => {
                    return Err(ApiError::InvalidParameter(
                        "match ends with a \\ that escapes nothing".into(),
                    ))
                }
            },
            other => literal.push(other),
        }
    }
    flush(&mut literal, &mut tokens);
    Ok(tokens)
}

/// What a field term's name starts with: `where.slack=ann%40x.io`.
const WHERE: &str = "where.";

/// The page `GET /kv?...` asks for. With `where.<path>=` terms it is a query
/// through a field index, whose items carry values unless `values=false`.
pub fn parse(query: &str, limits: &LimitSettings) -> Result<ListQuery, ApiError> {
    let query = Query::parse_with(query, PARAMETERS, Some(WHERE))?;
    let terms: Vec<(String, String)> = query
        .family(WHERE)
        .map(|(path, value)| (path.to_owned(), value.to_owned()))
        .collect();
    let limit = match query.get("limit") {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::InvalidParameter(format!(
                    "limit must be a whole number from 1 to {MAX_LIMIT}, not {text:?}"
                ))
            })?,
    };
    let prefix = query.get("prefix").unwrap_or_default().to_owned();
    if prefix.len() > limits.max_key_bytes {
        return Err(ApiError::InvalidParameter(format!(
            "prefix is longer than {} bytes (limits.max_key_bytes)",
            limits.max_key_bytes
        )));
    }
    let pattern = query.get("match");
    if pattern.is_some_and(|p| p.len() > 4 * limits.max_key_bytes) {
        return Err(ApiError::InvalidParameter(format!(
            "match is longer than {} bytes",
            4 * limits.max_key_bytes
        )));
    }
    Ok(ListQuery {
        prefix,
        after: query
            .get("cursor")
            .map(|c| resume_after(c, limits.max_key_bytes))
            .transpose()?,
        limit,
        values: query.flag_or("values", !terms.is_empty())?,
        glob: pattern.map(glob).transpose()?,
        terms,
        scan_limit: limits.max_list_scan,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> LimitSettings {
        crate::settings::Settings::from_toml("[tarantool]\npassword = \"x\"")
            .unwrap()
            .limits
    }

    fn detail(query: &str) -> String {
        match parse(query, &limits()) {
            Err(ApiError::InvalidParameter(detail)) => detail,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_cursor_round_trips_and_anything_else_is_refused() {
        let key = "a/b c?é";
        let query = parse(&format!("cursor={}", cursor(key)), &limits()).unwrap();
        assert_eq!(query.after.as_deref(), Some(key));
        for bad in ["x", "k1.", "k1.!!", "k2.YQ", "k1.__8"] {
            assert_eq!(
                detail(&format!("cursor={bad}")),
                "cursor is not one this API gave out; start without it",
                "{bad}"
            );
        }
    }

    #[test]
    fn globs_have_stars_question_marks_and_escapes() {
        assert_eq!(
            glob(r"a*?\*\\b**").unwrap(),
            [
                GlobToken::Literal("a".into()),
                GlobToken::AnyRun,
                GlobToken::OneChar,
                GlobToken::Literal("*\\b".into()),
                GlobToken::AnyRun,
            ]
        );
        assert!(matches!(glob("ab\\"), Err(ApiError::InvalidParameter(_))));
    }

    #[test]
    fn limits_and_flags_are_checked_and_named() {
        assert_eq!(parse("", &limits()).unwrap().limit, DEFAULT_LIMIT);
        assert_eq!(parse("limit=1000", &limits()).unwrap().limit, 1000);
        for bad in ["limit=0", "limit=1001", "limit=x", "limit=-1"] {
            assert!(detail(bad).starts_with("limit must be"), "{bad}");
        }
        assert_eq!(
            detail("values=maybe"),
            "values must be true or false, not \"maybe\""
        );
        assert!(detail("ttl=5").starts_with("unknown parameter \"ttl\""));
        assert!(detail("where.=1").starts_with("unknown parameter \"where.\""));
    }

    #[test]
    fn where_terms_are_collected_and_bring_values_by_default() {
        let query = parse("where.slack=ann%40x.io&where.profile.age=42", &limits()).unwrap();
        assert_eq!(
            query.terms,
            [
                ("slack".to_owned(), "ann@x.io".to_owned()),
                ("profile.age".to_owned(), "42".to_owned())
            ]
        );
        assert!(query.values);
        assert!(!parse("where.a=1&values=false", &limits()).unwrap().values);
        assert!(!parse("prefix=a", &limits()).unwrap().values);
    }
}
