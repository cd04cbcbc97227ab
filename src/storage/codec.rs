//! MessagePack in and out of Tarantool: call arguments, call results, and
//! JSON values streamed to MessagePack and back without a `Value` tree.

use serde_json::value::RawValue;

/// A JSON object encoded as one MessagePack map, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedValue(Vec<u8>);

/// A stored value rendered as JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonValue(Vec<u8>);

impl EncodedValue {
    /// The MessagePack bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl JsonValue {
    /// The JSON text as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Why a value could not be converted.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CodecError(String);

/// Encodes a JSON value (already checked to be an object) as MessagePack.
/// Integers stay integers of the smallest width, floats stay 64-bit floats.
pub fn json_to_msgpack(json: &RawValue) -> Result<EncodedValue, CodecError> {
    let mut out = Vec::with_capacity(json.get().len());
    let mut de = serde_json::Deserializer::from_str(json.get());
    let mut ser = rmp_serde::Serializer::new(&mut out);
    serde_transcode::transcode(&mut de, &mut ser).map_err(|e| CodecError(e.to_string()))?;
    Ok(EncodedValue(out))
}

/// Renders one MessagePack value (the first in `bytes`) as JSON text.
pub fn msgpack_to_json(bytes: &[u8]) -> Result<JsonValue, CodecError> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 4);
    let mut de = rmp_serde::Deserializer::from_read_ref(bytes);
    let mut ser = serde_json::Serializer::new(&mut out);
    serde_transcode::transcode(&mut de, &mut ser).map_err(|e| CodecError(e.to_string()))?;
    Ok(JsonValue(out))
}

/// Arguments `[key]` of a call.
pub fn key_args(key: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 8);
    write_key_args(&mut out, key, 1);
    out
}

/// Arguments `[key, value]` of a call; the value travels as binary so
/// Tarantool can store its bytes without decoding them into Lua.
pub fn key_value_args(key: &str, value: &EncodedValue) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + value.0.len() + 16);
    write_key_args(&mut out, key, 2);
    // Writes into a Vec cannot fail; the length fits u32 because bodies are bounded.
    let _ = rmp::encode::write_bin(&mut out, &value.0);
    out
}

fn write_key_args(out: &mut Vec<u8>, key: &str, len: u32) {
    // Writes into a Vec cannot fail.
    let _ = rmp::encode::write_array_len(out, len);
    let _ = rmp::encode::write_str(out, key);
}

/// What a kv_* function returned: its status and the encoded values after it.
#[derive(Debug, PartialEq, Eq)]
pub struct Reply<'a> {
    /// The first returned value, e.g. `found` or `missing`.
    pub status: &'a str,
    /// The remaining returned values, still encoded.
    pub rest: &'a [u8],
}

/// Splits a call's result `[status, ...]` into its status and the rest.
pub fn parse_reply(data: &[u8]) -> Result<Reply<'_>, CodecError> {
    let mut rd = data;
    let len = rmp::decode::read_array_len(&mut rd)
        .map_err(|e| CodecError(format!("result is not an array: {e}")))?;
    if len == 0 {
        return Err(CodecError("result is empty".into()));
    }
    let (status, rest) = rmp::decode::read_str_from_slice(rd)
        .map_err(|e| CodecError(format!("status is not a string: {e:?}")))?;
    Ok(Reply { status, rest })
}

/// Reads a string value from the start of `bytes`.
pub fn read_string(bytes: &[u8]) -> Result<&str, CodecError> {
    rmp::decode::read_str_from_slice(bytes)
        .map(|(s, _)| s)
        .map_err(|e| CodecError(format!("expected a string: {e:?}")))
}

/// Renders the first field of the tuple at the start of `bytes` as JSON.
pub fn first_field_as_json(bytes: &[u8]) -> Result<JsonValue, CodecError> {
    let mut rd = bytes;
    let len = rmp::decode::read_array_len(&mut rd)
        .map_err(|e| CodecError(format!("record is not a tuple: {e}")))?;
    if len == 0 {
        return Err(CodecError("record tuple is empty".into()));
    }
    msgpack_to_json(rd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_owned()).unwrap()
    }

    fn round_trip(json: &str) -> String {
        let encoded = json_to_msgpack(&raw(json)).unwrap();
        String::from_utf8(msgpack_to_json(encoded.as_bytes()).unwrap().0).unwrap()
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
    fn floats_with_integral_values_stay_floats() {
        let encoded = json_to_msgpack(&raw(r#"{"a":2.0}"#)).unwrap();
        // 0x81 map(1), 0xa1 'a', 0xcb float64
        assert_eq!(encoded.as_bytes()[..4], [0x81, 0xa1, b'a', 0xcb]);
    }

    #[test]
    fn integers_use_their_smallest_encoding() {
        let encoded = json_to_msgpack(&raw(r#"{"a":1}"#)).unwrap();
        assert_eq!(encoded.as_bytes(), [0x81, 0xa1, b'a', 0x01]);
    }

    #[test]
    fn a_hundred_levels_of_nesting_round_trip() {
        let json = format!("{{\"a\":{}1{}}}", "[".repeat(100), "]".repeat(100));
        assert_eq!(round_trip(&json), json);
    }

    #[test]
    fn call_arguments_are_an_array_of_key_and_binary_value() {
        let value = json_to_msgpack(&raw(r#"{}"#)).unwrap();
        assert_eq!(key_args("k"), [0x91, 0xa1, b'k']);
        assert_eq!(
            key_value_args("k", &value),
            [0x92, 0xa1, b'k', 0xc4, 0x01, 0x80]
        );
    }

    #[test]
    fn a_reply_splits_into_status_and_rest() {
        // ["found", [{"a": 1}]]
        let data = [
            0x92, 0xa5, b'f', b'o', b'u', b'n', b'd', 0x91, 0x81, 0xa1, b'a', 0x01,
        ];
        let reply = parse_reply(&data).unwrap();
        assert_eq!(reply.status, "found");
        assert_eq!(
            first_field_as_json(reply.rest).unwrap().as_bytes(),
            br#"{"a":1}"#
        );
    }

    #[test]
    fn a_malformed_reply_is_an_error_not_a_panic() {
        for data in [
            &[][..],
            &[0x90],
            &[0x91, 0x01],
            &[0x92, 0xa5, b'f'],
            &[0xc1],
        ] {
            assert!(parse_reply(data).is_err(), "{data:?}");
        }
        assert!(first_field_as_json(&[0x90]).is_err());
        assert!(first_field_as_json(&[0x91, 0xc1]).is_err());
        assert!(msgpack_to_json(&[0x81]).is_err());
    }
}
