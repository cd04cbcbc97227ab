//! Builds the HTTP server: middleware, per-worker storage, routes.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;

use actix_governor::{Governor, GovernorConfig, GovernorConfigBuilder};
use actix_server::GracefulShutdownSignal;
use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::{from_fn, Condition};
use actix_web::{web, App};
use governor_middleware::NoOpMiddleware;

use crate::client_ip::{forget_idle_clients, ClientIpKey};
use crate::metrics::Metrics;
use crate::observe::observe;
use crate::request_metrics::RequestMetrics;
use crate::routes::{
    collection, health, indexes, kv, method_not_allowed, metrics, not_found, txn, watch,
};
use crate::settings::{RateLimitSettings, Settings};
use crate::storage::Storage;
use crate::watch::Hub;
use crate::ws::{self, MessageRate};
use crate::{http_server, metrics_server};

use actix_governor::governor::middleware as governor_middleware;

/// A built, listening server that has not started serving yet.
pub struct Application {
    port: u16,
    server: Server,
    /// `/metrics` on `metrics.bind`, if set.
    metrics_server: Option<(u16, Server)>,
}

impl Application {
    /// Binds `server.bind` (a host name is resolved and its first address
    /// that binds is used; port 0 picks a free port) and `metrics.bind` if
    /// set, and builds the servers.
    pub fn build(settings: Settings) -> std::io::Result<Application> {
        let listener = TcpListener::bind(settings.server.bind.as_str())?;
        let port = listener.local_addr()?.port();
        let metrics = Metrics::new();
        let metrics_server = if settings.metrics.bind.is_empty() {
            None
        } else {
            let bind = settings.metrics.bind.as_str();
            let listener = TcpListener::bind(bind)
                .map_err(|e| std::io::Error::new(e.kind(), format!("metrics.bind {bind}: {e}")))?;
            let port = listener.local_addr()?.port();
            Some((port, metrics_server::serve(listener, Arc::clone(&metrics))?))
        };
        let server = serve(listener, settings, metrics)?;
        Ok(Application {
            port,
            server,
            metrics_server,
        })
    }

    /// The port `metrics.bind` listens on, if set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_server.as_ref().map(|(port, _)| *port)
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until the server is stopped (SIGTERM/SIGINT, or the handle);
    /// the metrics server stops with it.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Some((_, metrics)) = self.metrics_server else {
            return self.server.await;
        };
        let metrics_handle = metrics.handle();
        let metrics = actix_web::rt::spawn(metrics);
        let result = self.server.await;
        metrics_handle.stop(true).await;
        let _ = metrics.await;
        result
    }
}

type RateLimit = GovernorConfig<ClientIpKey, NoOpMiddleware>;

