//! The HTTP server, put together from actix-server and actix-http the way
//! actix-web's `HttpServer` does, for two things it does not offer:
//!
//! - an `Expect: 100-continue` handler. `HttpServer`'s answers `100 Continue`
//!   before the app runs, inviting a body the app will refuse; this one
//!   answers 413 at once when `Content-Length` is over the body limit.
//! - a cap on concurrent connections over all workers, so idle or slow
//!   clients cannot exhaust the process's file descriptors.
//! - a send timeout on every connection (`TCP_USER_TIMEOUT`): a client that
//!   stops reading a stream is disconnected by the kernel, even while the
//!   server has nothing more to write (actix only writes when it can).

use std::net::TcpListener;
use std::time::Duration;

use actix_http::body::MessageBody;
use actix_http::Extensions;
use actix_http::{HttpMessage, HttpService, Request};
use actix_server::{GracefulShutdownSignal, Server};
use actix_service::{
    fn_service, map_config, IntoServiceFactory, ServiceFactory, ServiceFactoryExt,
};
use actix_web::dev::AppConfig;
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::rt::net::TcpStream;

use crate::error::ApiError;
use crate::settings::Settings;

/// How long a connection may take to close after the response
/// (actix-web's default).
const CLIENT_DISCONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Serves `app` (made once per worker, given the signal that a graceful
/// shutdown has begun, so it can end its streams) on `listener` with the
/// settings' workers, connection cap, body limit, send timeout and
/// shutdown timeout.
pub fn serve<F, I, S, B>(
    listener: TcpListener,
    settings: &Settings,
    app: F,
) -> std::io::Result<Server>
where
    F: Fn(GracefulShutdownSignal) -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: std::fmt::Debug,
    S::Response: Into<actix_http::Response<B>> + 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    let address = listener.local_addr()?;
    let workers = settings.server.worker_count();
    let max_body = settings.limits.max_body_bytes;
    let header_timeout = settings.server.client_header_timeout();
    let keep_alive = settings.server.keep_alive();
    let send_timeout = settings.server.send_timeout();
    let builder = Server::build()
        .workers(workers)
        .max_concurrent_connections(settings.server.connections_per_worker())
        .shutdown_timeout(settings.server.shutdown_timeout().as_secs_f64().ceil() as u64);
    // Lets idle keep-alive connections close at once on shutdown, instead of
    // holding the worker until the shutdown timeout.
    let shutdown = builder.graceful_shutdown_signal();
    let server = builder
        .listen("kv-gateway", listener, move || {
            let shutdown = shutdown.clone();
            let app = app(shutdown.clone())
                .into_factory()
                .map_err(|err| err.into().error_response());
            HttpService::build()
                .graceful_shutdown_signal(move || {
                    let signal = shutdown.clone();
                    async move { signal.notified().await }
                })
                .on_connect_ext(move |io: &TcpStream, _: &mut Extensions| {
                    if let Some(timeout) = send_timeout {
                        set_send_timeout(io, timeout);
                    }
                })
                .keep_alive(keep_alive)
                .client_request_timeout(header_timeout)
                .client_disconnect_timeout(CLIENT_DISCONNECT_TIMEOUT)
                .local_addr(address)
                .expect(fn_service(move |req: Request| async move {
                    refuse_oversized(req, max_body)
                }))
                .finish(map_config(app, move |_| AppConfig::default()))
                .tcp()
        })?
        .run();
    Ok(server)
}

/// Lets a request that expects `100 Continue` go on only when its declared
/// body fits the limit; otherwise it is answered 413 without the invitation.
fn refuse_oversized(req: Request, max_body: usize) -> Result<Request, actix_web::Error> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    match declared {
        Some(length) if length > max_body as u64 => Err(ApiError::PayloadTooLarge.into()),
        _ => Ok(req),
    }
}

/// Makes the kernel drop the connection once data it sent has gone
/// unacknowledged for `timeout`, a full receive window included: a peer that
/// stops reading. Best effort: the connection works without it.
fn set_send_timeout(io: &TcpStream, timeout: Duration) {
    if let Err(err) = socket2::SockRef::from(io).set_tcp_user_timeout(Some(timeout)) {
        log::debug!("cannot set TCP_USER_TIMEOUT: {err}");
    }
}
