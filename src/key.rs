//! Record keys: parsed once at the edge, from a JSON body or a request path.

use std::fmt;

use percent_encoding::percent_decode_str;

/// A valid record key: a non-empty UTF-8 string no longer than the configured limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key(String);

/// Why a key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key is the empty string.
    #[error("key must not be empty")]
    Empty,
    /// The key has more bytes than `limits.max_key_bytes`.
    #[error("key is longer than {max} bytes")]
    TooLong {
        /// The configured limit.
        max: usize,
    },
    /// The percent-decoded path segment is not UTF-8.
    #[error("key is not valid UTF-8 once percent-decoded")]
    NotUtf8,
}

impl Key {
    /// Accepts `raw` as a key if it is non-empty and at most `max_bytes` long.
    pub fn parse(raw: String, max_bytes: usize) -> Result<Key, KeyError> {
        if raw.is_empty() {
            return Err(KeyError::Empty);
        }
        if raw.len() > max_bytes {
            return Err(KeyError::TooLong { max: max_bytes });
        }
        Ok(Key(raw))
    }

    /// Parses the key part of a request path, percent-decoding it exactly once.
    pub fn from_path(segment: &str, max_bytes: usize) -> Result<Key, KeyError> {
        // An encoded key is at most 3 bytes per decoded byte; refuse absurd
        // paths before allocating for them.
        if segment.len() > max_bytes.saturating_mul(3) {
            return Err(KeyError::TooLong { max: max_bytes });
        }
        let decoded = percent_decode_str(segment)
            .decode_utf8()
            .map_err(|_| KeyError::NotUtf8)?;
        Key::parse(decoded.into_owned(), max_bytes)
    }

    /// The key as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_key_is_accepted() {
        assert_eq!(Key::parse("user:1".into(), 16).unwrap().as_str(), "user:1");
    }

    #[test]
    fn an_empty_key_is_refused() {
        assert_eq!(Key::parse(String::new(), 16), Err(KeyError::Empty));
        assert_eq!(Key::from_path("", 16), Err(KeyError::Empty));
    }

    #[test]
    fn the_length_limit_counts_bytes_not_chars() {
        assert!(Key::parse("é".repeat(8), 16).is_ok());
        assert_eq!(
            Key::parse("é".repeat(9), 16),
            Err(KeyError::TooLong { max: 16 })
        );
    }

    #[test]
    fn a_path_key_is_decoded_exactly_once() {
        assert_eq!(Key::from_path("a%2Fb", 16).unwrap().as_str(), "a/b");
        assert_eq!(Key::from_path("a/b", 16).unwrap().as_str(), "a/b");
        assert_eq!(Key::from_path("%252F", 16).unwrap().as_str(), "%2F");
        assert_eq!(Key::from_path("caf%C3%A9", 16).unwrap().as_str(), "café");
        assert_eq!(Key::from_path("a+b", 16).unwrap().as_str(), "a+b");
    }

    #[test]
    fn a_path_key_that_decodes_to_invalid_utf8_is_refused() {
        assert_eq!(Key::from_path("%FF", 16), Err(KeyError::NotUtf8));
    }

    #[test]
    fn the_limit_applies_to_the_decoded_path_key() {
        assert!(Key::from_path(&"%41".repeat(16), 16).is_ok());
        assert_eq!(
            Key::from_path(&"%41".repeat(17), 16),
            Err(KeyError::TooLong { max: 16 })
        );
    }
}
