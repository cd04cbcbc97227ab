//! `metrics.bind`: a second, minimal server with `GET /metrics` only, so
//! metrics can be offered on another address than the API (a backend
//! network) without the API's middleware, limits or rate limit.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};

use crate::metrics::Metrics;
use crate::routes::{method_not_allowed, metrics, not_found};

/// Serves `/metrics` on `listener` with one worker.
pub fn serve(listener: TcpListener, registry: Arc<Metrics>) -> std::io::Result<Server> {
    let data = web::Data::from(registry);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .service(
                web::resource("/metrics")
                    .route(web::get().to(metrics::metrics))
                    .default_service(web::to(method_not_allowed("GET"))),
            )
            .default_service(web::to(not_found))
    })
    .workers(1)
    .listen(listener)?
    .run();
    Ok(server)
}
