//! `ETag`, `If-Match` and `If-None-Match` (RFC 9110 sections 8.8.3 and 13):
//! a record's entity tag is its revision, quoted, and a strong validator.

use actix_web::http::header::{HeaderName, HeaderValue, IF_MATCH, IF_NONE_MATCH};
use actix_web::HttpRequest;

use crate::error::ApiError;
use crate::storage::{IfMatch, PutMode, Revision};

/// The `ETag` value of a record at `revision`: `"5"`.
pub fn etag(revision: Revision) -> HeaderValue {
    // Digits and quotes are always a valid header value.
    HeaderValue::from_str(&format!("\"{revision}\"")).unwrap_or(HeaderValue::from_static("\"\""))
}

/// One entity tag of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
struct EntityTag {
    weak: bool,
    opaque: String,
}

impl EntityTag {
    /// The revision this tag names, if it is one of ours.
    fn revision(&self) -> Option<Revision> {
        let digits = &self.opaque;
        let canonical = !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'));
        canonical.then(|| digits.parse().ok()).flatten()
    }
}

/// A parsed `If-Match` or `If-None-Match`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tags {
    Any,
    List(Vec<EntityTag>),
}

/// The value of the precondition header `name`, if sent: `*` or a list of
/// entity tags (several header lines make one list).
fn parse(req: &HttpRequest, name: HeaderName) -> Result<Option<Tags>, ApiError> {
    let mut texts = Vec::new();
    for line in req.headers().get_all(&name) {
        texts.push(
            line.to_str()
                .map_err(|_| invalid(name.as_str(), "not visible ASCII"))?,
        );
    }
    if texts.is_empty() {
        return Ok(None);
    }
    parse_lines(name.as_str(), &texts).map(Some)
}

fn invalid(name: &str, why: &str) -> ApiError {
    ApiError::InvalidHeader(format!(
        "{name}: {why}; expected * or a comma-separated list of entity tags such as \"5\" or W/\"5\""
    ))
}

/// `*` or a list of entity tags, from the lines of a header (or a field)
/// called `name`.
fn parse_lines(name: &str, lines: &[&str]) -> Result<Tags, ApiError> {
    let invalid = |why: &str| invalid(name, why);
    let mut tags = Vec::new();
    let mut any = false;
    for text in lines {
        let mut rest = text.trim();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('*') {
                any = true;
                rest = after;
            } else {
                let (weak, quoted) = match rest.strip_prefix("W/") {
                    Some(after) => (true, after),
                    None => (false, rest),
                };
                let body = quoted
                    .strip_prefix('"')
                    .ok_or_else(|| invalid("a tag is not quoted"))?;
                let end = body
                    .find('"')
                    .ok_or_else(|| invalid("a tag is not closed"))?;
                let opaque = &body[..end];
                if !opaque
                    .bytes()
                    .all(|b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80)
                {
                    return Err(invalid("a tag holds a character tags may not"));
                }
                tags.push(EntityTag {
                    weak,
                    opaque: opaque.to_owned(),
                });
                rest = &body[end + 1..];
            }
            rest = rest.trim_start();
            if let Some(after) = rest.strip_prefix(',') {
                rest = after.trim_start();
                if rest.is_empty() {
                    return Err(invalid("a list ends with a comma"));
                }
            } else if !rest.is_empty() {
                return Err(invalid("tags must be separated by commas"));
            }
        }
    }
    match (any, tags.is_empty()) {
        (true, true) => Ok(Tags::Any),
        (true, false) => Err(invalid("* cannot be combined with tags")),
        (false, true) => Err(invalid("it is empty")),
        (false, false) => Ok(Tags::List(tags)),
    }
}

/// A parsed `If-None-Match`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoneMatch(Tags);

impl NoneMatch {
    /// Whether it matches a record at `revision` (weak comparison, as GET
    /// and HEAD use it): then the answer is 304.
    pub fn hits(&self, revision: Revision) -> bool {
        match &self.0 {
            Tags::Any => true,
            Tags::List(tags) => tags.iter().any(|tag| tag.revision() == Some(revision)),
        }
    }
}

fn if_match_of(tags: Tags) -> IfMatch {
    match tags {
        Tags::Any => IfMatch::Any,
        Tags::List(tags) => IfMatch::Revisions(
            tags.iter()
                .filter(|tag| !tag.weak)
                .filter_map(EntityTag::revision)
                .collect(),
        ),
    }
}

/// The request's `If-Match` as storage takes it. Strong comparison: a weak
/// tag, or a tag that is not a revision of ours, never matches.
pub fn if_match(req: &HttpRequest) -> Result<Option<IfMatch>, ApiError> {
    Ok(parse(req, IF_MATCH)?.map(if_match_of))
}

