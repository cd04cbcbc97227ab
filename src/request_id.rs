//! Request ids: the client's `X-Request-Id` when it is a sane one, else one
//! made here; sent back on every response and written in every log line of
//! the request (the logger reads it from the task, see `current`).

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use actix_web::http::header::{HeaderName, HeaderValue};

/// The header, in both directions.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest id taken from a client.
pub const MAX_LEN: usize = 128;

tokio::task_local! {
    static CURRENT: RequestId;
}

/// A request's id: printable ASCII, kept as the header value it is sent
/// back in, so answering with it copies nothing.
#[derive(Clone, Debug)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Sane client ids and generated ones are ASCII.
        self.0.to_str().unwrap_or_default()
    }

    /// The id as the value of an `X-Request-Id` header.
    pub fn header_value(&self) -> HeaderValue {
        self.0.clone()
    }
}

/// The client's id if it is 1 to `MAX_LEN` printable ASCII characters (no
/// spaces), else a new one.
pub fn of_request(sent: Option<&HeaderValue>) -> RequestId {
    match sent {
        Some(id) if is_sane(id.as_bytes()) => RequestId(id.clone()),
        _ => generate(),
    }
}

fn is_sane(id: &[u8]) -> bool {
    !id.is_empty() && id.len() <= MAX_LEN && id.iter().all(|b| (0x21..=0x7e).contains(b))
}

/// A new id: this process's random prefix and a counter, 24 hex digits,
/// unique across replicas without coordination.
pub fn generate() -> RequestId {
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| {
        // RandomState is seeded from the OS's randomness.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        hasher.finish()
    });
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    // By hand rather than `format!`: this runs for every request.
    let mut id = [0u8; 24];
    put_hex(&mut id[..16], prefix);
    put_hex(&mut id[16..], n);
    // Hex digits are valid in a header value, so this never falls back.
    let value = HeaderValue::from_maybe_shared(bytes::Bytes::copy_from_slice(&id));
    RequestId(value.unwrap_or(HeaderValue::from_static("-")))
}

/// Fills `out` with the low hex digits of `n`.
fn put_hex(out: &mut [u8], mut n: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for digit in out.iter_mut().rev() {
        *digit = HEX[(n & 0xf) as usize];
        n >>= 4;
    }
}

/// Runs `fut` with `id` as the current request's id.
pub async fn scope<F: std::future::Future>(id: RequestId, fut: F) -> F::Output {
    CURRENT.scope(id, fut).await
}

/// Runs `f` with `id` as the current request's id.
pub fn with<R>(id: RequestId, f: impl FnOnce() -> R) -> R {
    CURRENT.sync_scope(id, f)
}

/// The id of the request being served by the running task, if any.
pub fn current() -> Option<RequestId> {
    CURRENT.try_with(RequestId::clone).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sane_client_id_is_kept_and_others_replaced() {
        let value = |s: &str| HeaderValue::from_str(s).unwrap();
        assert_eq!(of_request(Some(&value("abc-123_X"))).as_str(), "abc-123_X");
        for bad in ["", "has space", &"x".repeat(129)] {
            let id = of_request(Some(&value(bad)));
            assert_eq!(id.as_str().len(), 24, "{bad:?}");
            assert!(id.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
        }
        let non_ascii = HeaderValue::from_bytes(b"caf\xe9").unwrap();
        assert_eq!(of_request(Some(&non_ascii)).as_str().len(), 24);
        assert_ne!(generate().as_str(), generate().as_str());
        let mut hex = [0u8; 10];
        put_hex(&mut hex[..8], 0x1234_abcd);
        put_hex(&mut hex[8..], 0xf);
        assert_eq!(&hex, b"1234abcd0f");
    }

    #[tokio::test]
    async fn the_id_is_current_inside_its_scope_only() {
        assert!(current().is_none());
        let id = of_request(Some(&HeaderValue::from_static("r1")));
        let seen = scope(id, async { current() }).await;
        assert_eq!(seen.as_ref().map(RequestId::as_str), Some("r1"));
    }
}
