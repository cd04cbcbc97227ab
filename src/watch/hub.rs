//! One reader of the change feed per worker, for all of the worker's
//! watchers: while any watcher is attached it keeps one long poll
//! (`kv_watch`) waiting in Tarantool and hands each event to the watchers
//! that want it, so N watchers cost Tarantool one call, not N.
//!
//! A watcher starts at a revision. Its first page of events is read when it
//! opens; if the hub has read further than that page reaches, the watcher
//! catches up on its own with more pages (read only as fast as its client
//! takes them), and joins the hub's hand-out once it has reached the hub's
//! position. Every watcher remembers the last revision it has been given,
//! so no event reaches it twice and none is skipped.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use super::outbox::{CloseReason, Outbox, Outgoing};
use super::Filter;
use crate::error::ApiError;
use crate::metrics::{Metrics, OpenStream, ReasonLabels};
use crate::settings::TarantoolSettings;
use crate::storage::{FeedEvent, FeedOutcome, FeedWaiter, Revision, Storage, StorageError};
use crate::stream_reply::ws_watch_ended;
use crate::stream_settings::WatchSettings;

/// Names one attached watcher on its worker.
pub type WatchId = u64;

/// Why a watch cannot start.
#[derive(Debug)]
pub enum WatchError {
    /// The feed no longer holds every event after the revision asked for.
    Compacted {
        /// The first revision the feed has every event from.
        oldest: Revision,
    },
    /// The feed could not be read.
    Storage(StorageError),
    /// The gateway is shutting down.
    Stopping,
    /// `watch.max_watchers` watchers are attached already.
    TooMany(usize),
}

/// A watch whose first events are read, not attached yet: its opener can
/// answer (a status, a reply) before the events follow.
#[derive(Debug)]
pub struct Opening {
    filter: Filter,
    /// The revision the watch starts after.
    pub start: Revision,
    first: Vec<Rc<FeedEvent>>,
    committed: Revision,
}

/// The worker's hub; clones share it.
#[derive(Clone)]
pub struct Hub {
    inner: Rc<Inner>,
}

struct Inner {
    storage: Storage,
    /// Opened when the poller first runs.
    waiter: RefCell<Option<Rc<FeedWaiter>>>,
    tarantool: TarantoolSettings,
    settings: WatchSettings,
    /// The gateway's metrics; its `watchers` gauge counts the watchers
    /// attached on every worker, for `watch.max_watchers`.
    metrics: Arc<Metrics>,
    /// This worker's number.
    worker: u16,
    state: RefCell<State>,
}

#[derive(Default)]
struct State {
    /// The revision the hub has handed out up to; `Some` while its poller runs.
    position: Option<Revision>,
    watchers: HashMap<WatchId, Watcher>,
    next_id: WatchId,
    stopping: bool,
}

struct Watcher {
    filter: Filter,
    /// The last revision it has been given (or has no interest in).
    after: Revision,
    outbox: Rc<Outbox>,
    tag: Option<Rc<str>>,
    /// Whether the hub hands it events (else it is catching up).
    live: bool,
}

/// The longest pause between attempts while the feed cannot be read.
const MAX_RETRY: Duration = Duration::from_secs(2);

impl Hub {
    /// Worker `worker`'s hub, reading through `storage` (and, for its long
    /// polls, a connection of its own to `tarantool`).
    pub fn new(
        storage: Storage,
        tarantool: TarantoolSettings,
        settings: WatchSettings,
        metrics: Arc<Metrics>,
        worker: u16,
    ) -> Hub {
        Hub {
            inner: Rc::new(Inner {
                storage,
                waiter: RefCell::new(None),
                tarantool,
                settings,
                metrics,
                worker,
                state: RefCell::default(),
            }),
        }
    }

    /// Reads the first events of a watch of `filter` after `since` (`None`:
    /// from the current revision on, no history).
    pub async fn open(
        &self,
        filter: Filter,
        since: Option<Revision>,
    ) -> Result<Opening, WatchError> {
        if self.inner.state.borrow().stopping {
            return Err(WatchError::Stopping);
        }
        let max = self.inner.settings.max_watchers;
        if self.inner.metrics.watchers.get() >= max as i64 {
            return Err(WatchError::TooMany(max));
        }
        match self.read(since).await.map_err(WatchError::Storage)? {
            FeedOutcome::Compacted { oldest } => Err(WatchError::Compacted { oldest }),
            FeedOutcome::Events { events, committed } => Ok(Opening {
                filter,
                start: since.unwrap_or(committed),
                first: events,
                committed,
            }),
        }
    }

