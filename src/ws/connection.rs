//! One WebSocket connection: a reader that handles the client's messages
//! one at a time, in order, and a writer that sends what the connection's
//! outbox holds (replies and watch events, in the order they were queued).
//! The outbox is bounded: a client that does not read what it is sent is
//! closed (1008), never buffered without end.

use std::collections::HashMap;
use std::net::IpAddr;
use std::rc::Rc;

use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, ProtocolError, Session};
use tokio::time::{interval_at, Instant, MissedTickBehavior};

use super::message::{self, Command};
use super::WsData;
use crate::client_ip::SharedLimiter;
use crate::error::ApiError;
use crate::metrics::ProtocolLabels;
use crate::routes::kv::Ctx;
use crate::stream_reply::{ws_error, ws_event, ws_reply, ws_unwatched, ws_watching};
use crate::watch::request::refusal;
use crate::watch::{CloseReason, Next, Outbox, Outgoing, WatchId};

/// A connection being served.
pub struct Connection {
    ctx: Ctx,
    data: WsData,
    rate: Option<(SharedLimiter, IpAddr)>,
    session: Session,
    outbox: Rc<Outbox>,
    /// This connection's watches: the id a client gave (JSON text) to the
    /// hub's watcher.
    watches: HashMap<String, WatchId>,
}

/// What the reader does next.
enum Step {
    Go,
    Stop,
}

impl Connection {
    /// A connection over `session`; `rate` is the limiter and the client's
    /// bucket, when rate limiting is on.
    pub fn new(
        ctx: Ctx,
        data: WsData,
        rate: Option<(SharedLimiter, IpAddr)>,
        session: Session,
    ) -> Connection {
        let outbox = data.hub.outbox();
        Connection {
            ctx,
            data,
            rate,
            session,
            outbox,
            watches: HashMap::new(),
        }
    }

    /// Serves the connection until either side ends it.
    pub async fn serve(mut self, mut stream: AggregatedMessageStream) {
        let _open = self.data.hub.open_stream("websocket");
        let mut writer = actix_web::rt::spawn(write(self.session.clone(), Rc::clone(&self.outbox)));
        let settings = self.data.websocket.clone();
        let mut ping = interval_at(
            Instant::now() + settings.ping_interval(),
            settings.ping_interval(),
        );
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();
        let stopping = self.data.stopping.clone();
        let stop = stopping.notified();
        tokio::pin!(stop);
        let (mut writer_done, mut stop_seen) = (false, false);
        loop {
            let step = tokio::select! {
                // The writer ends when the outbox closes (a client too far
                // behind, a shutdown) or the session is gone.
                _ = &mut writer, if !writer_done => {
                    writer_done = true;
                    Step::Stop
                }
                () = &mut stop, if !stop_seen => {
                    stop_seen = true;
                    self.outbox.close(CloseReason::Stopping);
                    Step::Go
                }
                message = stream.recv() => {
                    last_heard = Instant::now();
                    match message {
                        None => Step::Stop,
                        Some(message) => self.on_message(message).await,
                    }
                }
                _ = ping.tick() => self.on_tick(last_heard).await,
            };
            if let Step::Stop = step {
                break;
            }
        }
        for id in self.watches.values() {
            self.data.hub.detach(*id);
        }
        // Lets the writer send what it still must (a close frame), then
        // drops every handle on the session, which ends the response.
        self.outbox.close(CloseReason::Gone);
        if !writer_done {
            let _ = writer.await;
        }
    }

    async fn on_message(&mut self, message: Result<AggregatedMessage, ProtocolError>) -> Step {
        match message {
            Ok(AggregatedMessage::Text(text)) => {
                self.on_text(&text).await;
                Step::Go
            }
            Ok(AggregatedMessage::Binary(_)) => {
                self.answer_malformed("binary messages are not taken; send JSON text");
                Step::Go
            }
            Ok(AggregatedMessage::Ping(bytes)) => {
                let _ = self.session.pong(&bytes).await;
                Step::Go
            }
            Ok(AggregatedMessage::Pong(_)) => Step::Go,
            // The writer sends what is queued (replies to earlier
            // messages), then the closing frame.
            Ok(AggregatedMessage::Close(_)) => Step::Stop,
            Err(ProtocolError::Io(err)) if err.kind() == std::io::ErrorKind::InvalidData => {
                // A text frame that is not UTF-8: the frame is consumed, the
                // stream goes on.
                self.answer_malformed("a text message must be UTF-8");
                Step::Go
            }
            Err(ProtocolError::Overflow) => {
                let reason = (CloseCode::Size, "message too big").into();
                let _ = self.session.clone().close(Some(reason)).await;
                Step::Stop
            }
            Err(err) => {
                log::debug!("a WebSocket client broke the protocol: {err}");
                Step::Stop
            }
        }
    }

