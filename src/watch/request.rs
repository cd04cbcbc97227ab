//! What a watch request says, as `GET /watch` and a WebSocket `watch` give
//! it, and what its failures answer.

use super::{Filter, WatchError};
use crate::error::ApiError;
use crate::key::Key;
use crate::storage::{Revision, StorageError};

/// The keys a watch of `key` or `prefix` wants; a key must be one the
/// store could hold, a prefix no longer than one.
pub fn filter_of(
    key: Option<&str>,
    prefix: Option<&str>,
    max_key_bytes: usize,
) -> Result<Filter, ApiError> {
    if let Some(key) = key {
        Key::parse(key.to_owned(), max_key_bytes).map_err(ApiError::InvalidKey)?;
    }
    if prefix.is_some_and(|p| p.len() > max_key_bytes) {
        return Err(ApiError::InvalidParameter(format!(
            "prefix is longer than {max_key_bytes} bytes (limits.max_key_bytes)"
        )));
    }
    Filter::of(key.map(str::to_owned), prefix.map(str::to_owned))
        .map_err(|why| ApiError::InvalidParameter(why.into()))
}

/// A revision given as text (`since`, `Last-Event-ID`), named `what`.
pub fn revision_of(text: &str, what: &str) -> Result<Revision, ApiError> {
    text.trim().parse().map_err(|_| {
        ApiError::InvalidParameter(format!(
            "{what} must be a revision (a non-negative integer), not {text:?}"
        ))
    })
}

/// The answer to a watch that cannot start.
pub fn refusal(err: WatchError) -> ApiError {
    match err {
        WatchError::Compacted { oldest } => ApiError::RevisionCompacted { oldest },
        WatchError::Storage(err) => err.into(),
        WatchError::Stopping => ApiError::StorageUnavailable(StorageError::NotApplied(
            "the gateway is shutting down".into(),
        )),
        WatchError::TooMany(max) => ApiError::TooManyWatchers(max),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watch_names_a_valid_key_or_a_short_prefix() {
        assert_eq!(filter_of(None, None, 8).unwrap(), Filter::All);
        assert_eq!(
            filter_of(Some("k"), None, 8).unwrap(),
            Filter::Key("k".into())
        );
        assert!(matches!(
            filter_of(Some(""), None, 8),
            Err(ApiError::InvalidKey(_))
        ));
        assert!(matches!(
            filter_of(None, Some("123456789"), 8),
            Err(ApiError::InvalidParameter(_))
        ));
        assert!(matches!(
            filter_of(Some("k"), Some("p"), 8),
            Err(ApiError::InvalidParameter(_))
        ));
    }

    #[test]
    fn revisions_are_non_negative_integers() {
        assert_eq!(revision_of("42", "since").unwrap(), 42);
        for bad in ["-1", "x", "", "1.5"] {
            assert!(revision_of(bad, "since").is_err(), "{bad}");
        }
    }
}
