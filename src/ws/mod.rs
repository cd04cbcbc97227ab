//! `GET /ws`: the kv operations and watches over one WebSocket connection.
//! Replies are built by the same code as HTTP responses (`stream_reply`).

pub mod connection;
pub mod message;

use std::net::IpAddr;
use std::sync::Arc;

use actix_server::GracefulShutdownSignal;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::client_ip::{bucket_of, SharedLimiter, TrustedProxies};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::query::Query;
use crate::routes::kv::Ctx;
use crate::stream_settings::{WatchSettings, WebSocketSettings};
use crate::watch::Hub;
use connection::Connection;

/// The rate limit, applied to every message as to every HTTP request.
#[derive(Clone)]
pub struct MessageRate {
    /// The buckets HTTP requests count against.
    pub limiter: SharedLimiter,
    /// Whose `X-Forwarded-For` is believed.
    pub trusted: Arc<TrustedProxies>,
}

/// The app data a connection needs besides `Ctx`.
pub struct WsData {
    /// The worker's watch hub.
    pub hub: web::Data<Hub>,
    /// How watches are served.
    pub watch: web::Data<WatchSettings>,
    /// How connections are served.
    pub websocket: web::Data<WebSocketSettings>,
    /// The rate limit, unless it is off.
    pub rate: Option<web::Data<MessageRate>>,
    /// Fires when a graceful shutdown begins.
    pub stopping: web::Data<GracefulShutdownSignal>,
    /// The gateway's metrics.
    pub metrics: web::Data<Metrics>,
}

/// Upgrades the request and serves the connection on this worker.
pub async fn upgrade(
    req: HttpRequest,
    payload: web::Payload,
    ctx: Ctx,
) -> Result<HttpResponse, ApiError> {
    Query::parse(req.query_string(), &[])?;
    let data = ws_data(&req)?;
    let (response, session, stream) = actix_ws::handle(&req, payload).map_err(|err| {
        ApiError::InvalidHeader(format!(
            "/ws takes a WebSocket handshake (GET with Upgrade: websocket): {err}"
        ))
    })?;
    // A frame may be up to twice a message's limit, so a message a little
    // over it is answered 400 rather than closing the connection.
    let max_frame = ctx.limits.max_body_bytes.saturating_mul(2).max(64 * 1024);
    let stream = stream
        .max_frame_size(max_frame)
        .aggregate_continuations()
        .max_continuation_size(max_frame);
    let rate = data.rate.as_ref().map(|rate| {
        let peer = req
            .peer_addr()
            .map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
        let key = bucket_of(rate.trusted.client_ip(peer, req.headers()));
        (rate.limiter.clone(), key)
    });
    let connection = Connection::new(ctx, data, rate, session);
    actix_web::rt::spawn(connection.serve(stream));
    Ok(response)
}

fn ws_data(req: &HttpRequest) -> Result<WsData, ApiError> {
    let missing = || {
        ApiError::Internal(crate::storage::StorageError::Internal(
            "websocket state is not registered".into(),
        ))
    };
    Ok(WsData {
        hub: req
            .app_data::<web::Data<Hub>>()
            .ok_or_else(missing)?
            .clone(),
        watch: req
            .app_data::<web::Data<WatchSettings>>()
            .ok_or_else(missing)?
            .clone(),
        websocket: req
            .app_data::<web::Data<WebSocketSettings>>()
            .ok_or_else(missing)?
            .clone(),
        rate: req.app_data::<web::Data<MessageRate>>().cloned(),
        stopping: req
            .app_data::<web::Data<GracefulShutdownSignal>>()
            .ok_or_else(missing)?
            .clone(),
        metrics: req
            .app_data::<web::Data<Metrics>>()
            .ok_or_else(missing)?
            .clone(),
    })
}
