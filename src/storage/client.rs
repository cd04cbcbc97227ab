//! One rusty_tarantool client on a thread of its own, which can be thrown
//! away whole.
//!
//! The crate spawns its dispatch task (which owns the socket) on the
//! runtime of its first call and hands out no way to stop it: a dispatcher
//! stuck connecting, waiting for a greeting or reading from a silent peer
//! would live on. Each client therefore gets a small runtime on its own
//! thread, and dropping the `LiveClient` stops that runtime, which cancels
//! the dispatcher and closes its socket. Calls are still made from the
//! worker's own runtime; only the dispatcher runs on the thread.

use futures_util::StreamExt;
use rusty_tarantool::tarantool::{Client, ClientConfig, ClientStatus};
use tokio::sync::oneshot;

use crate::settings::TarantoolSettings;

/// A client and the thread its dispatcher runs on.
pub struct LiveClient {
    /// The client; clones share the dispatcher.
    pub client: Client,
    /// Counts the clients a connection has had, so a call can tell that
    /// its client was replaced under it.
    pub generation: u64,
    /// Dropped with the client: ends the thread and its runtime.
    _stop: oneshot::Sender<()>,
}

impl LiveClient {
    /// Builds a client, starts its dispatcher on a new thread, and logs its
    /// connection coming up and going down.
    pub fn start(settings: &TarantoolSettings, generation: u64) -> LiveClient {
        let client = ClientConfig::new(
            settings.address.as_str(),
            settings.user.as_str(),
            settings.password.as_str(),
        )
        .set_reconnect_time_ms(settings.reconnect_interval_ms)
        .build();
        let (stop, stopped) = oneshot::channel::<()>();
        let first = client.clone();
        let spawned = std::thread::Builder::new()
            .name("tarantool-io".into())
            .spawn(move || run_dispatcher(first, stopped));
        if let Err(err) = spawned {
            // The client then never connects; the supervisor replaces it.
            log::error!("cannot start a thread for the Tarantool connection: {err}");
        }
        log_status_changes(&client, settings.address.clone(), generation);
        LiveClient {
            client,
            generation,
            _stop: stop,
        }
    }

    /// The client's connection state.
    pub fn status(&self) -> ClientStatus {
        self.client.get_status()
    }
}

/// The thread's body: the crate spawns its dispatcher on the runtime of the
/// first call, so that call is made here; then it waits to be stopped.
fn run_dispatcher(first: Client, stopped: oneshot::Receiver<()>) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            log::error!("cannot start a runtime for the Tarantool connection: {err}");
            return;
        }
    };
    runtime.block_on(async move {
        tokio::spawn(async move {
            let _ = first.ping().await;
        });
        // Err too: the LiveClient is gone.
        let _ = stopped.await;
    });
    // Dropping the runtime here cancels the dispatcher and closes its socket.
}

/// Logs when the connection comes up and when it is lost, once per change
/// (the client retries every `reconnect_interval_ms` and would repeat itself).
fn log_status_changes(client: &Client, address: String, generation: u64) {
    let mut statuses = client.subscribe_to_notify_stream();
    actix_web::rt::spawn(async move {
        let mut connected: Option<bool> = None;
        while let Some(status) = statuses.next().await {
            match status {
                ClientStatus::Connected if connected != Some(true) => {
                    connected = Some(true);
                    log::info!("connected to Tarantool at {address} (connection #{generation})");
                }
                ClientStatus::Disconnected(reason) if connected != Some(false) => {
                    connected = Some(false);
                    log::warn!("no connection to Tarantool at {address}: {reason}; retrying");
                }
                _ => {}
            }
        }
    });
}
