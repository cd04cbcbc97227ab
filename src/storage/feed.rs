//! The change feed as storage hands it out: its events after a revision,
//! read at once (`feed`, a batched read) or waited for (`kv_watch`, a call
//! of its own). See `tarantool/kv/feed.lua`.

use std::cell::OnceCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use super::codec::{self, Detail, JsonValue, Reply};
use super::outcome::Revision;
use super::protocol::{Op, Status};
use super::tarantool::{Connection, Probe};
use super::StorageError;
use crate::metrics::{ConnectionLabels, Metrics};
use crate::settings::TarantoolSettings;

/// What a change did to its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The record was created or its value changed.
    Put,
    /// The record was deleted.
    Delete,
    /// The record expired.
    Expire,
}

impl EventKind {
    /// The name clients see.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Put => "put",
            EventKind::Delete => "delete",
            EventKind::Expire => "expire",
        }
    }

    fn parse(name: &str) -> Option<EventKind> {
        match name {
            "put" => Some(EventKind::Put),
            "delete" => Some(EventKind::Delete),
            "expire" => Some(EventKind::Expire),
            _ => None,
        }
    }
}

/// One change of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEvent {
    /// The revision of the write.
    pub revision: Revision,
    /// The key it changed.
    pub key: String,
    /// What it did.
    pub kind: EventKind,
    /// The new value, for a put (`None` if it cannot be shown as JSON).
    pub value: Option<JsonValue>,
    /// Its Server-Sent Event, rendered once for every stream it goes to
    /// (by `stream_reply::sse_event`).
    pub sse: OnceCell<bytes::Bytes>,
}

impl FeedEvent {
    /// About how many bytes it takes to send.
    pub fn size(&self) -> usize {
        self.key.len() + self.value.as_ref().map_or(0, |v| v.as_bytes().len()) + 64
    }
}

/// The feed after a revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedOutcome {
    /// The events after it (in revision order, possibly none yet).
    Events {
        /// The events, shared by every watcher they go to.
        events: Vec<Rc<FeedEvent>>,
        /// The last committed revision.
        committed: Revision,
    },
    /// Events after it are no longer all held, or it is later than any
    /// committed revision: the client must read the state anew.
    Compacted {
        /// The first revision the feed has every event from.
        oldest: Revision,
    },
}

/// A connection of its own for waiting on the feed (`kv_watch`). Not the
/// batches' connection: rusty_tarantool leaves Nagle's algorithm on, and a
/// call Tarantool holds would leave the batches' next requests waiting for
/// the delayed ACK of its request (40 ms each).
pub struct FeedWaiter {
    connection: Connection,
}

impl FeedWaiter {
    /// Opens worker `worker`'s connection, reporting to `metrics`; call it
    /// on the worker that will use it.
    pub fn open(settings: &TarantoolSettings, metrics: &Arc<Metrics>, worker: u16) -> FeedWaiter {
        let probe = Probe {
            metrics: Arc::clone(metrics),
            labels: ConnectionLabels {
                worker,
                connection: "feed",
            },
        };
        FeedWaiter {
            connection: Connection::open(settings, probe),
        }
    }

    /// The committed events after `since` (at most `limit`, about
    /// `max_bytes` of values), waiting up to `wait` for one.
    pub async fn wait(
        &self,
        since: Revision,
        limit: usize,
        max_bytes: usize,
        wait: Duration,
    ) -> Result<FeedOutcome, StorageError> {
        if let Err(err) = self.connection.wait_until_connected().await {
            self.connection.count_unsent("kv_watch");
            return Err(err);
        }
        let args = watch_args(since, limit, max_bytes, wait.as_secs_f64());
        let bound = wait + self.connection.timeout();
        let data = self.connection.call_within("kv_watch", args, bound).await?;
        let answer = codec::split_batch(&data, 1)
            .map_err(|e| StorageError::Internal(format!("kv_watch answered oddly: {e}")))?;
        let (reply, _) =
            codec::read_reply(&answer[0]).map_err(|e| StorageError::Internal(e.to_string()))?;
        outcome(&reply)
    }
}

/// `{'feed', since, limit, max_bytes}`; `since` nil asks for nothing but
/// the current revision.
pub fn op(since: Option<Revision>, limit: usize, max_bytes: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(24);
    let _ = rmp::encode::write_array_len(&mut out, 4);
    let _ = rmp::encode::write_str(&mut out, Op::Feed.name());
    since_arg(&mut out, since);
    let _ = rmp::encode::write_uint(&mut out, limit as u64);
    let _ = rmp::encode::write_uint(&mut out, max_bytes as u64);
    out
}

/// The arguments of `kv_watch(since, limit, max_bytes, timeout_s)`.
fn watch_args(since: Revision, limit: usize, max_bytes: usize, timeout_s: f64) -> Vec<u8> {
    let mut out = Vec::with_capacity(32);
    let _ = rmp::encode::write_array_len(&mut out, 4);
    let _ = rmp::encode::write_uint(&mut out, since);
    let _ = rmp::encode::write_uint(&mut out, limit as u64);
    let _ = rmp::encode::write_uint(&mut out, max_bytes as u64);
    let _ = rmp::encode::write_f64(&mut out, timeout_s);
    out
}

fn since_arg(out: &mut Vec<u8>, since: Option<Revision>) {
    match since {
        Some(revision) => {
            let _ = rmp::encode::write_uint(out, revision);
        }
        None => {
            let _ = rmp::encode::write_nil(out);
        }
    }
}

