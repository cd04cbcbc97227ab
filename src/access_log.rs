//! One access-log line per request: method, path, key, status and latency.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};

use crate::key::Key;

/// The key a request addressed, left in the request extensions by the handler.
#[derive(Debug, Clone)]
pub struct LoggedKey(pub Key);

/// Paths polled by orchestrators every few seconds; logging them is noise.
const UNLOGGED_PATHS: [&str; 2] = ["/health", "/ready"];

/// Longest path or key written to the log, in characters.
const MAX_LOGGED_CHARS: usize = 128;

/// The log target of access lines.
const TARGET: &str = "kv_gateway::access";

/// Whether access lines are written at all (`RUST_LOG` at info or finer).
pub fn enabled() -> bool {
    log::log_enabled!(target: TARGET, log::Level::Info)
}

/// Middleware: logs each request once it has been answered.
pub async fn log_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if UNLOGGED_PATHS.contains(&req.path()) || !enabled() {
        return next.call(req).await;
    }
    let started = Instant::now();
    let method = req.method().clone();
    let result = next.call(req).await;
    let micros = started.elapsed().as_micros();
    let (status, path, key) = match &result {
        Ok(response) => {
            let req = response.request();
            let key = req
                .extensions()
                .get::<LoggedKey>()
                .map(|k| format!("{:?}", shorten(k.0.as_str())));
            (response.status(), shorten(req.path()), key)
        }
        Err(err) => (err.as_response_error().status_code(), "-".to_owned(), None),
    };
    log::info!(
        target: TARGET,
        "{method} {path:?} key={} status={} latency={}.{:03}ms",
        key.as_deref().unwrap_or("-"),
        status.as_u16(),
        micros / 1000,
        micros % 1000,
    );
    result
}

fn shorten(s: &str) -> String {
    match s.char_indices().nth(MAX_LOGGED_CHARS) {
        Some((cut, _)) => format!("{}...", &s[..cut]),
        None => s.to_owned(),
    }
}
