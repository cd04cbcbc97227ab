//! Coalesces the operations of a worker's concurrent requests into
//! `kv_batch` calls.
//!
//! rusty_tarantool writes every call to the socket on its own, so each call
//! costs a `send()` here and a wake-up, a read and a Lua call in Tarantool;
//! under load that, not the work itself, is most of the time. Operations that
//! arrive while a worker's calls are in flight wait for a free slot and then
//! go together as one call. A lone request is sent at once: batching adds no
//! delay, it only fills the time a call is in flight anyway.

use std::rc::Rc;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::codec;
use super::tarantool::Connection;
use super::StorageError;
use crate::settings::TarantoolSettings;

/// Whether an operation changes data. Reads and writes taken together go as
/// two calls, so the reads are answered without waiting for the writes' WAL
/// write. (They share one slot: separate slots per kind meant more, smaller
/// calls and 10% less throughput on the 90/10 mix.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Runs without a transaction and never yields.
    Read,
    /// Runs in the batch's transaction.
    Write,
}

/// An encoded operation and where its encoded result goes.
struct Pending {
    kind: Kind,
    op: Vec<u8>,
    reply: oneshot::Sender<Result<Bytes, StorageError>>,
}

/// How big a batch may get.
#[derive(Debug, Clone, Copy)]
struct Limits {
    max_ops: usize,
    max_bytes: usize,
}

/// The submitting side; cheap to clone, used on the worker that opened it.
#[derive(Clone)]
pub struct Batcher {
    queue: mpsc::UnboundedSender<Pending>,
    connection: Connection,
}

impl Batcher {
    /// Starts the batching task for `connection` on the current worker.
    pub fn start(connection: Connection, settings: &TarantoolSettings) -> Batcher {
        let (queue, pending) = mpsc::unbounded_channel();
        let limits = Limits {
            max_ops: settings.batch_max_ops,
            max_bytes: settings.batch_max_bytes,
        };
        let slots = Arc::new(Semaphore::new(settings.batches_in_flight));
        actix_web::rt::spawn(run(pending, connection.clone(), limits, slots));
        Batcher { queue, connection }
    }

    /// Runs one encoded operation in the next batch; returns its encoded result.
    ///
    /// Fails fast when Tarantool is not connected, and gives up after the
    /// request timeout. An operation whose caller has given up before its
    /// batch is sent is dropped unsent, so a write answered 503 while still
    /// waiting here is never applied.
    pub async fn submit(&self, kind: Kind, op: Vec<u8>) -> Result<Bytes, StorageError> {
        let timeout = self.connection.timeout();
        let deadline = Instant::now() + timeout;
        self.connection.wait_until_connected(deadline).await?;
        let (reply, result) = oneshot::channel();
        self.queue
            .send(Pending { kind, op, reply })
            .map_err(|_| StorageError::Unavailable("the gateway is stopping".into()))?;
        match tokio::time::timeout_at(deadline, result).await {
            Err(_) => Err(StorageError::Timeout(timeout)),
            Ok(Err(_)) => Err(StorageError::Unavailable("the gateway is stopping".into())),
            Ok(Ok(result)) => result,
        }
    }
}

/// Takes what is waiting whenever a slot is free and sends it, reads and
/// writes as separate calls that share the slot.
async fn run(
    mut pending: mpsc::UnboundedReceiver<Pending>,
    connection: Connection,
    limits: Limits,
    slots: Arc<Semaphore>,
) {
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let Some(first) = pending.recv().await else {
            return;
        };
        let mut reads = Vec::new();
        let mut writes = Vec::new();
        let mut ops = 0;
        let mut bytes = 0;
        let mut next = Some(first);
        while let Some(item) = next.take() {
            // A caller that gave up (timeout, closed connection) gets nothing sent.
            if !item.reply.is_closed() {
                ops += 1;
                bytes += item.op.len();
                match item.kind {
                    Kind::Read => reads.push(item),
                    Kind::Write => writes.push(item),
                }
            }
            if ops < limits.max_ops && bytes < limits.max_bytes {
                next = pending.try_recv().ok();
            }
        }
        let slot = Rc::new(slot);
        for batch in [reads, writes] {
            if !batch.is_empty() {
                actix_web::rt::spawn(send(connection.clone(), batch, Rc::clone(&slot)));
            }
        }
    }
}

/// Sends one batch and hands every operation its result; the slot is free
/// again once all calls sharing it are done.
async fn send(connection: Connection, batch: Vec<Pending>, _slot: Rc<OwnedSemaphorePermit>) {
    let args = codec::batch_args(batch.iter().map(|p| p.op.as_slice()));
    let results = connection.call("kv_batch", args).await.and_then(|data| {
        codec::split_batch(&data, batch.len()).map_err(|e| StorageError::Protocol(e.to_string()))
    });
    match results {
        Ok(results) => {
            for (pending, result) in batch.into_iter().zip(results) {
                let _ = pending.reply.send(Ok(result));
            }
        }
        Err(err) => {
            for pending in batch {
                let _ = pending.reply.send(Err(err.duplicate()));
            }
        }
    }
}