fn serve(
    listener: TcpListener,
    settings: Settings,
    metrics: Arc<Metrics>,
) -> std::io::Result<Server> {
    // Built once: the buckets are shared by all workers.
    let rate_limit = rate_limit(&settings.rate_limit)?;
    if let Some(limit) = &rate_limit {
        forget_idle_clients(limit.limiter());
    }
    let message_rate = rate_limit.as_ref().map(|limit| {
        web::Data::new(MessageRate {
            limiter: limit.limiter().clone(),
            trusted: Arc::new(settings.rate_limit.trusted()),
        })
    });
    let limits = web::Data::new(settings.limits.clone());
    let body = web::Data::new(settings.server.body_read());
    let api = web::Data::new(settings.api.clone());
    let watch = web::Data::new(settings.watch.clone());
    let websocket = web::Data::new(settings.websocket.clone());
    let tarantool = settings.tarantool.clone();
    let metrics_data = web::Data::from(Arc::clone(&metrics));
    // Numbers the workers, for the labels of their connections.
    let workers = Arc::new(AtomicU16::new(0));
    http_server::serve(listener, &settings, move |stopping| {
        let worker = workers.fetch_add(1, Ordering::Relaxed);
        // One Tarantool connection per worker, created on the worker's own
        // runtime so its dispatch task runs next to the handlers using it.
        let storage = Storage::open(&tarantool, &metrics, worker);
        let hub = Hub::new(
            storage.clone(),
            tarantool.clone(),
            watch.get_ref().clone(),
            Arc::clone(&metrics),
            worker,
        );
        end_streams_on_shutdown(&hub, &stopping);
        let limited = rate_limit.is_some();
        let governor = || Governor::new(rate_limit.as_ref().unwrap_or(&unlimited()));
        let mut app = App::new()
            .wrap(from_fn(observe))
            .app_data(metrics_data.clone())
            .app_data(web::Data::new(RequestMetrics::new(Arc::clone(&metrics))))
            .app_data(web::Data::new(storage))
            .app_data(web::Data::new(hub))
            .app_data(web::Data::new(stopping))
            .app_data(limits.clone())
            .app_data(body.clone())
            .app_data(api.clone())
            .app_data(watch.clone())
            .app_data(websocket.clone());
        if let Some(rate) = &message_rate {
            app = app.app_data(rate.clone());
        }
        app.service(
            web::resource("/health")
                .route(web::get().to(health::health))
                .default_service(web::to(method_not_allowed("GET"))),
        )
        .service(
            web::resource("/metrics")
                .route(web::get().to(metrics::metrics))
                .default_service(web::to(method_not_allowed("GET"))),
        )
        .service(
            web::resource("/openapi.json")
                .route(web::get().to(crate::openapi::serve))
                .default_service(web::to(method_not_allowed("GET"))),
        )
        .service(
            web::resource("/ready")
                .route(web::get().to(health::ready))
                .default_service(web::to(method_not_allowed("GET"))),
        )
        .service(
            web::resource("/indexes")
                .wrap(Condition::new(limited, governor()))
                .route(web::get().to(indexes::indexes))
                .default_service(web::to(method_not_allowed("GET"))),
        )
        .service(
            web::resource("/txn")
                .wrap(Condition::new(limited, governor()))
                .route(web::post().to(txn::txn))
                .default_service(web::to(method_not_allowed("POST"))),
        )
        .service(
            web::resource("/watch")
                .wrap(Condition::new(limited, governor()))
                .route(web::get().to(watch::watch))
                .default_service(web::to(method_not_allowed("GET"))),
        )
        .service(
            web::resource("/ws")
                .wrap(Condition::new(limited, governor()))
                .route(web::get().to(ws::upgrade))
                .default_service(web::to(method_not_allowed("GET"))),
        )
        .service(
            web::scope("/kv")
                .wrap(Condition::new(limited, governor()))
                .service(web::resource("").to(collection::collection))
                // Everything else under /kv/ is a key: one handler picks by
                // method, which spares a regex route match per request.
                .default_service(web::to(kv::by_key)),
        )
        .default_service(web::to(not_found))
    })
}

/// Ends the worker's streams when a graceful shutdown begins, so their
/// connections close and the worker stops within the shutdown timeout.
fn end_streams_on_shutdown(hub: &Hub, stopping: &GracefulShutdownSignal) {
    let hub = hub.clone();
    let stopping = stopping.clone();
    actix_web::rt::spawn(async move {
        stopping.notified().await;
        hub.stop();
    });
}

/// The limiter for `rate_limit`, or `None` when `per_second` is 0.
fn rate_limit(settings: &RateLimitSettings) -> std::io::Result<Option<RateLimit>> {
    if settings.per_second == 0 {
        return Ok(None);
    }
    GovernorConfigBuilder::default()
        .requests_per_second(settings.per_second)
        .burst_size(settings.burst)
        .key_extractor(ClientIpKey::new(settings.trusted()))
        .finish()
        .map(Some)
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "rate_limit.per_second and rate_limit.burst give an empty quota",
            )
        })
}

/// A placeholder for the disabled limiter; `Condition` needs a value of the type.
fn unlimited() -> RateLimit {
    GovernorConfigBuilder::default()
        .key_extractor(ClientIpKey::new(Default::default()))
        .finish()
        .unwrap_or_else(|| unreachable!("the default quota is valid"))
}
