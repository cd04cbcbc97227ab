//! Liveness and readiness probes; neither is rate limited nor access-logged.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::error::ApiError;
use crate::settings::LimitSettings;
use crate::storage::Storage;

/// `GET /health`: 200 while the process serves requests.
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// `GET /ready`: 200 when this gateway can do its work: Tarantool answers,
/// the gateway's user may call the kv functions, and both sides speak the
/// same protocol. 503 with the reason otherwise (also in the log).
pub async fn ready(
    storage: web::Data<Storage>,
    limits: web::Data<LimitSettings>,
) -> Result<HttpResponse, ApiError> {
    storage.ready(&limits).await.map_err(ApiError::NotReady)?;
    Ok(HttpResponse::Ok().json(json!({ "status": "ready" })))
}