/// The request's `If-None-Match`.
pub fn none_match(req: &HttpRequest) -> Result<Option<NoneMatch>, ApiError> {
    Ok(parse(req, IF_NONE_MATCH)?.map(NoneMatch))
}

/// An `If-Match` given as the text of a message field called `name`.
pub fn if_match_text(name: &str, text: &str) -> Result<IfMatch, ApiError> {
    parse_lines(name, &[text]).map(if_match_of)
}

/// An `If-None-Match` given as the text of a message field called `name`.
pub fn none_match_text(name: &str, text: &str) -> Result<NoneMatch, ApiError> {
    parse_lines(name, &[text]).map(NoneMatch)
}

/// How a PUT writes: `If-None-Match: *` creates only, `upsert` creates or
/// replaces, else it replaces only. Any other `If-None-Match` on a write is
/// refused rather than ignored.
pub fn put_mode(none_match: Option<&NoneMatch>, upsert: bool) -> Result<PutMode, ApiError> {
    match none_match {
        Some(NoneMatch(Tags::Any)) => Ok(PutMode::Create),
        Some(NoneMatch(Tags::List(_))) => Err(ApiError::InvalidHeader(
            "If-None-Match on a write takes only * (create if absent); use If-Match for revisions"
                .into(),
        )),
        None if upsert => Ok(PutMode::Upsert),
        None => Ok(PutMode::Update),
    }
}

/// Refuses an `If-None-Match` where it has no meaning (DELETE, PATCH).
pub fn no_none_match(none_match: Option<&NoneMatch>) -> Result<(), ApiError> {
    match none_match {
        None => Ok(()),
        Some(_) => Err(ApiError::InvalidHeader(
            "If-None-Match is taken on GET, HEAD and (as *) on PUT; use If-Match here".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn request(name: HeaderName, values: &[&str]) -> HttpRequest {
        let mut req = TestRequest::default();
        for value in values {
            req = req.append_header((name.clone(), *value));
        }
        req.to_http_request()
    }

    fn if_match_of(values: &[&str]) -> Result<Option<IfMatch>, ApiError> {
        if_match(&request(IF_MATCH, values))
    }

    #[test]
    fn an_etag_is_the_quoted_revision() {
        assert_eq!(etag(42), "\"42\"");
    }

    #[test]
    fn if_match_takes_star_lists_and_several_lines() {
        assert_eq!(if_match_of(&[]).unwrap(), None);
        assert_eq!(if_match_of(&["*"]).unwrap(), Some(IfMatch::Any));
        assert_eq!(
            if_match_of(&["\"5\", \"7\"", "\"9\""]).unwrap(),
            Some(IfMatch::Revisions(vec![5, 7, 9]))
        );
    }

    #[test]
    fn weak_and_foreign_tags_never_match_if_match() {
        assert_eq!(
            if_match_of(&["W/\"5\", \"abc\", \"05\", \"\""]).unwrap(),
            Some(IfMatch::Revisions(vec![]))
        );
    }

    #[test]
    fn malformed_tags_are_invalid_headers() {
        for bad in [
            "5",
            "\"5",
            "\"5\" \"6\"",
            "\"5\",",
            "*, \"5\"",
            "",
            "W/5",
            "\"a b\"",
        ] {
            assert!(
                matches!(if_match_of(&[bad]), Err(ApiError::InvalidHeader(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn if_none_match_compares_weakly() {
        let hits = |values: &[&str], revision| {
            none_match(&request(IF_NONE_MATCH, values))
                .unwrap()
                .unwrap()
                .hits(revision)
        };
        assert!(hits(&["W/\"5\""], 5));
        assert!(!hits(&["W/\"5\""], 6));
        assert!(hits(&["*"], 1));
        let listed = none_match_text("if_none_match", "\"5\"").unwrap();
        assert!(matches!(
            put_mode(Some(&listed), false),
            Err(ApiError::InvalidHeader(_))
        ));
        let any = none_match_text("if_none_match", "*").unwrap();
        assert_eq!(put_mode(Some(&any), true).unwrap(), PutMode::Create);
        assert_eq!(put_mode(None, true).unwrap(), PutMode::Upsert);
        assert!(no_none_match(Some(&any)).is_err());
    }

    #[test]
    fn message_fields_parse_like_headers() {
        assert_eq!(
            if_match_text("if_match", "\"3\", W/\"4\"").unwrap(),
            IfMatch::Revisions(vec![3])
        );
        match if_match_text("if-match", "3") {
            Err(ApiError::InvalidHeader(detail)) => assert!(detail.starts_with("if-match: ")),
            other => panic!("{other:?}"),
        }
    }
}