/// The outcome of a `feed` operation or a `kv_watch` call.
pub fn outcome(reply: &Reply<'_>) -> Result<FeedOutcome, StorageError> {
    let bad = |what: &str| StorageError::Internal(format!("an answer of the feed: {what}"));
    match (reply.status, reply.detail) {
        (Status::Compacted, _) => Ok(FeedOutcome::Compacted {
            oldest: reply.due_ms.ok_or_else(|| bad("no oldest revision"))?,
        }),
        (Status::Events, Detail::Array(rd, count)) => {
            let committed = reply.revision.ok_or_else(|| bad("no committed revision"))?;
            Ok(FeedOutcome::Events {
                events: events(rd, count).map_err(|e| bad(&e))?,
                committed,
            })
        }
        (Status::BadRequest, _) => Err(StorageError::Internal(format!(
            "Tarantool refused a feed read: {}",
            String::from_utf8_lossy(reply.bytes().unwrap_or_default())
        ))),
        _ => Err(bad(&format!("unexpected status {:?}", reply.status))),
    }
}

/// Revision, key, kind and value of each event, flat.
fn events(mut rd: &[u8], count: usize) -> Result<Vec<Rc<FeedEvent>>, String> {
    if !count.is_multiple_of(4) {
        return Err(format!("{count} values are no events"));
    }
    let mut events = Vec::with_capacity(count / 4);
    for _ in 0..count / 4 {
        let revision = rmp::decode::read_int::<u64, _>(&mut rd).map_err(|_| "revision")?;
        let (key, rest) = rmp::decode::read_str_from_slice(rd).map_err(|_| "key")?;
        let (kind, rest) = rmp::decode::read_str_from_slice(rest).map_err(|_| "kind")?;
        let kind = EventKind::parse(kind).ok_or_else(|| format!("kind {kind:?}"))?;
        rd = rest;
        let value = if rd.first() == Some(&0xc0) {
            rd = &rd[1..];
            None
        } else {
            let len = rmp::decode::read_str_len(&mut rd).map_err(|_| "value")? as usize;
            let bytes = rd.get(..len).ok_or("value cut short")?;
            rd = &rd[len..];
            // A value no write could have stored (bin, invalid UTF-8 from
            // another client) is shown as null rather than ending the feed.
            codec::msgpack_to_json(bytes).ok()
        };
        events.push(Rc::new(FeedEvent {
            revision,
            key: key.to_owned(),
            kind,
            value,
            sse: OnceCell::new(),
        }));
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn str_(out: &mut Vec<u8>, s: &str) {
        rmp::encode::write_str(out, s).unwrap();
    }

    fn answer(
        status: &str,
        events: &[(u64, &str, &str, Option<&[u8]>)],
        committed: u64,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        str_(&mut out, status);
        rmp::encode::write_array_len(&mut out, events.len() as u32 * 4).unwrap();
        for (revision, key, kind, value) in events {
            rmp::encode::write_uint(&mut out, *revision).unwrap();
            str_(&mut out, key);
            str_(&mut out, kind);
            match value {
                Some(bytes) => {
                    rmp::encode::write_str_len(&mut out, bytes.len() as u32).unwrap();
                    out.extend_from_slice(bytes);
                }
                None => rmp::encode::write_nil(&mut out).unwrap(),
            }
        }
        rmp::encode::write_uint(&mut out, committed).unwrap();
        rmp::encode::write_uint(&mut out, 1).unwrap();
        out
    }

    #[test]
    fn events_are_read_with_their_values_as_json() {
        let data = answer(
            "events",
            &[
                (
                    5,
                    "a",
                    "put",
                    Some(&[0x81, 0xa1, b'x', 0xcb, 0x40, 0, 0, 0, 0, 0, 0, 0]),
                ),
                (6, "b", "delete", None),
                (7, "c", "expire", None),
            ],
            9,
        );
        let (reply, _) = codec::read_reply(&data).unwrap();
        let FeedOutcome::Events { events, committed } = outcome(&reply).unwrap() else {
            panic!("not events");
        };
        assert_eq!(committed, 9);
        assert_eq!(events.len(), 3);
        assert_eq!(
            events[0].value.as_ref().unwrap().as_bytes(),
            br#"{"x":2.0}"#
        );
        assert_eq!(events[1].kind, EventKind::Delete);
        assert_eq!(events[2].kind, EventKind::Expire);
        assert_eq!(events[2].revision, 7);
    }

    #[test]
    fn a_compacted_answer_names_the_oldest_revision() {
        let mut data = Vec::new();
        str_(&mut data, "compacted");
        rmp::encode::write_nil(&mut data).unwrap();
        rmp::encode::write_uint(&mut data, 40).unwrap();
        rmp::encode::write_uint(&mut data, 12).unwrap();
        let (reply, _) = codec::read_reply(&data).unwrap();
        assert_eq!(
            outcome(&reply).unwrap(),
            FeedOutcome::Compacted { oldest: 12 }
        );
    }

    #[test]
    fn an_unknown_kind_is_a_disagreement() {
        let data = answer("events", &[(1, "a", "rename", None)], 1);
        let (reply, _) = codec::read_reply(&data).unwrap();
        assert!(matches!(outcome(&reply), Err(StorageError::Internal(_))));
    }
}
