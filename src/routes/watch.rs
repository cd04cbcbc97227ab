//! `GET /watch?prefix=&since=` (or `?key=`): the change feed as
//! Server-Sent Events, for curl and browsers' `EventSource`.

use std::rc::Rc;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::web::{Bytes, BytesMut};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::Stream;
use tokio::time::{interval_at, Instant, Interval, MissedTickBehavior};

use crate::error::ApiError;
use crate::metrics::OpenStream;
use crate::query::Query;
use crate::settings::LimitSettings;
use crate::stream_reply::{sse_compacted, sse_event, sse_opening, SSE_HEARTBEAT};
use crate::stream_settings::WatchSettings;
use crate::watch::request::{filter_of, refusal, revision_of};
use crate::watch::{CloseReason, Hub, Next, Outbox, Outgoing, WatchId};

/// A reconnecting `EventSource` says where it was with this header.
const LAST_EVENT_ID: &str = "last-event-id";

/// Opens a stream of the changes after `since` (or `Last-Event-ID`, which
/// wins: it is where a reconnecting client really was), or from now on.
/// 410 before the stream starts when the feed no longer holds them all.
pub async fn watch(
    req: HttpRequest,
    hub: web::Data<Hub>,
    settings: web::Data<WatchSettings>,
    limits: web::Data<LimitSettings>,
) -> Result<HttpResponse, ApiError> {
    let query = Query::parse(req.query_string(), &["prefix", "key", "since"])?;
    let filter = filter_of(query.get("key"), query.get("prefix"), limits.max_key_bytes)?;
    let mut since = query
        .get("since")
        .map(|text| revision_of(text, "since"))
        .transpose()?;
    if let Some(last) = req.headers().get(LAST_EVENT_ID) {
        let text = last
            .to_str()
            .map_err(|_| ApiError::InvalidHeader("Last-Event-ID must be a revision".into()))?;
        since = Some(revision_of(text, "Last-Event-ID").map_err(|_| {
            ApiError::InvalidHeader(format!("Last-Event-ID must be a revision, not {text:?}"))
        })?);
    }
    let opening = hub.open(filter, since).await.map_err(refusal)?;
    let start = opening.start;
    let outbox = hub.outbox();
    let id = hub.attach(opening, Rc::clone(&outbox), None);
    let stream = Sse {
        _open: hub.open_stream("sse"),
        hub: Hub::clone(&hub),
        id,
        outbox,
        heartbeat: heartbeat(settings.heartbeat()),
        opening: Some(sse_opening(start)),
        done: false,
    };
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/event-stream"))
        .insert_header((CACHE_CONTROL, "no-cache"))
        // nginx would otherwise buffer the stream (the LB in front of us).
        .insert_header(("x-accel-buffering", "no"))
        .streaming(stream.into_stream()))
}

fn heartbeat(period: std::time::Duration) -> Interval {
    let mut interval = interval_at(Instant::now() + period, period);
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    interval
}

/// One open stream; detaches its watcher when actix drops it (the client
/// went away, or the stream ended).
struct Sse {
    _open: OpenStream,
    hub: Hub,
    id: WatchId,
    outbox: Rc<Outbox>,
    heartbeat: Interval,
    opening: Option<Vec<u8>>,
    done: bool,
}

impl Drop for Sse {
    fn drop(&mut self) {
        self.hub.detach(self.id);
    }
}

impl Sse {
    fn into_stream(self) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
        futures_util::stream::unfold(self, |mut sse| async move {
            let chunk = sse.next_chunk().await?;
            Some((chunk, sse))
        })
    }

    /// The next piece of the stream; `None` ends it cleanly, an error drops
    /// the connection (a client that fell behind gets no clean end).
    async fn next_chunk(&mut self) -> Option<Result<Bytes, std::io::Error>> {
        if self.done {
            return None;
        }
        if let Some(opening) = self.opening.take() {
            return Some(Ok(Bytes::from(opening)));
        }
        tokio::select! {
            next = self.outbox.next() => match next {
                Next::Item(item) => Some(Ok(self.with_queued(item))),
                Next::Closed(CloseReason::Compacted { oldest }) => {
                    self.done = true;
                    Some(Ok(Bytes::from(sse_compacted(oldest))))
                }
                Next::Closed(CloseReason::Overflow) => Some(Err(std::io::Error::other(
                    "the client fell too far behind the changes (watch.max_queued_bytes)",
                ))),
                Next::Closed(CloseReason::Stopping | CloseReason::Gone) => None,
            },
            _ = self.heartbeat.tick() => Some(Ok(Bytes::from_static(SSE_HEARTBEAT))),
        }
    }

    /// `first` and the events queued behind it, up to `CHUNK` bytes, as
    /// one chunk: a stream that falls behind catches up in few writes.
    fn with_queued(&self, first: Outgoing) -> Bytes {
        let first = chunk_of(first);
        let Some(mut next) = self.outbox.try_next() else {
            return first;
        };
        let mut out = BytesMut::from(&first[..]);
        loop {
            out.extend_from_slice(&chunk_of(next));
            if out.len() >= CHUNK {
                break;
            }
            match self.outbox.try_next() {
                Some(item) => next = item,
                None => break,
            }
        }
        out.freeze()
    }
}

/// How much of a backlog goes in one write.
const CHUNK: usize = 64 * 1024;

fn chunk_of(item: Outgoing) -> Bytes {
    match item {
        Outgoing::Event { event, .. } => sse_event(&event),
        Outgoing::Text(text) => Bytes::from(text),
    }
}
