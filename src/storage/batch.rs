//! Coalesces the operations of a worker's concurrent requests into
//! `kv_batch` calls.
//!
//! rusty_tarantool writes every call to the socket on its own, so each call
//! costs a `send()` here and a wake-up, a read and a Lua call in Tarantool;
//! under load that, not the work itself, is most of the time. Operations that
//! arrive while a worker's calls are in flight wait for a free slot and then
//! go together as one call. A lone request is sent at once: batching adds no
//! delay, it only fills the time a call is in flight anyway.
//!
//! Reads and writes are two lanes, each with its own slots: a read never
//! waits for a write batch's WAL write, and a big read answer never holds up
//! the writes.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use prometheus_client::metrics::histogram::Histogram;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::codec;
use super::protocol::Status;
use super::tarantool::Connection;
use super::StorageError;
use crate::metrics::{LaneLabels, Metrics};
use crate::settings::TarantoolSettings;

/// Whether an operation changes data, and so which lane it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Runs without a transaction and never yields.
    Read,
    /// Runs in the batch's transaction.
    Write,
}

/// An encoded operation and where its encoded result goes.
struct Pending {
    op: Vec<u8>,
    reply: oneshot::Sender<Result<Bytes, StorageError>>,
    /// Set right before the operation's batch is handed to the connection,
    /// so a caller that gives up can tell "never sent" from "no answer".
    sent: Rc<Cell<bool>>,
}

/// How big a batch may get.
#[derive(Debug, Clone, Copy)]
struct Limits {
    max_ops: usize,
    max_bytes: usize,
    max_reply_bytes: usize,
}

/// One lane's queues: new operations, and operations Tarantool deferred,
/// which go first.
#[derive(Clone)]
struct Lane {
    queue: mpsc::UnboundedSender<Pending>,
}

/// The submitting side; cheap to clone, used on the worker that opened it.
#[derive(Clone)]
pub struct Batcher {
    reads: Lane,
    writes: Lane,
    timeout: Duration,
}

impl Batcher {
    /// Starts a read lane and a write lane for `connection` on the current
    /// worker; batch sizes go to `metrics`.
    pub fn start(
        connection: &Connection,
        settings: &TarantoolSettings,
        metrics: &Arc<Metrics>,
    ) -> Batcher {
        let limits = Limits {
            max_ops: settings.batch_max_ops,
            max_bytes: settings.batch_max_bytes,
            max_reply_bytes: settings.batch_max_reply_bytes,
        };
        let lane = |lane: &'static str| {
            let (queue, pending) = mpsc::unbounded_channel();
            let slots = Arc::new(Semaphore::new(settings.batches_in_flight));
            let sizes = metrics
                .batch_operations
                .get_or_create_owned(&LaneLabels { lane });
            actix_web::rt::spawn(run(pending, connection.clone(), limits, slots, sizes));
            Lane { queue }
        };
        Batcher {
            reads: lane("read"),
            writes: lane("write"),
            timeout: connection.timeout(),
        }
    }

    /// Runs one encoded operation in the next batch of its lane; returns its
    /// encoded result.
    ///
    /// Gives up after the request timeout. An operation whose caller has
    /// given up before its batch is sent is dropped unsent (checked right
    /// before sending), so a write answered `not applied` is never applied.
    pub async fn submit(&self, kind: Kind, op: Vec<u8>) -> Result<Bytes, StorageError> {
        let deadline = Instant::now() + self.timeout;
        let (reply, result) = oneshot::channel();
        let sent = Rc::new(Cell::new(false));
        let lane = match kind {
            Kind::Read => &self.reads,
            Kind::Write => &self.writes,
        };
        lane.queue
            .send(Pending {
                op,
                reply,
                sent: Rc::clone(&sent),
            })
            .map_err(|_| stopping())?;
        match tokio::time::timeout_at(deadline, result).await {
            Err(_) if sent.get() => Err(StorageError::OutcomeUnknown(format!(
                "no answer from Tarantool within {:?}",
                self.timeout
            ))),
            Err(_) => Err(StorageError::NotApplied(format!(
                "not sent within {:?}: every call slot stayed busy",
                self.timeout
            ))),
            Ok(Err(_)) => Err(stopping()),
            Ok(Ok(result)) => result,
        }
    }
}

fn stopping() -> StorageError {
    StorageError::NotApplied("the gateway is stopping".into())
}

/// Takes what is waiting whenever a slot is free and sends it as one call.
/// Operations Tarantool deferred come back through `carried` and go first.
async fn run(
    mut pending: mpsc::UnboundedReceiver<Pending>,
    connection: Connection,
    limits: Limits,
    slots: Arc<Semaphore>,
    sizes: Histogram,
) {
    let (carry, mut carried) = mpsc::unbounded_channel();
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let first = tokio::select! {
            biased;
            Some(item) = carried.recv() => item,
            item = pending.recv() => match item {
                Some(item) => item,
                None => return,
            },
        };
        let mut batch = Vec::new();
        let mut bytes = 0;
        let mut next = Some(first);
        while let Some(item) = next.take() {
            // A caller that gave up (timeout, closed connection) gets nothing sent.
            if !item.reply.is_closed() {
                bytes += item.op.len();
                batch.push(item);
            }
            if batch.len() < limits.max_ops && bytes < limits.max_bytes {
                next = carried.try_recv().or_else(|_| pending.try_recv()).ok();
            }
        }
        if !batch.is_empty() {
            sizes.observe(batch.len() as f64);
            actix_web::rt::spawn(send(
                connection.clone(),
                batch,
                limits.max_reply_bytes,
                carry.clone(),
                slot,
            ));
        }
    }
}

/// Sends one batch and hands every operation its result, or back to the
/// lane when Tarantool deferred it; the slot is free again once done.
async fn send(
    connection: Connection,
    mut batch: Vec<Pending>,
    max_reply_bytes: usize,
    carry: mpsc::UnboundedSender<Pending>,
    _slot: OwnedSemaphorePermit,
) {
    if let Err(err) = connection.wait_until_connected().await {
        connection.count_unsent("kv_batch");
        for pending in batch {
            let _ = pending.reply.send(Err(err.duplicate()));
        }
        return;
    }
    // Checked again right before sending: a caller may have given up while
    // the batch waited for the connection. Nothing awaits from here until
    // the call is handed to the client.
    batch.retain(|pending| !pending.reply.is_closed());
    if batch.is_empty() {
        return;
    }
    for pending in &batch {
        pending.sent.set(true);
    }
    let args = codec::batch_args(batch.iter().map(|p| p.op.as_slice()), max_reply_bytes);
    let results = connection
        .call_while_alive("kv_batch", args)
        .await
        .and_then(|data| {
            codec::split_batch(&data, batch.len())
                .map_err(|e| StorageError::Internal(e.to_string()))
        });
    match results {
        Ok(results) => {
            for (pending, result) in batch.into_iter().zip(results) {
                if codec::status_of(&result) == Some(Status::Deferred) {
                    pending.sent.set(false);
                    // The lane outlives its send tasks; if it is gone, so is the caller.
                    let _ = carry.send(pending);
                } else {
                    let _ = pending.reply.send(Ok(result));
                }
            }
        }
        Err(err) => {
            for pending in batch {
                let _ = pending.reply.send(Err(err.duplicate()));
            }
        }
    }
}
