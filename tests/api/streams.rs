//! Clients for the streaming endpoints: a Server-Sent Events reader over a
//! real HTTP response, and a WebSocket client, each with timeouts so a
//! missing event fails the test instead of hanging it.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use reqwest::Response;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

/// How long a test waits for the next event or reply.
pub const WAIT: Duration = Duration::from_secs(10);

/// One Server-Sent Event.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    /// Its `id` (a revision).
    pub id: u64,
    /// Its `event` name.
    pub kind: String,
    /// Its `data`, parsed.
    pub data: Value,
}

/// An open `GET /watch` stream.
pub struct Sse {
    response: Response,
    buffer: String,
    /// Comment lines seen so far.
    pub comments: Vec<String>,
}

impl Sse {
    /// Opens `GET /watch?{query}` on `base` with extra headers; panics
    /// unless 200.
    pub async fn open(base: &str, query: &str, headers: &[(&str, &str)]) -> Sse {
        let response = watch_request(base, query, headers).await;
        assert_eq!(response.status(), 200, "GET /watch?{query}");
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Sse {
            response,
            buffer: String::new(),
            comments: Vec::new(),
        }
    }

    /// The next event, skipping comments; `None` when the stream ended.
    pub async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = self.parse_block(&block) {
                    return Some(event);
                }
                continue;
            }
            let chunk = tokio::time::timeout(WAIT, self.response.chunk())
                .await
                .expect("the stream went silent")
                .ok()??;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// The next `count` events.
    pub async fn take(&mut self, count: usize) -> Vec<SseEvent> {
        let mut events = Vec::new();
        while events.len() < count {
            events.push(self.next().await.expect("the stream ended early"));
        }
        events
    }

    fn parse_block(&mut self, block: &str) -> Option<SseEvent> {
        let (mut id, mut kind, mut data) = (None, None, None);
        for line in block.lines() {
            if let Some(comment) = line.strip_prefix(':') {
                self.comments.push(comment.trim().to_owned());
            } else if let Some(value) = line.strip_prefix("id: ") {
                id = Some(value.parse().unwrap());
            } else if let Some(value) = line.strip_prefix("event: ") {
                kind = Some(value.to_owned());
            } else if let Some(value) = line.strip_prefix("data: ") {
                data = Some(serde_json::from_str(value).unwrap());
            }
        }
        Some(SseEvent {
            id: id.unwrap_or(0),
            kind: kind?,
            data: data?,
        })
    }
}

/// `GET /watch?{query}` on `base` with extra headers, whatever it answers.
pub async fn watch_request(base: &str, query: &str, headers: &[(&str, &str)]) -> Response {
    let mut request = reqwest::Client::new().get(format!("{base}/watch?{query}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("GET /watch answers")
}

/// `(kind, key)` of events, for comparing sequences.
pub fn kinds_and_keys(events: &[SseEvent]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| (e.kind.clone(), e.data["key"].as_str().unwrap().to_owned()))
        .collect()
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket connection to `/ws`.
pub struct Ws {
    /// The socket.
    pub socket: Socket,
}

impl Ws {
    /// Connects to `base` (`http://127.0.0.1:PORT`).
    pub async fn connect(base: &str) -> Ws {
        let url = format!("{}/ws", base.replacen("http://", "ws://", 1));
        let (socket, response) = tokio_tungstenite::connect_async(url)
            .await
            .expect("the WebSocket handshake succeeds");
        assert_eq!(response.status(), 101);
        Ws { socket }
    }

    /// Sends a text message.
    pub async fn send_text(&mut self, text: impl Into<String>) {
        self.socket
            .send(Message::text(text.into()))
            .await
            .expect("the message is sent");
    }

    /// Sends a JSON message.
    pub async fn send(&mut self, message: &Value) {
        self.send_text(message.to_string()).await;
    }

    /// The next text message, parsed (pings are answered by the client).
    pub async fn recv(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(WAIT, self.socket.next())
                .await
                .expect("no message in time")
                .expect("the connection is open")
                .expect("a message");
            match message {
                Message::Text(text) => return serde_json::from_str(&text).unwrap(),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("expected a text message, got {other:?}"),
            }
        }
    }

    /// Sends `message` and returns the reply (the next text message).
    pub async fn call(&mut self, message: &Value) -> Value {
        self.send(message).await;
        self.recv().await
    }

    /// Reads until the server closes; returns the close code, if any.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            match tokio::time::timeout(WAIT, self.socket.next())
                .await
                .expect("the server did not close in time")
            {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                Some(Err(err)) => {
                    eprintln!("the connection ended without a close frame: {err}");
                    return None;
                }
                None => return None,
            }
        }
    }
}
