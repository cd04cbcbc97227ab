//! One Tarantool connection per worker, made safe to serve HTTP from, and
//! kept alive by a supervisor.
//!
//! rusty_tarantool queues calls while it is disconnected and sends them
//! after reconnecting, and does not enforce its own request timeout. So every
//! call here fails fast unless the connection is up (a write refused while
//! Tarantool is unreachable is never applied later), and every call is
//! bounded. It also never times out a connection attempt, a greeting or a
//! silent peer, and its dispatcher dies for good if a peer closes before
//! greeting: the supervisor (see `supervise`) replaces such a client.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::Duration;

use rusty_tarantool::tarantool::packets::CommandPacket;
use rusty_tarantool::tarantool::{Client, ClientStatus};
use tokio::time::Instant;

use super::client::LiveClient;
use super::StorageError;
use crate::metrics::{CallLabels, ConnectionLabels, FunctionLabels, Metrics};
use crate::settings::TarantoolSettings;

/// How often a request waiting for the first connection checks on it.
const FIRST_CONNECT_POLL: Duration = Duration::from_millis(5);

/// The longest pause between connection attempts while Tarantool stays
/// unreachable.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The supervisor looks at the connection at least this far apart.
const MIN_TICK: Duration = Duration::from_millis(20);

/// What rusty_tarantool answers when its dispatcher is gone (it exports no
/// constant for it): the call was not sent.
const DISPATCHER_DEAD: &str = "DISPATCH THREAD IS DEAD!";

/// A multiplexed, supervised connection to Tarantool. Clones share it; it
/// lives on the worker that opened it.
#[derive(Clone)]
pub struct Connection {
    inner: Rc<Inner>,
}

struct Inner {
    settings: TarantoolSettings,
    live: RefCell<LiveClient>,
    /// When Tarantool last answered anything on this connection.
    last_answer: Cell<Instant>,
    probe: Probe,
}

/// Where a connection reports its calls and its state.
#[derive(Clone)]
pub struct Probe {
    /// The gateway's metrics.
    pub metrics: Arc<Metrics>,
    /// Which worker's connection, and what for.
    pub labels: ConnectionLabels,
}

impl Probe {
    fn call(&self, function: &'static str, outcome: &'static str, started: Instant) {
        let metrics = &self.metrics;
        metrics
            .tarantool_calls
            .get_or_create(&CallLabels { function, outcome })
            .inc();
        metrics
            .tarantool_duration
            .get_or_create(&FunctionLabels { function })
            .observe(started.elapsed().as_secs_f64());
    }

    fn connected(&self, up: bool) {
        self.metrics
            .tarantool_connected
            .get_or_create(&self.labels)
            .set(i64::from(up));
    }
}

impl Connection {
    /// Starts connecting in the background and starts the supervisor on the
    /// current worker.
    pub fn open(settings: &TarantoolSettings, probe: Probe) -> Connection {
        probe.connected(false);
        let inner = Rc::new(Inner {
            settings: settings.clone(),
            live: RefCell::new(LiveClient::start(settings, 1)),
            last_answer: Cell::new(Instant::now()),
            probe,
        });
        actix_web::rt::spawn(supervise(Rc::downgrade(&inner)));
        Connection { inner }
    }

    /// The request timeout.
    pub fn timeout(&self) -> Duration {
        self.inner.settings.request_timeout()
    }

    /// Calls the Lua function `function` with encoded `args` at once, within
    /// the request timeout; returns the encoded result. Refused unsent when
    /// not connected.
    pub async fn call(
        &self,
        function: &'static str,
        args: Vec<u8>,
    ) -> Result<bytes::Bytes, StorageError> {
        self.call_within(function, args, self.timeout()).await
    }

    /// Like `call`, but waits as long as the connection is alive: until
    /// Tarantool answers or the supervisor gives the connection up (bounded
    /// by `stall_bound` all the same). Keeps a batch's slot taken while
    /// Tarantool still holds the batch, so nothing more is piled on a
    /// stalled instance.
    pub async fn call_while_alive(
        &self,
        function: &'static str,
        args: Vec<u8>,
    ) -> Result<bytes::Bytes, StorageError> {
        self.call_within(function, args, self.stall_bound()).await
    }

