//! What streams send: change events as Server-Sent Events and as WebSocket
//! messages, and WebSocket replies, built here only. A reply carries the
//! status and the exact body HTTP gives (`KvReply::body`,
//! `ApiError::status_and_body`), so the two can never differ.

use bytes::Bytes;

use crate::error::ApiError;
use crate::reply::KvReply;
use crate::storage::{FeedEvent, Revision};

/// `"key":...,"value":...,"revision":N` of an event (`value` for a put only).
fn event_members(out: &mut Vec<u8>, event: &FeedEvent) {
    out.extend_from_slice(br#""key":"#);
    // Serialising a str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, event.key.as_str());
    if event.kind == crate::storage::EventKind::Put {
        out.extend_from_slice(br#","value":"#);
        match &event.value {
            Some(value) => out.extend_from_slice(value.as_bytes()),
            None => out.extend_from_slice(b"null"),
        }
    }
    out.extend_from_slice(format!(r#","revision":{}"#, event.revision).as_bytes());
}

/// One Server-Sent Event: `id`, `event` and a one-line JSON `data`;
/// rendered once per event, however many streams it goes to.
pub fn sse_event(event: &FeedEvent) -> Bytes {
    event
        .sse
        .get_or_init(|| {
            let mut out = format!(
                "id: {}\nevent: {}\ndata: {{",
                event.revision,
                event.kind.name()
            )
            .into_bytes();
            event_members(&mut out, event);
            out.extend_from_slice(b"}\n\n");
            Bytes::from(out)
        })
        .clone()
}

/// The comment an SSE stream starts with.
pub fn sse_opening(start: Revision) -> Vec<u8> {
    format!(": watching changes after revision {start}\n\n").into_bytes()
}

/// The comment that keeps an idle SSE stream open through proxies.
pub const SSE_HEARTBEAT: &[u8] = b": keep-alive\n\n";

/// The last event of an SSE stream whose watcher the feed left behind.
pub fn sse_compacted(oldest: Revision) -> Vec<u8> {
    let (_, body) = ApiError::RevisionCompacted { oldest }.status_and_body();
    let mut out = b"event: compacted\ndata: ".to_vec();
    out.extend_from_slice(&body);
    out.extend_from_slice(b"\n\n");
    out
}

/// A change for the WebSocket watch `watch` (its id as JSON text).
pub fn ws_event(watch: &str, event: &FeedEvent) -> String {
    let mut out = format!(r#"{{"watch":{watch},"event":"{}","#, event.kind.name()).into_bytes();
    event_members(&mut out, event);
    out.push(b'}');
    text(out)
}

/// The end of a WebSocket watch the feed left behind.
pub fn ws_watch_ended(watch: &str, error: &ApiError) -> String {
    let (status, body) = error.status_and_body();
    let mut out = format!(r#"{{"watch":{watch},"status":{},"body":"#, status.as_u16()).into_bytes();
    out.extend_from_slice(&body);
    out.push(b'}');
    text(out)
}

/// A WebSocket reply to the message with id `id` (JSON text): what HTTP
/// answers, as status and body (`null` where HTTP has none), and the
/// revision its `ETag` would name.
pub fn ws_reply(id: &str, result: &Result<KvReply, ApiError>) -> String {
    match result {
        Ok(reply) => {
            let body = reply.body();
            let body = if body.is_empty() { None } else { Some(body) };
            envelope(
                id,
                reply.status().as_u16(),
                body.as_deref(),
                reply.revision(),
            )
        }
        Err(error) => ws_error(id, error),
    }
}

/// A WebSocket reply that is an error.
pub fn ws_error(id: &str, error: &ApiError) -> String {
    let (status, body) = error.status_and_body();
    envelope(id, status.as_u16(), Some(&body), None)
}

/// The reply to `watch`: it runs, starting after `revision`.
pub fn ws_watching(id: &str, revision: Revision) -> String {
    let body = format!(r#"{{"result":"watching","revision":{revision}}}"#);
    envelope(id, 200, Some(body.as_bytes()), None)
}

/// The reply to `unwatch`.
pub fn ws_unwatched(id: &str) -> String {
    envelope(id, 200, Some(br#"{"result":"unwatched"}"#), None)
}

fn envelope(id: &str, status: u16, body: Option<&[u8]>, revision: Option<Revision>) -> String {
    let mut out = format!(r#"{{"id":{id},"status":{status},"body":"#).into_bytes();
    out.extend_from_slice(body.unwrap_or(b"null"));
    if let Some(revision) = revision {
        out.extend_from_slice(format!(r#","revision":{revision}"#).as_bytes());
    }
    out.push(b'}');
    text(out)
}

/// Every piece above is JSON text, and so UTF-8.
fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::codec::msgpack_to_json;
    use crate::storage::EventKind;

    fn json(text: &[u8]) -> serde_json::Value {
        serde_json::from_slice(text).unwrap()
    }

    fn put() -> FeedEvent {
        FeedEvent {
            revision: 7,
            key: "a\"b".into(),
            kind: EventKind::Put,
            value: Some(msgpack_to_json(&[0x81, 0xa1, b'x', 0x01]).unwrap()),
            sse: Default::default(),
        }
    }

    #[test]
    fn an_sse_event_has_id_kind_and_one_line_of_json() {
        let text = String::from_utf8(sse_event(&put()).to_vec()).unwrap();
        let lines: Vec<&str> = text.split('\n').collect();
        assert_eq!(lines[0], "id: 7");
        assert_eq!(lines[1], "event: put");
        let data = lines[2].strip_prefix("data: ").unwrap();
        assert_eq!(
            json(data.as_bytes()),
            serde_json::json!({"key": "a\"b", "value": {"x": 1}, "revision": 7})
        );
        assert!(text.ends_with("\n\n"));
        let delete = FeedEvent {
            kind: EventKind::Delete,
            value: None,
            sse: Default::default(),
            ..put()
        };
        let text = String::from_utf8(sse_event(&delete).to_vec()).unwrap();
        assert!(text.contains("event: delete\ndata: {\"key\":\"a\\\"b\",\"revision\":7}"));
    }

    #[test]
    fn websocket_messages_wrap_the_http_bodies() {
        assert_eq!(
            json(ws_event("\"w1\"", &put()).as_bytes()),
            serde_json::json!({"watch": "w1", "event": "put", "key": "a\"b",
                               "value": {"x": 1}, "revision": 7})
        );
        assert_eq!(
            json(ws_reply("3", &Ok(KvReply::Created(5))).as_bytes()),
            serde_json::json!({"id": 3, "status": 200,
                               "body": {"result": "record created"}, "revision": 5})
        );
        assert_eq!(
            json(ws_reply("null", &Err(ApiError::KeyNotFound)).as_bytes()),
            serde_json::json!({"id": null, "status": 404, "body": {"error": "key not found"}})
        );
        assert_eq!(
            json(ws_watched_end().as_bytes()),
            serde_json::json!({"watch": [1], "status": 410,
                               "body": {"error": "revision compacted", "oldest": 4}})
        );
    }

    fn ws_watched_end() -> String {
        ws_watch_ended("[1]", &ApiError::RevisionCompacted { oldest: 4 })
    }
}
