//! The middleware every request goes through: its request id (kept in the
//! task for every log line, sent back in `X-Request-Id`), its metrics
//! (count, latency, in flight) and its access line. `/metrics` itself is
//! neither counted nor logged.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage};

use crate::access_log::{self, AccessLine, LoggedKey};
use crate::request_id::{self, REQUEST_ID};
use crate::request_metrics::{RequestMetrics, Route};

/// The middleware.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = request_id::of_request(req.headers().get(REQUEST_ID));
    let route = Route::of(req.path());
    let metrics = (!route.is_metrics())
        .then(|| req.app_data::<web::Data<RequestMetrics>>().cloned())
        .flatten();
    let logged = access_log::logs(req.path());
    let method = req.method().clone();
    if let Some(m) = &metrics {
        m.started();
    }
    let started = Instant::now();
    let result = request_id::scope(id.clone(), next.call(req)).await;
    let latency = started.elapsed();
    // Handlers answer their errors themselves; only a middleware could
    // give up with an error, which actix answers after this.
    let status = match &result {
        Ok(response) => response.status(),
        Err(err) => err.as_response_error().status_code(),
    };
    if let Some(m) = &metrics {
        m.answered(route, &method, status, latency.as_secs_f64());
    }
    let mut response = result?;
    response.headers_mut().insert(REQUEST_ID, id.header_value());
    if logged {
        let extensions = response.request().extensions();
        let line = AccessLine {
            method: &method,
            route: route.label(),
            path: response.request().path(),
            key: extensions.get::<LoggedKey>().map(|k| &k.0),
            status,
            latency,
        };
        request_id::with(id, || access_log::write(&line));
        drop(extensions);
    }
    Ok(response)
}