    /// Counts a call to `function` that was refused unsent (no connection).
    pub fn count_unsent(&self, function: &'static str) {
        self.inner
            .probe
            .call(function, "not_applied", Instant::now());
    }

    /// Like `call`, but waits up to `limit` for the answer (a long poll).
    pub async fn call_within(
        &self,
        function: &'static str,
        args: Vec<u8>,
        limit: Duration,
    ) -> Result<bytes::Bytes, StorageError> {
        let started = Instant::now();
        let result = self.send(function, args, limit).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(StorageError::NotApplied(_) | StorageError::ReadOnly) => "not_applied",
            Err(StorageError::OutcomeUnknown(_)) => "outcome_unknown",
            Err(_) => "error",
        };
        self.inner.probe.call(function, outcome, started);
        result
    }

    async fn send(
        &self,
        function: &str,
        args: Vec<u8>,
        limit: Duration,
    ) -> Result<bytes::Bytes, StorageError> {
        let packet = CommandPacket::call_raw(function, args)
            .map_err(|e| StorageError::Internal(format!("cannot encode a call: {e}")))?;
        let (client, generation) = self.connected_client()?;
        let answer = tokio::time::timeout(limit, client.send_command(packet)).await;
        match answer {
            Err(_) => Err(StorageError::OutcomeUnknown(format!(
                "no answer from Tarantool within {limit:?}"
            ))),
            Ok(Err(err)) => Err(self.classify(&client, generation, &err)),
            Ok(Ok(response)) => {
                self.inner.last_answer.set(Instant::now());
                Ok(response.data)
            }
        }
    }

    /// The longest a call can wait on a live-looking connection before the
    /// supervisor has replaced it.
    fn stall_bound(&self) -> Duration {
        let settings = &self.inner.settings;
        let round = settings.ping_interval() + settings.request_timeout();
        round * (settings.ping_misses + 2)
    }

    /// rusty_tarantool gives server errors and transport failures the same
    /// io::Error kind. A transport failure marks the connection down (or the
    /// supervisor replaced the client) before the error is handed out; a
    /// server's answer leaves it connected.
    fn classify(&self, client: &Client, generation: u64, err: &std::io::Error) -> StorageError {
        let message = err.to_string();
        if message == DISPATCHER_DEAD {
            return StorageError::NotApplied("the Tarantool connection is being replaced".into());
        }
        let replaced = self.inner.live.borrow().generation != generation;
        match client.get_status() {
            ClientStatus::Connected if !replaced => {
                self.inner.last_answer.set(Instant::now());
                StorageError::Internal(format!("Tarantool answered with an error: {message}"))
            }
            _ => StorageError::OutcomeUnknown(format!(
                "the connection to Tarantool was lost: {message}"
            )),
        }
    }

    /// The current client if it is connected right now.
    fn connected_client(&self) -> Result<(Client, u64), StorageError> {
        let live = self.inner.live.borrow();
        match live.status() {
            ClientStatus::Connected => Ok((live.client.clone(), live.generation)),
            other => Err(not_connected(other)),
        }
    }

    /// Fails at once when disconnected. Only while a client's first
    /// connection attempt is under way does it wait (without queueing
    /// anything, up to the request timeout), so a gateway that just started
    /// does not turn away its first requests.
    pub async fn wait_until_connected(&self) -> Result<(), StorageError> {
        let deadline = Instant::now() + self.timeout();
        loop {
            let status = self.inner.live.borrow().status();
            match status {
                ClientStatus::Connected => return Ok(()),
                ClientStatus::Init | ClientStatus::Connecting | ClientStatus::Handshaking
                    if Instant::now() + FIRST_CONNECT_POLL <= deadline =>
                {
                    tokio::time::sleep(FIRST_CONNECT_POLL).await;
                }
                other => return Err(not_connected(other)),
            }
        }
    }
}

