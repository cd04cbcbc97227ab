//! Values from request bodies: JSON parsed and written as MessagePack in one
//! pass (no `Value` tree, no second parse), refusing what I-JSON (RFC 7493)
//! forbids and serde_json lets through: duplicate member names at any depth.
//!
//! Integers keep their exact encoding (the smallest MessagePack int that
//! holds them) and floats stay 64-bit floats, so `2.0` and `2` stay apart.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::codec::EncodedValue;

/// A value of a request body: an object, encoded for storage, or a note
/// that it was something else (which callers refuse with their own words).
#[derive(Debug)]
pub enum IncomingValue {
    /// A JSON object, as one MessagePack map.
    Object(EncodedValue),
    /// Any other JSON value (array, string, number, bool, null).
    NotObject,
}

impl<'de> Deserialize<'de> for IncomingValue {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_any(TopLevel)
    }
}

/// Any JSON value, encoded: a patch document, a JSON Patch operation's value.
#[derive(Debug)]
pub struct AnyValue(pub EncodedValue);

impl<'de> Deserialize<'de> for AnyValue {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let mut out = Vec::with_capacity(64);
        let mut keys = Vec::new();
        Encoder {
            out: &mut out,
            keys: &mut keys,
        }
        .deserialize(de)?;
        Ok(AnyValue(EncodedValue::from_bytes(out)))
    }
}

/// Parses `json` (one JSON value) the way a body's value is parsed.
pub fn encode_json(json: &str) -> Result<IncomingValue, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(json);
    let value = IncomingValue::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// The first level: only a map becomes a value; anything else is consumed.
struct TopLevel;

