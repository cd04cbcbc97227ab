//! What waits to be sent to one client of a stream (an SSE response or a
//! WebSocket connection): bounded in bytes, so a client that reads slower
//! than changes happen is disconnected instead of growing memory.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use prometheus_client::metrics::counter::Counter;
use tokio::sync::Notify;

use crate::storage::{FeedEvent, Revision};

/// One message to send.
#[derive(Debug, Clone)]
pub enum Outgoing {
    /// A change, for the watch named by `watch` (a WebSocket watch's id as
    /// JSON text; `None` on an SSE stream, which is one watch).
    Event {
        /// The watch it is for.
        watch: Option<Rc<str>>,
        /// The change, shared with every other watcher it goes to.
        event: Rc<FeedEvent>,
    },
    /// A finished text message (a WebSocket reply).
    Text(String),
}

impl Outgoing {
    fn size(&self) -> usize {
        match self {
            Outgoing::Event { watch, event } => {
                event.size() + watch.as_ref().map_or(0, |w| w.len())
            }
            Outgoing::Text(text) => text.len(),
        }
    }
}

/// Why a stream ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The client fell more than the queue's bound behind.
    Overflow,
    /// The feed no longer holds events the watcher has not seen yet.
    Compacted {
        /// The first revision the feed has every event from.
        oldest: Revision,
    },
    /// The gateway is shutting down.
    Stopping,
    /// The client went away.
    Gone,
}

/// What `Outbox::next` gives.
#[derive(Debug)]
pub enum Next {
    /// The next message.
    Item(Outgoing),
    /// Nothing more will come.
    Closed(CloseReason),
}

/// A bounded queue of messages for one client; lives on one worker.
#[derive(Debug)]
pub struct Outbox {
    items: RefCell<VecDeque<Outgoing>>,
    bytes: Cell<usize>,
    limit: usize,
    closed: Cell<Option<CloseReason>>,
    ready: Notify,
    drained: Notify,
    /// Counts the clients disconnected for falling behind.
    slow: Counter,
}

impl Outbox {
    /// An empty outbox holding at most `limit` bytes (one message, however
    /// big, always fits); an overflow counts in `slow`.
    pub fn new(limit: usize, slow: Counter) -> Rc<Outbox> {
        Rc::new(Outbox {
            items: RefCell::new(VecDeque::new()),
            bytes: Cell::new(0),
            limit,
            closed: Cell::new(None),
            ready: Notify::new(),
            drained: Notify::new(),
            slow,
        })
    }

    /// Queues `item`; false if the outbox is closed, or now closes because
    /// `item` would take it over its bound.
    pub fn push(&self, item: Outgoing) -> bool {
        if self.closed.get().is_some() {
            return false;
        }
        let size = item.size();
        if !self.items.borrow().is_empty() && self.bytes.get() + size > self.limit {
            self.close(CloseReason::Overflow);
            return false;
        }
        self.bytes.set(self.bytes.get() + size);
        self.items.borrow_mut().push_back(item);
        self.ready.notify_one();
        true
    }

    /// Ends the stream: what is queued is still handed out, except after an
    /// overflow, which drops it. The first reason sticks.
    pub fn close(&self, reason: CloseReason) {
        if self.closed.get().is_some() {
            return;
        }
        self.closed.set(Some(reason));
        if reason == CloseReason::Overflow {
            self.items.borrow_mut().clear();
            self.bytes.set(0);
            let count = self.slow.inc() + 1;
            log::warn!(
                "disconnecting a client that fell behind: more than {} bytes waited to be \
                 sent to it (watch.max_queued_bytes); {count} so far",
                self.limit
            );
        }
        self.ready.notify_one();
        self.drained.notify_waiters();
    }

    /// Why it is closed, if it is.
    pub fn closed(&self) -> Option<CloseReason> {
        self.closed.get()
    }

    /// The next message if one is queued now.
    pub fn try_next(&self) -> Option<Outgoing> {
        let item = self.items.borrow_mut().pop_front()?;
        self.bytes.set(self.bytes.get() - item.size());
        if self.bytes.get() <= self.limit / 2 {
            self.drained.notify_waiters();
        }
        Some(item)
    }

    /// The next message, waiting for one; after the last, why it closed.
    pub async fn next(&self) -> Next {
        loop {
            if let Some(item) = self.try_next() {
                return Next::Item(item);
            }
            if let Some(reason) = self.closed.get() {
                return Next::Closed(reason);
            }
            self.ready.notified().await;
        }
    }

    /// Waits until at most half the bound is taken (or it is closed): a
    /// watcher catching up on history reads on only as fast as it sends.
    pub async fn room(&self) {
        loop {
            let drained = self.drained.notified();
            if self.bytes.get() <= self.limit / 2 || self.closed.get().is_some() {
                return;
            }
            drained.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(n: usize) -> Outgoing {
        Outgoing::Text("x".repeat(n))
    }

    #[tokio::test]
    async fn items_come_out_in_order_then_the_close_reason() {
        let outbox = Outbox::new(100, Counter::default());
        assert!(outbox.push(text(10)));
        assert!(outbox.push(text(20)));
        outbox.close(CloseReason::Stopping);
        assert!(!outbox.push(text(1)));
        assert!(matches!(outbox.next().await, Next::Item(Outgoing::Text(t)) if t.len() == 10));
        assert!(matches!(outbox.next().await, Next::Item(Outgoing::Text(t)) if t.len() == 20));
        assert!(matches!(
            outbox.next().await,
            Next::Closed(CloseReason::Stopping)
        ));
    }

    #[tokio::test]
    async fn going_over_the_bound_closes_it_and_drops_what_waits() {
        let outbox = Outbox::new(100, Counter::default());
        // One message always fits, however big.
        assert!(outbox.push(text(500)));
        assert!(!outbox.push(text(1)));
        assert_eq!(outbox.closed(), Some(CloseReason::Overflow));
        assert!(matches!(
            outbox.next().await,
            Next::Closed(CloseReason::Overflow)
        ));
    }

    #[tokio::test]
    async fn room_waits_until_half_is_sent() {
        let outbox = Outbox::new(100, Counter::default());
        assert!(outbox.push(text(40)));
        assert!(outbox.push(text(40)));
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(20), outbox.room());
        assert!(waiting.await.is_err(), "80 of 100 bytes leave no room");
        let _ = outbox.next().await;
        tokio::time::timeout(std::time::Duration::from_millis(20), outbox.room())
            .await
            .expect("40 of 100 bytes leave room");
    }
}
