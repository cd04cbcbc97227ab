//! A worker's handles to the HTTP series its requests have used, so that
//! counting a request costs a lookup by a small integer instead of hashing
//! its label strings in the shared families (measured: about 1% of a PUT's
//! gateway instructions).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::{Method, StatusCode};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;

use crate::metrics::{HttpLabels, Metrics, ProtocolLabels, RouteLabels};

/// Route templates, the values of the `route` label; a path matching none
/// is `other`.
const ROUTES: [&str; 11] = [
    "/kv",
    "/kv/{key}",
    "/txn",
    "/indexes",
    "/watch",
    "/ws",
    "/health",
    "/ready",
    "/metrics",
    "/openapi.json",
    "other",
];

/// Methods, the values of the `method` label.
const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other",
];

/// A request's route template: a bounded label, never the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route(usize);

impl Route {
    /// The route of `path`.
    pub fn of(path: &str) -> Route {
        let template = match path {
            "/kv" | "/kv/" => "/kv",
            p if p.starts_with("/kv/") => "/kv/{key}",
            p => p,
        };
        Route(ROUTES.iter().position(|r| *r == template).unwrap_or(10))
    }

    /// Its label value.
    pub fn label(self) -> &'static str {
        ROUTES[self.0]
    }

    /// Whether it is `/metrics`, which is neither counted nor logged.
    pub fn is_metrics(self) -> bool {
        self.label() == "/metrics"
    }
}

fn method_index(method: &Method) -> usize {
    METHODS
        .iter()
        .position(|m| *m == method.as_str())
        .unwrap_or(METHODS.len() - 1)
}

/// The series of one route, method and status.
struct Series {
    requests: Counter,
    duration: Histogram,
}

/// One worker's view of the HTTP metrics.
pub struct RequestMetrics {
    metrics: Arc<Metrics>,
    seen: RefCell<HashMap<u32, Series>>,
}

impl RequestMetrics {
    /// A worker's view of `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> RequestMetrics {
        RequestMetrics {
            metrics,
            seen: RefCell::default(),
        }
    }

    /// A request has started.
    pub fn started(&self) {
        self.metrics.http_in_flight.inc();
    }

    /// A request has been answered with `status` after `seconds`.
    pub fn answered(&self, route: Route, method: &Method, status: StatusCode, seconds: f64) {
        self.metrics.http_in_flight.dec();
        let method = method_index(method);
        let id = (route.0 as u32) << 24 | (method as u32) << 16 | u32::from(status.as_u16());
        let mut seen = self.seen.borrow_mut();
        let series = seen.entry(id).or_insert_with(|| {
            let (route, method) = (route.label(), METHODS[method]);
            let status = status.as_u16();
            let http = &self.metrics.http_requests;
            Series {
                requests: http.get_or_create_owned(&HttpLabels {
                    route,
                    method,
                    status,
                }),
                duration: self
                    .metrics
                    .http_duration
                    .get_or_create_owned(&RouteLabels { route, method }),
            }
        });
        series.requests.inc();
        series.duration.observe(seconds);
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.metrics
                .rate_limited
                .get_or_create(&ProtocolLabels { protocol: "http" })
                .inc();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_templates_and_unknown_paths_one_label() {
        assert_eq!(Route::of("/kv/a/b%2Fc").label(), "/kv/{key}");
        assert_eq!(Route::of("/kv").label(), "/kv");
        assert_eq!(Route::of("/kv/").label(), "/kv");
        assert_eq!(Route::of("/watch").label(), "/watch");
        assert_eq!(Route::of("/nowhere/123").label(), "other");
        assert!(Route::of("/metrics").is_metrics());
        let brew = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(METHODS[method_index(&brew)], "other");
        assert_eq!(METHODS[method_index(&Method::PATCH)], "PATCH");
    }

    #[test]
    fn a_cached_series_is_the_shared_one() {
        let metrics = Metrics::new();
        let worker = RequestMetrics::new(Arc::clone(&metrics));
        for _ in 0..3 {
            worker.started();
            worker.answered(Route::of("/kv/a"), &Method::GET, StatusCode::OK, 0.001);
        }
        worker.started();
        worker.answered(
            Route::of("/kv/a"),
            &Method::GET,
            StatusCode::TOO_MANY_REQUESTS,
            0.0,
        );
        let text = metrics.render();
        let line = r#"kv_http_requests_total{route="/kv/{key}",method="GET",status="200"} 3"#;
        assert!(text.contains(line), "{text}");
        assert!(text.contains(r#"kv_rate_limited_total{protocol="http"} 1"#));
        assert!(text.contains("kv_http_requests_in_flight 0"));
    }
}