impl<'de> Visitor<'de> for TopLevel {
    type Value = IncomingValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<IncomingValue, A::Error> {
        let mut out = Vec::with_capacity(256);
        let mut keys = Vec::with_capacity(16);
        Encoder {
            out: &mut out,
            keys: &mut keys,
        }
        .visit_map(map)?;
        Ok(IncomingValue::Object(EncodedValue::from_bytes(out)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<IncomingValue, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(IncomingValue::NotObject)
    }

    fn visit_bool<E>(self, _: bool) -> Result<IncomingValue, E> {
        Ok(IncomingValue::NotObject)
    }

    fn visit_i64<E>(self, _: i64) -> Result<IncomingValue, E> {
        Ok(IncomingValue::NotObject)
    }

    fn visit_u64<E>(self, _: u64) -> Result<IncomingValue, E> {
        Ok(IncomingValue::NotObject)
    }

    fn visit_f64<E>(self, _: f64) -> Result<IncomingValue, E> {
        Ok(IncomingValue::NotObject)
    }

    fn visit_str<E>(self, _: &str) -> Result<IncomingValue, E> {
        Ok(IncomingValue::NotObject)
    }

    fn visit_unit<E>(self) -> Result<IncomingValue, E> {
        Ok(IncomingValue::NotObject)
    }
}

/// Writes one value into `out`. `keys` holds the byte ranges (in `out`) of
/// the member names of every map being written, innermost last, so each map
/// can compare its own names without allocating.
struct Encoder<'a> {
    out: &'a mut Vec<u8>,
    keys: &'a mut Vec<(usize, usize)>,
}

/// The most bytes a MessagePack array or map header takes.
const MAX_HEADER: usize = 5;

impl Encoder<'_> {
    fn reborrow(&mut self) -> Encoder<'_> {
        Encoder {
            out: self.out,
            keys: self.keys,
        }
    }

    /// Room for a header whose count is not known yet.
    fn reserve_header(&mut self) -> usize {
        let at = self.out.len();
        self.out.extend_from_slice(&[0; MAX_HEADER]);
        at
    }

    /// Writes the smallest header for `count` at `at` and closes the gap.
    fn finish_header(&mut self, at: usize, count: usize, map: bool) -> Result<(), String> {
        let count = u32::try_from(count).map_err(|_| "too many elements".to_owned())?;
        // Written in place (no allocation per container): a header always
        // fits in its MAX_HEADER bytes, so these writes cannot fail.
        let mut room = &mut self.out[at..at + MAX_HEADER];
        let _ = if map {
            rmp::encode::write_map_len(&mut room, count)
        } else {
            rmp::encode::write_array_len(&mut room, count)
        };
        let gap = room.len();
        let len = MAX_HEADER - gap;
        if gap > 0 {
            self.out.copy_within(at + MAX_HEADER.., at + len);
            self.out.truncate(self.out.len() - gap);
        }
        Ok(())
    }

    /// Fails if two of the names from `first` on in `keys` are equal. The
    /// encoded names are compared: equal strings have equal encodings.
    fn check_unique(&self, first: usize) -> Result<(), String> {
        let names = &self.keys[first..];
        let bytes = |&(start, end): &(usize, usize)| &self.out[start..end];
        let duplicate = if names.len() <= 16 {
            names
                .iter()
                .enumerate()
                .find(|(i, a)| names[..*i].iter().any(|b| bytes(a) == bytes(b)))
                .map(|(_, a)| *a)
        } else {
            let mut sorted: Vec<_> = names.to_vec();
            sorted.sort_unstable_by(|a, b| bytes(a).cmp(bytes(b)));
            sorted
                .windows(2)
                .find(|pair| bytes(&pair[0]) == bytes(&pair[1]))
                .map(|pair| pair[0])
        };
        match duplicate {
            None => Ok(()),
            Some(span) => {
                let name = rmp::decode::read_str_from_slice(bytes(&span))
                    .map(|(name, _)| name)
                    .unwrap_or_default();
                Err(format!(
                    "duplicate member name {}",
                    serde_json::Value::from(name)
                ))
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Encoder<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

/// A member name: written as a MessagePack string, its span remembered.
struct Name<'a>(Encoder<'a>);

impl<'de> DeserializeSeed<'de> for Name<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Name<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<(), E> {
        let start = self.0.out.len();
        let _ = rmp::encode::write_str(self.0.out, name);
        self.0.keys.push((start, self.0.out.len()));
        Ok(())
    }
}

impl<'de> Visitor<'de> for Encoder<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    // Writes into a Vec cannot fail; the results are ignored for that reason.
    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        let _ = rmp::encode::write_bool(self.out, v);
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        let _ = rmp::encode::write_sint(self.out, v);
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        let _ = rmp::encode::write_uint(self.out, v);
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        let _ = rmp::encode::write_f64(self.out, v);
        Ok(())
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        let _ = rmp::encode::write_str(self.out, v);
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        let _ = rmp::encode::write_nil(self.out);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let at = self.reserve_header();
        let mut count = 0;
        while seq.next_element_seed(self.reborrow())?.is_some() {
            count += 1;
        }
        self.finish_header(at, count, false)
            .map_err(de::Error::custom)
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let at = self.reserve_header();
        let first = self.keys.len();
        while map.next_key_seed(Name(self.reborrow()))?.is_some() {
            map.next_value_seed(self.reborrow())?;
        }
        let count = self.keys.len() - first;
        // Names are spans of `out`: check them before the header moves them.
        self.check_unique(first).map_err(de::Error::custom)?;
        self.keys.truncate(first);
        self.finish_header(at, count, true)
            .map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::codec::msgpack_to_json;

    fn encoded(json: &str) -> Vec<u8> {
        match encode_json(json).unwrap() {
            IncomingValue::Object(value) => value.as_bytes().to_vec(),
            IncomingValue::NotObject => panic!("{json} is an object"),
        }
    }

    fn round_trip(json: &str) -> String {
        let bytes = encoded(json);
        String::from_utf8(msgpack_to_json(&bytes).unwrap().as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn values_round_trip_exactly() {
        for json in [
            r#"{"a":1,"b":-1,"c":1.0,"d":2.5,"e":null,"f":true,"g":"s"}"#,
            r#"{"max":18446744073709551615,"min":-9223372036854775808}"#,
            r#"{"empty_object":{},"empty_array":[],"nested":{"x":[1,[2,[3]]]}}"#,
            r#"{"nul":"a\u0000b","emoji":"😀","accent":"é"}"#,
            r#"{"tiny":5e-324,"big":1.7976931348623157e+308,"neg_zero":-0.0}"#,
        ] {
            assert_eq!(round_trip(json), json);
        }
    }

    #[test]
    fn integers_use_their_smallest_encoding_and_floats_stay_floats() {
        assert_eq!(encoded(r#"{"a":1}"#), [0x81, 0xa1, b'a', 0x01]);
        assert_eq!(encoded(r#"{"a":2.0}"#)[..4], [0x81, 0xa1, b'a', 0xcb]);
        assert_eq!(encoded(r#"{"a":-1}"#), [0x81, 0xa1, b'a', 0xff]);
        assert_eq!(encoded(r#"{"a":200}"#), [0x81, 0xa1, b'a', 0xcc, 200]);
    }

    #[test]
    fn headers_are_minimal_for_every_size() {
        for count in [0usize, 15, 16, 65_535, 65_536] {
            let array = format!(r#"{{"a":[{}]}}"#, vec!["0"; count].join(","));
            let bytes = encoded(&array);
            let mut expected = vec![0x81, 0xa1, b'a'];
            rmp::encode::write_array_len(&mut expected, count as u32).unwrap();
            expected.extend(std::iter::repeat_n(0u8, count));
            assert_eq!(bytes, expected, "{count}");
            let members: Vec<String> = (0..count).map(|i| format!("\"k{i}\":0")).collect();
            let map = format!("{{{}}}", members.join(","));
            assert_eq!(round_trip(&map), map, "{count}");
        }
    }

    #[test]
    fn a_hundred_levels_of_nesting_round_trip() {
        let json = format!("{{\"a\":{}1{}}}", "[".repeat(100), "]".repeat(100));
        assert_eq!(round_trip(&json), json);
    }

    #[test]
    fn absurd_nesting_is_refused_not_overflowed() {
        let json = format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(encode_json(&json)
            .unwrap_err()
            .to_string()
            .contains("recursion limit"));
    }

    #[test]
    fn duplicate_member_names_are_refused_at_any_depth() {
        for json in [
            r#"{"a":1,"a":2}"#,
            r#"{"x":{"b":[{"a":1,"a":1}]}}"#,
            r#"{"a":1,"\u0061":2}"#,
        ] {
            let err = encode_json(json).unwrap_err().to_string();
            assert!(
                err.contains(r#"duplicate member name "a""#),
                "{json}: {err}"
            );
        }
        let many: Vec<String> = (0..40).map(|i| format!("\"k{}\":0", i % 39)).collect();
        let err = encode_json(&format!("{{{}}}", many.join(",")))
            .unwrap_err()
            .to_string();
        assert!(err.contains(r#"duplicate member name "k0""#), "{err}");
    }

    #[test]
    fn equal_names_in_different_maps_are_fine() {
        let json = r#"{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}"#;
        assert_eq!(round_trip(json), json);
    }

    #[test]
    fn any_value_is_encoded_with_the_same_rules() {
        let any = |json: &str| serde_json::from_str::<AnyValue>(json).map(|v| v.0);
        assert_eq!(any("null").unwrap().as_bytes(), [0xc0]);
        assert_eq!(any("[1,2.0]").unwrap().as_bytes()[..3], [0x92, 0x01, 0xcb]);
        assert_eq!(any("\"s\"").unwrap().as_bytes(), [0xa1, b's']);
        assert!(any(r#"{"a":1,"a":2}"#).is_err());
    }

    #[test]
    fn anything_but_an_object_is_not_an_object() {
        for json in ["[1,{\"a\":1}]", "\"s\"", "1", "1.5", "-1", "true", "null"] {
            assert!(matches!(
                encode_json(json).unwrap(),
                IncomingValue::NotObject
            ));
        }
    }
}
