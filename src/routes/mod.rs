//! HTTP handlers, one file per area.

pub mod collection;
pub mod health;
pub mod indexes;
pub mod kv;
pub mod metrics;
pub mod txn;
pub mod watch;

use actix_web::HttpResponse;

use crate::error::ApiError;

/// Fallback for paths no route matches.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// A fallback for a resource that answers 405 with the methods it does accept.
pub fn method_not_allowed(
    allow: &'static str,
) -> impl Fn() -> std::future::Ready<Result<HttpResponse, ApiError>> + Clone + 'static {
    move || std::future::ready(Err(ApiError::MethodNotAllowed { allow }))
}
