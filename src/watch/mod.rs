//! Watching the change feed: which keys a watcher wants, what waits to be
//! sent to it, and the per-worker hub that reads the feed once for all.

pub mod hub;
pub mod outbox;
pub mod request;

pub use hub::{Hub, Opening, WatchError, WatchId};
pub use outbox::{CloseReason, Next, Outbox, Outgoing};

/// The keys a watcher wants changes of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// Every key.
    All,
    /// Exactly this key.
    Key(String),
    /// Keys that start with this (byte-wise).
    Prefix(String),
}

impl Filter {
    /// Whether a change of `key` is wanted.
    pub fn matches(&self, key: &str) -> bool {
        match self {
            Filter::All => true,
            Filter::Key(wanted) => key == wanted,
            Filter::Prefix(prefix) => key.starts_with(prefix.as_str()),
        }
    }

    /// From a request's `key` and `prefix` (at most one of them).
    pub fn of(key: Option<String>, prefix: Option<String>) -> Result<Filter, &'static str> {
        match (key, prefix) {
            (Some(_), Some(_)) => Err("give key or prefix, not both"),
            (Some(key), None) => Ok(Filter::Key(key)),
            (None, Some(prefix)) if prefix.is_empty() => Ok(Filter::All),
            (None, Some(prefix)) => Ok(Filter::Prefix(prefix)),
            (None, None) => Ok(Filter::All),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_match_keys_prefixes_or_everything() {
        assert!(Filter::All.matches("x"));
        assert!(Filter::Key("a/b".into()).matches("a/b"));
        assert!(!Filter::Key("a/b".into()).matches("a/bc"));
        assert!(Filter::Prefix("a/".into()).matches("a/bc"));
        assert!(!Filter::Prefix("a/".into()).matches("ab"));
        assert_eq!(Filter::of(None, Some(String::new())), Ok(Filter::All));
        assert!(Filter::of(Some("k".into()), Some("p".into())).is_err());
    }
}