    /// Attaches an opened watch: its events go to `outbox`, tagged `tag`.
    pub fn attach(&self, opening: Opening, outbox: Rc<Outbox>, tag: Option<Rc<str>>) -> WatchId {
        let mut watcher = Watcher {
            filter: opening.filter,
            after: opening.start,
            outbox,
            tag,
            live: false,
        };
        let mut state = self.inner.state.borrow_mut();
        let id = state.next_id;
        state.next_id += 1;
        if state.stopping {
            watcher.outbox.close(CloseReason::Stopping);
            return id;
        }
        if !deliver(&mut watcher, &opening.first) {
            return id;
        }
        finish_page(&mut watcher, &opening.first, opening.committed);
        self.inner.metrics.watchers.inc();
        let live = self.settle(&mut state, &mut watcher);
        state.watchers.insert(id, watcher);
        drop(state);
        if !live {
            actix_web::rt::spawn(self.clone().catch_up(id));
        }
        id
    }

    /// An empty outbox for one client, bounded by `watch.max_queued_bytes`.
    pub fn outbox(&self) -> Rc<Outbox> {
        let slow = self
            .inner
            .metrics
            .stream_disconnects
            .get_or_create_owned(&ReasonLabels { reason: "slow" });
        Outbox::new(self.inner.settings.max_queued_bytes, slow)
    }

    /// Counts an open stream of `kind` (`sse`, `websocket`) until dropped.
    pub fn open_stream(&self, kind: &'static str) -> OpenStream {
        OpenStream::new(&self.inner.metrics, kind)
    }

    /// Detaches a watch (its client is gone, or unwatched it); its outbox
    /// is its owner's to close.
    pub fn detach(&self, id: WatchId) {
        let removed = self.inner.state.borrow_mut().watchers.remove(&id);
        if removed.is_some() {
            self.inner.metrics.watchers.dec();
        }
    }

    /// Whether watch `id` still runs (a watch the feed left behind ends).
    pub fn is_attached(&self, id: WatchId) -> bool {
        self.inner.state.borrow().watchers.contains_key(&id)
    }

    /// Ends every stream and takes no more: the gateway is shutting down.
    pub fn stop(&self) {
        let mut state = self.inner.state.borrow_mut();
        state.stopping = true;
        for (_, watcher) in state.watchers.drain() {
            watcher.outbox.close(CloseReason::Stopping);
            self.inner.metrics.watchers.dec();
        }
    }

    /// Makes `watcher` live if it has reached the hub's position (starting
    /// the poller there if none runs); returns whether it did.
    fn settle(&self, state: &mut State, watcher: &mut Watcher) -> bool {
        match state.position {
            None => {
                state.position = Some(watcher.after);
                actix_web::rt::spawn(self.clone().poll());
            }
            Some(position) if watcher.after >= position => {}
            Some(_) => return false,
        }
        watcher.live = true;
        true
    }

    async fn read(&self, since: Option<Revision>) -> Result<FeedOutcome, StorageError> {
        let settings = &self.inner.settings;
        self.inner
            .storage
            .feed(since, settings.batch_events, page_bytes(settings))
            .await
    }

    /// Reads pages for watcher `id` until it reaches the hub's position.
    async fn catch_up(self, id: WatchId) {
        let mut failures = 0;
        loop {
            let Some((outbox, after)) = self.with(id, |w| (w.outbox.clone(), w.after)) else {
                return;
            };
            outbox.room().await;
            if outbox.closed().is_some() {
                self.detach(id);
                return;
            }
            let page = match self.read(Some(after)).await {
                Ok(page) => page,
                Err(err) => {
                    failures += 1;
                    log::debug!("a watcher cannot read the change feed: {err}");
                    tokio::time::sleep(retry_pause(failures)).await;
                    continue;
                }
            };
            failures = 0;
            let (events, committed) = match page {
                FeedOutcome::Compacted { oldest } => {
                    if let Some(watcher) = self.inner.state.borrow().watchers.get(&id) {
                        left_behind(watcher, oldest);
                    }
                    self.detach(id);
                    return;
                }
                FeedOutcome::Events { events, committed } => (events, committed),
            };
            let mut state = self.inner.state.borrow_mut();
            let Some(mut watcher) = state.watchers.remove(&id) else {
                return;
            };
            if !deliver(&mut watcher, &events) {
                drop(state);
                self.inner.metrics.watchers.dec();
                return;
            }
            finish_page(&mut watcher, &events, committed);
            let live = self.settle(&mut state, &mut watcher);
            state.watchers.insert(id, watcher);
            if live {
                return;
            }
        }
    }

