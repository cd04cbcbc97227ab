//! `ETag`, `If-Match` and `If-None-Match` (RFC 9110 sections 8.8.3 and 13):
//! a record's entity tag is its revision, quoted, and a strong validator.

use actix_web::http::header::{HeaderName, HeaderValue, IF_MATCH, IF_NONE_MATCH};
use actix_web::HttpRequest;

use crate::error::ApiError;
use crate::storage::{IfMatch, Revision};

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
    let mut lines = req.headers().get_all(&name).peekable();
    if lines.peek().is_none() {
        return Ok(None);
    }
    let invalid = |why: &str| {
        ApiError::InvalidHeader(format!(
            "{name}: {why}; expected * or a comma-separated list of entity tags such as \"5\" or W/\"5\""
        ))
    };
    let mut tags = Vec::new();
    let mut any = false;
    for line in lines {
        let text = line.to_str().map_err(|_| invalid("not visible ASCII"))?;
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
        (true, true) => Ok(Some(Tags::Any)),
        (true, false) => Err(invalid("* cannot be combined with tags")),
        (false, true) => Err(invalid("it is empty")),
        (false, false) => Ok(Some(Tags::List(tags))),
    }
}

/// The request's `If-Match` as storage takes it. Strong comparison: a weak
/// tag, or a tag that is not a revision of ours, never matches.
pub fn if_match(req: &HttpRequest) -> Result<Option<IfMatch>, ApiError> {
    Ok(parse(req, IF_MATCH)?.map(|tags| match tags {
        Tags::Any => IfMatch::Any,
        Tags::List(tags) => IfMatch::Revisions(
            tags.iter()
                .filter(|tag| !tag.weak)
                .filter_map(EntityTag::revision)
                .collect(),
        ),
    }))
}

/// Whether the request's `If-None-Match` matches a record at `revision`
/// (weak comparison, as GET and HEAD use it): then the answer is 304.
pub fn none_match_hits(req: &HttpRequest, revision: Revision) -> Result<bool, ApiError> {
    Ok(match parse(req, IF_NONE_MATCH)? {
        None => false,
        Some(Tags::Any) => true,
        Some(Tags::List(tags)) => tags.iter().any(|tag| tag.revision() == Some(revision)),
    })
}

/// Whether the request says `If-None-Match: *` (create only, for PUT); any
/// other `If-None-Match` on a write is refused rather than ignored.
pub fn none_match_any(req: &HttpRequest) -> Result<bool, ApiError> {
    match parse(req, IF_NONE_MATCH)? {
        None => Ok(false),
        Some(Tags::Any) => Ok(true),
        Some(Tags::List(_)) => Err(ApiError::InvalidHeader(
            "If-None-Match on a write takes only * (create if absent); use If-Match for revisions"
                .into(),
        )),
    }
}

/// Refuses an `If-None-Match` where it has no meaning here (DELETE, PATCH).
pub fn no_none_match(req: &HttpRequest) -> Result<(), ApiError> {
    match parse(req, IF_NONE_MATCH)? {
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
        let req = request(IF_NONE_MATCH, &["W/\"5\""]);
        assert!(none_match_hits(&req, 5).unwrap());
        assert!(!none_match_hits(&req, 6).unwrap());
        assert!(none_match_hits(&request(IF_NONE_MATCH, &["*"]), 1).unwrap());
        assert!(matches!(
            none_match_any(&request(IF_NONE_MATCH, &["\"5\""])),
            Err(ApiError::InvalidHeader(_))
        ));
    }
}
