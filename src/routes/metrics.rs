//! `GET /metrics`: every metric in the OpenMetrics text format (what
//! prometheus-client writes, and Prometheus scrapes); neither rate limited
//! nor access-logged.

use actix_web::http::header::{HeaderValue, CONTENT_TYPE};
use actix_web::{web, HttpResponse};

use crate::metrics::Metrics;

/// The content type of the OpenMetrics text this produces.
const TEXT_FORMAT: HeaderValue =
    HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8");

/// The exposition text.
pub async fn metrics(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, TEXT_FORMAT))
        .body(metrics.render())
}
