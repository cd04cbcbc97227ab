//! One rusty_tarantool client and what it takes to replace it.
//!
//! The crate spawns its dispatch task (which owns the socket) on the
//! runtime of its first call, and hands out no way to stop it. Its own
//! reconnection loop is therefore parked (`ABANDONED_RETRY`): the
//! supervisor in `tarantool.rs` replaces a client that is down rather than
//! waiting for it. A replaced client's dispatcher lives on as a sleeping
//! task that holds no socket once its last attempt has ended; it wakes
//! after `ABANDONED_RETRY`, and exits if it then reaches Tarantool (its
//! channel is closed) or sleeps again. The dispatcher runs on the worker's
//! own runtime, so a call costs no wake-up of another thread.

use std::time::Duration;

use futures_util::StreamExt;
use rusty_tarantool::tarantool::{Client, ClientConfig, ClientStatus};

use crate::settings::TarantoolSettings;

/// How long a client's dispatcher waits before trying again on its own.
pub const ABANDONED_RETRY: Duration = Duration::from_secs(3600);

/// A client, numbered.
pub struct LiveClient {
    /// The client; clones share the dispatcher.
    pub client: Client,
    /// Counts the clients a connection has had, so a call can tell that
    /// its client was replaced under it.
    pub generation: u64,
}

impl LiveClient {
    /// Builds a client, starts its dispatcher on the current worker, and
    /// logs its connection coming up and going down.
    pub fn start(settings: &TarantoolSettings, generation: u64) -> LiveClient {
        let client = ClientConfig::new(
            settings.address.as_str(),
            settings.user.as_str(),
            settings.password.as_str(),
        )
        .set_reconnect_time_ms(ABANDONED_RETRY.as_millis() as u64)
        .build();
        // The crate spawns its dispatcher on the first call: make it now,
        // so the connection is up before the first request.
        let first = client.clone();
        actix_web::rt::spawn(async move {
            let _ = first.ping().await;
        });
        log_status_changes(&client, settings.address.clone(), generation);
        LiveClient { client, generation }
    }

    /// The client's connection state.
    pub fn status(&self) -> ClientStatus {
        self.client.get_status()
    }
}

/// Logs when the connection comes up, once.
fn log_status_changes(client: &Client, address: String, generation: u64) {
    let mut statuses = client.subscribe_to_notify_stream();
    actix_web::rt::spawn(async move {
        while let Some(status) = statuses.next().await {
            if let ClientStatus::Connected = status {
                log::info!("connected to Tarantool at {address} (connection #{generation})");
                return;
            }
        }
    });
}
