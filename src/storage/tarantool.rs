//! One Tarantool connection, made safe to serve HTTP from.
//!
//! rusty_tarantool queues calls while it is disconnected and sends them
//! after reconnecting, and does not enforce its own request timeout. So every
//! call here fails fast unless the connection is up (a write refused while
//! Tarantool is unreachable is never applied later), and every call is bounded
//! by our own timeout.

use std::time::Duration;

use tokio::time::Instant;

use futures_util::StreamExt;
use rusty_tarantool::tarantool::packets::CommandPacket;
use rusty_tarantool::tarantool::{Client, ClientConfig, ClientStatus};

use super::StorageError;
use crate::settings::TarantoolSettings;

/// How often a request waiting for the first connection checks on it.
const FIRST_CONNECT_POLL: Duration = Duration::from_millis(5);

/// A multiplexed connection to Tarantool with fail-fast and timeout semantics.
#[derive(Clone)]
pub struct Connection {
    client: Client,
    timeout: Duration,
}

impl Connection {
    /// Creates the connection and starts connecting in the background.
    ///
    /// Must be called inside the runtime that will serve the calls: the
    /// client's dispatch task is spawned there.
    pub fn open(settings: &TarantoolSettings) -> Connection {
        let client = ClientConfig::new(
            settings.address.as_str(),
            settings.user.as_str(),
            settings.password.as_str(),
        )
        .set_reconnect_time_ms(settings.reconnect_interval_ms)
        .build();
        log_status_changes(&client, settings.address.clone());
        // The crate spawns its dispatch task on the first call; make that
        // call now so the connection is up before the first request.
        let first = client.clone();
        actix_web::rt::spawn(async move {
            let _ = first.ping().await;
        });
        Connection {
            client,
            timeout: settings.request_timeout(),
        }
    }

    /// Calls the Lua function `function` with encoded `args`; returns the encoded result.
    pub async fn call(&self, function: &str, args: Vec<u8>) -> Result<bytes::Bytes, StorageError> {
        let packet = CommandPacket::call_raw(function, args).map_err(StorageError::Call)?;
        self.bounded(self.client.send_command(packet))
            .await
            .map(|response| response.data)
    }

    /// The request timeout every call is bounded by.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends an iproto ping, bounded by the request timeout.
    pub async fn ping(&self) -> Result<(), StorageError> {
        self.bounded(self.client.ping()).await.map(drop)
    }

    /// Runs `request` only on a live connection, all within the request timeout.
    async fn bounded<T>(
        &self,
        request: impl std::future::Future<Output = std::io::Result<T>>,
    ) -> Result<T, StorageError> {
        let deadline = Instant::now() + self.timeout;
        self.wait_until_connected(deadline).await?;
        match tokio::time::timeout_at(deadline, request).await {
            Err(_) => Err(StorageError::Timeout(self.timeout)),
            Ok(Err(err)) => Err(StorageError::Call(err)),
            Ok(Ok(value)) => Ok(value),
        }
    }

    /// Fails at once when disconnected. Only while the very first connection
    /// attempt is under way does it wait (without queueing anything), so a
    /// gateway that just started does not turn away its first requests.
    pub async fn wait_until_connected(&self, deadline: Instant) -> Result<(), StorageError> {
        loop {
            match self.client.get_status() {
                ClientStatus::Connected => return Ok(()),
                ClientStatus::Disconnected(reason) | ClientStatus::Disconnecting(reason) => {
                    return Err(StorageError::Unavailable(reason))
                }
                ClientStatus::Closed => return Err(StorageError::Unavailable("closed".into())),
                ClientStatus::Init | ClientStatus::Connecting | ClientStatus::Handshaking => {
                    if Instant::now() + FIRST_CONNECT_POLL > deadline {
                        return Err(StorageError::Unavailable("still connecting".into()));
                    }
                    tokio::time::sleep(FIRST_CONNECT_POLL).await;
                }
            }
        }
    }
}

/// Logs when the connection comes up and when it is lost, once per change
/// (the client retries every `reconnect_interval_ms` and would repeat itself).
fn log_status_changes(client: &Client, address: String) {
    let mut statuses = client.subscribe_to_notify_stream();
    actix_web::rt::spawn(async move {
        let mut connected: Option<bool> = None;
        while let Some(status) = statuses.next().await {
            match status {
                ClientStatus::Connected if connected != Some(true) => {
                    connected = Some(true);
                    log::info!("connected to Tarantool at {address}");
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