    /// Pings a client not heard from for a while; closes one that stays
    /// silent for `websocket.idle_timeout_ms`.
    async fn on_tick(&mut self, last_heard: Instant) -> Step {
        let settings = &self.data.websocket;
        let silent = last_heard.elapsed();
        if silent >= settings.idle_timeout() {
            let reason = (CloseCode::Away, "no answer to pings").into();
            let _ = self.session.clone().close(Some(reason)).await;
            return Step::Stop;
        }
        if silent >= settings.ping_interval() {
            let _ = self.session.ping(b"").await;
        }
        Step::Go
    }

    fn answer_malformed(&mut self, detail: &str) {
        if self.rate_limited() {
            self.send(ws_error("null", &ApiError::TooManyRequests));
            return;
        }
        self.send(ws_error("null", &ApiError::InvalidBody(detail.into())));
    }

    async fn on_text(&mut self, text: &str) {
        let parsed = message::parse(text, &self.ctx.limits);
        let id = parsed.id;
        if self.rate_limited() {
            self.send(ws_error(&id, &ApiError::TooManyRequests));
            return;
        }
        let reply = match parsed.command {
            Err(err) => ws_error(&id, &err),
            Ok(Command::Kv(request)) => ws_reply(&id, &request.run(&self.ctx.storage).await),
            Ok(Command::Watch { filter, since }) => {
                let hub = &self.data.hub;
                if self.watches.get(&id).is_some_and(|w| hub.is_attached(*w)) {
                    ws_error(
                        &id,
                        &ApiError::InvalidBody(format!("watch {id} is running already")),
                    )
                } else if self.active_watches() >= self.data.websocket.max_watches {
                    ws_error(
                        &id,
                        &ApiError::InvalidBody(format!(
                            "a connection runs at most {} watches (websocket.max_watches)",
                            self.data.websocket.max_watches
                        )),
                    )
                } else {
                    match hub.open(filter, since).await {
                        Err(err) => ws_error(&id, &refusal(err)),
                        Ok(opening) => {
                            // The reply goes first, then the watch's events.
                            self.send(ws_watching(&id, opening.start));
                            let tag: Rc<str> = Rc::from(id.as_str());
                            let watch = hub.attach(opening, Rc::clone(&self.outbox), Some(tag));
                            self.watches.insert(id, watch);
                            return;
                        }
                    }
                }
            }
            Ok(Command::Unwatch) => match self.watches.remove(&id) {
                Some(watch) if self.data.hub.is_attached(watch) => {
                    self.data.hub.detach(watch);
                    ws_unwatched(&id)
                }
                _ => ws_error(
                    &id,
                    &ApiError::InvalidBody(format!("no watch {id} runs on this connection")),
                ),
            },
        };
        self.send(reply);
    }

    fn active_watches(&self) -> usize {
        let hub = &self.data.hub;
        self.watches
            .values()
            .filter(|w| hub.is_attached(**w))
            .count()
    }

    fn rate_limited(&self) -> bool {
        let limited = self
            .rate
            .as_ref()
            .is_some_and(|(limiter, key)| limiter.check_key(key).is_err());
        if limited {
            self.data
                .metrics
                .rate_limited
                .get_or_create(&ProtocolLabels {
                    protocol: "websocket",
                })
                .inc();
        }
        limited
    }

    /// Queues a message; a client too far behind is closed by the writer.
    fn send(&self, text: String) {
        self.outbox.push(Outgoing::Text(text));
    }
}

/// Sends what the outbox holds until it closes; then closes the session as
/// the reason asks (a client that fell behind: 1008; a shutdown: 1001;
/// otherwise a plain close, also the answer to the client's own).
async fn write(mut session: Session, outbox: Rc<Outbox>) {
    loop {
        let text = match outbox.next().await {
            Next::Item(Outgoing::Text(text)) => text,
            Next::Item(Outgoing::Event { watch, event }) => {
                ws_event(watch.as_deref().unwrap_or("null"), &event)
            }
            Next::Closed(reason) => {
                let close = match reason {
                    CloseReason::Overflow => Some((
                        CloseCode::Policy,
                        "too far behind: more unsent messages than watch.max_queued_bytes",
                    )),
                    CloseReason::Stopping => {
                        Some((CloseCode::Away, "the gateway is shutting down"))
                    }
                    CloseReason::Compacted { .. } | CloseReason::Gone => None,
                };
                let _ = session.close(close.map(Into::into)).await;
                return;
            }
        };
        if session.text(text).await.is_err() {
            return;
        }
    }
}