    /// The poller: one long poll at a time from the hub's position, each
    /// answer handed to every live watcher. Stops when no watcher is left.
    async fn poll(self) {
        let settings = self.inner.settings.clone();
        let waiter = Rc::clone(self.inner.waiter.borrow_mut().get_or_insert_with(|| {
            let inner = &self.inner;
            Rc::new(FeedWaiter::open(
                &inner.tarantool,
                &inner.metrics,
                inner.worker,
            ))
        }));
        let mut failures = 0;
        loop {
            let since = {
                let mut state = self.inner.state.borrow_mut();
                match state.position {
                    Some(position) if !state.stopping && !state.watchers.is_empty() => position,
                    _ => {
                        state.position = None;
                        return;
                    }
                }
            };
            let answer = waiter
                .wait(
                    since,
                    settings.batch_events,
                    page_bytes(&settings),
                    settings.poll_wait(),
                )
                .await;
            match answer {
                Ok(FeedOutcome::Events { events, committed }) => {
                    failures = 0;
                    let reached = events.last().map_or(committed, |event| event.revision);
                    let mut state = self.inner.state.borrow_mut();
                    self.hand_out(&mut state, &events);
                    state.position = Some(reached.max(since));
                }
                Ok(FeedOutcome::Compacted { oldest }) => {
                    // The hub fell behind the feed's retention, or the store
                    // was replaced: its watchers must read the state anew.
                    log::warn!(
                        "the change feed has no events after revision {since} any more; \
                         ending the streams that were there"
                    );
                    let mut state = self.inner.state.borrow_mut();
                    let gone: Vec<WatchId> = state
                        .watchers
                        .iter()
                        .filter(|(_, w)| w.live)
                        .map(|(id, _)| *id)
                        .collect();
                    for id in gone {
                        if let Some(watcher) = state.watchers.remove(&id) {
                            left_behind(&watcher, oldest);
                            self.inner.metrics.watchers.dec();
                        }
                    }
                    state.position = None;
                    return;
                }
                Err(err) => {
                    failures += 1;
                    if failures == 1 {
                        log::warn!("cannot read the change feed: {err}; retrying");
                    }
                    tokio::time::sleep(retry_pause(failures)).await;
                }
            }
        }
    }

    /// Gives `events` to every live watcher that wants them; drops those
    /// whose client has gone or fell behind.
    fn hand_out(&self, state: &mut State, events: &[Rc<FeedEvent>]) {
        let mut dropped = Vec::new();
        for (id, watcher) in state.watchers.iter_mut().filter(|(_, w)| w.live) {
            if watcher.outbox.closed().is_some() || !deliver(watcher, events) {
                dropped.push(*id);
            }
        }
        for id in dropped {
            if state.watchers.remove(&id).is_some() {
                self.inner.metrics.watchers.dec();
            }
        }
    }

    fn with<T>(&self, id: WatchId, f: impl FnOnce(&Watcher) -> T) -> Option<T> {
        self.inner.state.borrow().watchers.get(&id).map(f)
    }
}

/// Tells a watcher the feed no longer holds its next events: an SSE stream
/// ends; a WebSocket watch ends with a message, its connection stays.
fn left_behind(watcher: &Watcher, oldest: Revision) {
    match &watcher.tag {
        Some(watch) => {
            let error = ApiError::RevisionCompacted { oldest };
            watcher
                .outbox
                .push(Outgoing::Text(ws_watch_ended(watch, &error)));
        }
        None => watcher.outbox.close(CloseReason::Compacted { oldest }),
    }
}

/// Queues the events of `events` that `watcher` wants and has not had;
/// false if its outbox is closed (or just overflowed).
fn deliver(watcher: &mut Watcher, events: &[Rc<FeedEvent>]) -> bool {
    for event in events {
        if event.revision <= watcher.after {
            continue;
        }
        if watcher.filter.matches(&event.key) {
            let item = Outgoing::Event {
                watch: watcher.tag.clone(),
                event: Rc::clone(event),
            };
            if !watcher.outbox.push(item) {
                return false;
            }
        }
        watcher.after = event.revision;
    }
    true
}

/// After a page: an empty page, or one that reached the last committed
/// revision, has shown everything up to it.
fn finish_page(watcher: &mut Watcher, events: &[Rc<FeedEvent>], committed: Revision) {
    if events
        .last()
        .is_none_or(|event| event.revision == committed)
    {
        watcher.after = watcher.after.max(committed);
    }
}

/// Values a page of events may hold: half a watcher's queue, so a page
/// always fits while the client keeps up.
fn page_bytes(settings: &WatchSettings) -> usize {
    (settings.max_queued_bytes / 2).max(1)
}

fn retry_pause(failures: u32) -> Duration {
    (Duration::from_millis(100) * 2u32.saturating_pow(failures.min(10))).min(MAX_RETRY)
}
