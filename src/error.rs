//! `ApiError`: the one place where failures become HTTP statuses and JSON bodies.

use actix_web::http::header::{ContentType, ALLOW, RETRY_AFTER};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::key::KeyError;
use crate::patch_body::{ACCEPT_PATCH, PATCH_FORMATS};
use crate::storage::{FieldRefusal, StorageError};

/// Seconds a client is asked to wait after a 503.
const UNAVAILABLE_RETRY_AFTER_SECS: u32 = 1;

/// Every way a request can fail, each with one status and one body shape.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The POST/PUT body is not what the API accepts.
    #[error("invalid request body")]
    InvalidBody(String),
    /// The key in the path is not acceptable.
    #[error("invalid key")]
    InvalidKey(#[source] KeyError),
    /// No record has this key.
    #[error("key not found")]
    KeyNotFound,
    /// A create found the key already taken.
    #[error("key already exists")]
    KeyExists,
    /// The body is over `limits.max_body_bytes`, or the record over Tarantool's tuple limit.
    #[error("payload too large")]
    PayloadTooLarge,
    /// The client is over its rate limit.
    #[error("too many requests")]
    TooManyRequests,
    /// The request body did not arrive in time, or too slowly.
    #[error("request timeout")]
    RequestTimeout,
    /// Tarantool is out of memory for data.
    #[error("insufficient storage")]
    InsufficientStorage(#[source] StorageError),
    /// Tarantool is unreachable, read-only or too slow: worth a retry.
    #[error("storage unavailable")]
    StorageUnavailable(#[source] StorageError),
    /// `/ready` found the gateway unable to do its work; the detail says why.
    #[error("storage unavailable")]
    NotReady(#[source] StorageError),
    /// A failure a retry will not fix (protocol, permission, Lua error).
    #[error("internal error")]
    Internal(#[source] StorageError),
    /// No route matches the path.
    #[error("not found")]
    NotFound,
    /// The path exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed {
        /// The methods the path does accept, for the `Allow` header.
        allow: &'static str,
    },
    /// A request header (such as `If-Match`) is malformed or out of place.
    #[error("invalid header")]
    InvalidHeader(String),
    /// A query parameter is unknown or has a bad value.
    #[error("invalid parameter")]
    InvalidParameter(String),
    /// An `If-Match` or `If-None-Match` did not hold; nothing changed.
    #[error("precondition failed")]
    PreconditionFailed,
    /// A patch cannot apply to the current value; nothing changed.
    #[error("patch conflict")]
    PatchConflict(String),
    /// A unique field's value belongs to another record; nothing changed.
    #[error("field value already taken")]
    FieldTaken(String),
    /// A query names no field with a declared index.
    #[error("field not indexed")]
    FieldNotIndexed(String),
    /// `DELETE /kv` without a prefix, while `api.allow_delete_all` is off.
    #[error("deleting every key is disabled")]
    DeleteAllDisabled,
    /// A `PATCH` in a media type not taken (see `Accept-Patch`).
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// A watch asked for changes the change feed no longer holds all of
    /// (or for a revision after the store's last).
    #[error("revision compacted")]
    RevisionCompacted {
        /// The first revision the feed has every change from.
        oldest: u64,
    },
    /// `watch.max_watchers` streams are open already.
    #[error("too many watchers")]
    TooManyWatchers(usize),
    /// Operation `op` of a transaction failed so; nothing was applied.
    #[error("{error}")]
    InTxn {
        /// The failing operation's index.
        op: usize,
        /// What it met.
        error: Box<ApiError>,
    },
}

impl ApiError {
    /// The `detail` field of the body, where there is one worth showing.
    fn detail(&self) -> Option<String> {
        match self {
            ApiError::InvalidBody(detail)
            | ApiError::InvalidHeader(detail)
            | ApiError::InvalidParameter(detail)
            | ApiError::PatchConflict(detail)
            | ApiError::FieldNotIndexed(detail) => Some(detail.clone()),
            ApiError::InvalidKey(err) => Some(err.to_string()),
            ApiError::NotReady(err) => Some(err.to_string()),
            ApiError::TooManyWatchers(max) => Some(format!(
                "this gateway serves at most {max} watchers (watch.max_watchers); try again later"
            )),
            ApiError::InTxn { error, .. } => error.detail(),
            _ => None,
        }
    }

    /// The `code` field of a 503: whether the request may have been applied.
    fn code(&self) -> Option<&'static str> {
        match self {
            ApiError::StorageUnavailable(StorageError::OutcomeUnknown(_)) => {
                Some("outcome_unknown")
            }
            ApiError::StorageUnavailable(_) => Some("not_applied"),
            ApiError::InTxn { error, .. } => error.code(),
            _ => None,
        }
    }

    /// The error a transaction's failing operation stands for, if this is one.
    fn innermost(&self) -> &ApiError {
        match self {
            ApiError::InTxn { error, .. } => error.innermost(),
            other => other,
        }
    }

    /// The status and the exact JSON body of this error: what HTTP sends
    /// and what a transaction or a WebSocket reply carries.
    pub fn status_and_body(&self) -> (StatusCode, Vec<u8>) {
        let body = ErrorBody {
            error: self.to_string(),
            detail: self.detail(),
            code: self.code(),
            field: match self.innermost() {
                ApiError::FieldTaken(field) => Some(field.clone()),
                _ => None,
            },
            op: match self {
                ApiError::InTxn { op, .. } => Some(*op),
                _ => None,
            },
            oldest: match self {
                ApiError::RevisionCompacted { oldest } => Some(*oldest),
                _ => None,
            },
        };
        // Serialising strings and numbers cannot fail.
        (
            self.status_code(),
            serde_json::to_vec(&body).unwrap_or_default(),
        )
    }
}

impl From<FieldRefusal> for ApiError {
    fn from(refusal: FieldRefusal) -> Self {
        match refusal {
            FieldRefusal::InvalidValue(why) => ApiError::InvalidBody(why),
            FieldRefusal::Taken(field) => ApiError::FieldTaken(field),
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::TooLarge => ApiError::PayloadTooLarge,
            StorageError::NoSpace => ApiError::InsufficientStorage(err),
            StorageError::Internal(_) => ApiError::Internal(err),
            StorageError::NotApplied(_)
            | StorageError::OutcomeUnknown(_)
            | StorageError::ReadOnly => ApiError::StorageUnavailable(err),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::InvalidBody(_)
            | ApiError::InvalidKey(_)
            | ApiError::InvalidHeader(_)
            | ApiError::InvalidParameter(_) => StatusCode::BAD_REQUEST,
            ApiError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ApiError::PatchConflict(_) | ApiError::FieldTaken(_) => StatusCode::CONFLICT,
            ApiError::FieldNotIndexed(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::DeleteAllDisabled => StatusCode::FORBIDDEN,
            ApiError::InTxn { error, .. } => error.status_code(),
            ApiError::KeyNotFound | ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::KeyExists => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::InsufficientStorage(_) => StatusCode::INSUFFICIENT_STORAGE,
            ApiError::StorageUnavailable(_)
            | ApiError::NotReady(_)
            | ApiError::TooManyWatchers(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::RevisionCompacted { .. } => StatusCode::GONE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            log::error!("{}", error_chain(self));
        } else {
            log::debug!("{}: {}", status.as_u16(), error_chain(self));
        }
        let (_, body) = self.status_and_body();
        let mut response = HttpResponse::build(status);
        response.insert_header(ContentType::json());
        match self.innermost() {
            ApiError::StorageUnavailable(_)
            | ApiError::NotReady(_)
            | ApiError::InsufficientStorage(_)
            | ApiError::TooManyWatchers(_) => {
                response.insert_header((RETRY_AFTER, UNAVAILABLE_RETRY_AFTER_SECS));
            }
            ApiError::MethodNotAllowed { allow } => {
                response.insert_header((ALLOW, *allow));
            }
            // The rest of the body is still on its way: the connection
            // cannot carry another request.
            ApiError::RequestTimeout | ApiError::PayloadTooLarge => {
                response.force_close();
            }
            ApiError::UnsupportedMediaType => {
                response.insert_header((ACCEPT_PATCH, PATCH_FORMATS));
            }
            _ => {}
        }
        response.body(body)
    }
}

/// The one shape of every error body: `error` first, then `detail`,
/// `code`, `field`, (in a transaction) `op` and (for a compacted revision)
/// `oldest` where there are any.
#[derive(serde::Serialize)]
struct ErrorBody {
    error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    op: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oldest: Option<u64>,
}

/// The error and all its causes on one line, for the log.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;
    use serde_json::json;

    fn body_of(err: &ApiError) -> serde_json::Value {
        let bytes = err.error_response().into_body().try_into_bytes().unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn every_error_has_its_status_and_body() {
        let cases = [
            (
                ApiError::InvalidBody("x".into()),
                400,
                json!({"error": "invalid request body", "detail": "x"}),
            ),
            (
                ApiError::InvalidKey(KeyError::Empty),
                400,
                json!({"error": "invalid key", "detail": "key must not be empty"}),
            ),
            (
                ApiError::KeyNotFound,
                404,
                json!({"error": "key not found"}),
            ),
            (
                ApiError::KeyExists,
                409,
                json!({"error": "key already exists"}),
            ),
            (
                ApiError::PayloadTooLarge,
                413,
                json!({"error": "payload too large"}),
            ),
            (
                ApiError::TooManyRequests,
                429,
                json!({"error": "too many requests"}),
            ),
            (
                ApiError::InsufficientStorage(StorageError::NoSpace),
                507,
                json!({"error": "insufficient storage"}),
            ),
            (
                ApiError::StorageUnavailable(StorageError::OutcomeUnknown("t".into())),
                503,
                json!({"error": "storage unavailable", "code": "outcome_unknown"}),
            ),
            (
                ApiError::StorageUnavailable(StorageError::NotApplied("down".into())),
                503,
                json!({"error": "storage unavailable", "code": "not_applied"}),
            ),
            (
                ApiError::StorageUnavailable(StorageError::ReadOnly),
                503,
                json!({"error": "storage unavailable", "code": "not_applied"}),
            ),
            (
                ApiError::NotReady(StorageError::Internal("protocol 1".into())),
                503,
                json!({"error": "storage unavailable", "detail": "protocol 1"}),
            ),
            (
                ApiError::Internal(StorageError::Internal("denied".into())),
                500,
                json!({"error": "internal error"}),
            ),
            (ApiError::NotFound, 404, json!({"error": "not found"})),
            (
                ApiError::InvalidHeader("x".into()),
                400,
                json!({"error": "invalid header", "detail": "x"}),
            ),
            (
                ApiError::InvalidParameter("y".into()),
                400,
                json!({"error": "invalid parameter", "detail": "y"}),
            ),
            (
                ApiError::PreconditionFailed,
                412,
                json!({"error": "precondition failed"}),
            ),
            (
                ApiError::PatchConflict("z".into()),
                409,
                json!({"error": "patch conflict", "detail": "z"}),
            ),
            (
                ApiError::FieldTaken("slack".into()),
                409,
                json!({"error": "field value already taken", "field": "slack"}),
            ),
            (
                ApiError::FieldNotIndexed("indexed fields: a".into()),
                400,
                json!({"error": "field not indexed", "detail": "indexed fields: a"}),
            ),
            (
                ApiError::InTxn {
                    op: 2,
                    error: Box::new(ApiError::FieldTaken("slack".into())),
                },
                409,
                json!({"error": "field value already taken", "field": "slack", "op": 2}),
            ),
            (
                ApiError::DeleteAllDisabled,
                403,
                json!({"error": "deleting every key is disabled"}),
            ),
            (
                ApiError::UnsupportedMediaType,
                415,
                json!({"error": "unsupported media type"}),
            ),
            (
                ApiError::InTxn {
                    op: 1,
                    error: Box::new(ApiError::KeyExists),
                },
                409,
                json!({"error": "key already exists", "op": 1}),
            ),
            (
                ApiError::RequestTimeout,
                408,
                json!({"error": "request timeout"}),
            ),
            (
                ApiError::MethodNotAllowed { allow: "GET" },
                405,
                json!({"error": "method not allowed"}),
            ),
        ];
        for (err, status, body) in cases {
            assert_eq!(err.status_code().as_u16(), status, "{err:?}");
            assert_eq!(body_of(&err), body, "{err:?}");
        }
    }

    #[test]
    fn the_error_field_comes_before_the_detail() {
        let bytes = ApiError::InvalidBody("x".into())
            .error_response()
            .into_body()
            .try_into_bytes()
            .unwrap();
        assert_eq!(
            &bytes[..],
            br#"{"error":"invalid request body","detail":"x"}"#
        );
    }

    #[test]
    fn unavailable_storage_asks_the_client_to_retry_and_an_internal_error_does_not() {
        let response =
            ApiError::StorageUnavailable(StorageError::OutcomeUnknown("t".into())).error_response();
        assert_eq!(response.headers().get(RETRY_AFTER).unwrap(), "1");
        let response = ApiError::Internal(StorageError::Internal("lua".into())).error_response();
        assert!(response.headers().get(RETRY_AFTER).is_none());
    }

    #[test]
    fn method_not_allowed_lists_the_allowed_methods() {
        let response = ApiError::MethodNotAllowed { allow: "GET, PUT" }.error_response();
        assert_eq!(response.headers().get(ALLOW).unwrap(), "GET, PUT");
    }

    #[test]
    fn server_errors_never_echo_their_cause() {
        let err = ApiError::Internal(StorageError::Internal("secret internals".into()));
        assert!(!body_of(&err).to_string().contains("secret"));
        assert!(error_chain(&err).contains("secret internals"));
    }

    #[test]
    fn storage_outcomes_map_to_their_http_errors() {
        assert!(matches!(
            ApiError::from(StorageError::TooLarge),
            ApiError::PayloadTooLarge
        ));
        assert!(matches!(
            ApiError::from(StorageError::NoSpace),
            ApiError::InsufficientStorage(_)
        ));
        assert!(matches!(
            ApiError::from(StorageError::NotApplied("down".into())),
            ApiError::StorageUnavailable(_)
        ));
        assert!(matches!(
            ApiError::from(StorageError::Internal("lua".into())),
            ApiError::Internal(_)
        ));
    }
}