fn not_connected(status: ClientStatus) -> StorageError {
    let reason = match status {
        ClientStatus::Disconnected(reason) | ClientStatus::Disconnecting(reason) => reason,
        ClientStatus::Closed => "closed".into(),
        _ => "still connecting".into(),
    };
    StorageError::NotApplied(format!("not connected to Tarantool ({reason})"))
}

/// Watches the connection and replaces its client (see `client.rs`):
/// - not connected: the client's own retry is parked, so the supervisor
///   tries anew, `reconnect_interval_ms` after the loss and then backing off
///   (doubling, at most `MAX_BACKOFF`) while Tarantool stays unreachable; a
///   connect or greeting that hangs is given `connect_timeout_ms`, and a
///   dispatcher that died (rusty_tarantool's does when a peer closes before
///   greeting) is not waited for at all;
/// - connected, but `ping_misses` pings in a row without an answer in
///   `request_timeout_ms` (a silent network partition or a dead host, which
///   TCP would notice only after minutes). Pings are sent only when nothing
///   else was answered for `ping_interval_ms`.
async fn supervise(connection: Weak<Inner>) {
    let mut misses = 0;
    let mut down_since: Option<Instant> = None;
    let mut backoff: Option<Duration> = None;
    let mut last_ping = Instant::now();
    let mut reported: Option<String> = None;
    loop {
        let Some(inner) = connection.upgrade() else {
            return;
        };
        let settings = inner.settings.clone();
        drop(inner);
        let tick = settings.ping_interval().min(settings.reconnect_interval()) / 2;
        tokio::time::sleep(tick.max(MIN_TICK)).await;
        let Some(inner) = connection.upgrade() else {
            return;
        };
        let (status, client) = {
            let live = inner.live.borrow();
            (live.status(), live.client.clone())
        };
        inner
            .probe
            .connected(matches!(status, ClientStatus::Connected));
        let reason = match status {
            ClientStatus::Connected => {
                down_since = None;
                backoff = None;
                if reported.take().is_some() {
                    log::info!("the connection to Tarantool is back");
                }
                if inner.last_answer.get().elapsed() < settings.ping_interval()
                    || last_ping.elapsed() < settings.ping_interval()
                {
                    continue;
                }
                last_ping = Instant::now();
                match tokio::time::timeout(settings.request_timeout(), client.ping()).await {
                    Ok(Ok(_)) => {
                        inner.last_answer.set(Instant::now());
                        misses = 0;
                        continue;
                    }
                    Ok(Err(err)) if err.to_string() == DISPATCHER_DEAD => {
                        format!("its dispatcher died ({err})")
                    }
                    _ => {
                        misses += 1;
                        if misses < settings.ping_misses {
                            continue;
                        }
                        format!(
                            "{misses} pings in a row went unanswered for {:?} each",
                            settings.request_timeout()
                        )
                    }
                }
            }
            other => {
                let since = *down_since.get_or_insert_with(Instant::now);
                let wait = match &other {
                    ClientStatus::Disconnected(_) | ClientStatus::Closed => {
                        *backoff.get_or_insert(settings.reconnect_interval())
                    }
                    // Still connecting, or a dispatcher that died doing so.
                    _ => settings.connect_timeout(),
                };
                if since.elapsed() < wait {
                    continue;
                }
                let why = match other {
                    ClientStatus::Disconnected(why) | ClientStatus::Disconnecting(why) => why,
                    other => format!("{other:?} for {wait:?}"),
                };
                if reported.as_deref() != Some(why.as_str()) {
                    log::warn!(
                        "no connection to Tarantool at {}: {why}; retrying",
                        settings.address
                    );
                    reported = Some(why.clone());
                }
                backoff = backoff.map(|b| (b * 2).min(MAX_BACKOFF));
                down_since = None;
                String::new()
            }
        };
        if !reason.is_empty() {
            log::warn!("replacing the Tarantool connection: {reason}");
        }
        let generation = inner.live.borrow().generation + 1;
        // The old client's in-flight calls end with an error (outcome
        // unknown) once its dispatcher notices; new calls go to the new one.
        *inner.live.borrow_mut() = LiveClient::start(&settings, generation);
        inner.last_answer.set(Instant::now());
        misses = 0;
    }
}
