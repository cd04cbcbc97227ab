//! Liveness and readiness probes; neither is rate limited nor access-logged.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::error::ApiError;
use crate::storage::Storage;

/// `GET /health`: 200 while the process serves requests.
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// `GET /ready`: 200 when Tarantool answers a ping, 503 otherwise.
pub async fn ready(storage: web::Data<Storage>) -> Result<HttpResponse, ApiError> {
    storage.ping().await?;
    Ok(HttpResponse::Ok().json(json!({ "status": "ready" })))
}
