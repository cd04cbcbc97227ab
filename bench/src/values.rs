//! The benchmark's data: keys `key-0`..`key-{N-1}` and ~200-byte JSON object
//! values. `bench/wrk/common.lua` builds exactly the same strings.

/// Length of every value's JSON text, in bytes.
pub const VALUE_BYTES: usize = 200;

/// The key of record `i`.
pub fn key(i: u64) -> String {
    format!("key-{i}")
}

/// A key that is never stored.
pub fn missing_key(i: u64) -> String {
    format!("missing-{i}")
}

/// The JSON object stored under `key(i)`; `version` varies it for updates.
pub fn value_json(i: u64, version: u64) -> String {
    let prefix = format!(
        concat!(
            r#"{{"id":{i},"name":"user-{i}","email":"user-{i}@example.com","active":true,"#,
            r#""score":{version}.5,"tags":["alpha","beta","gamma"],"#,
            r#""address":{{"city":"Springfield","zip":"12345"}},"note":""#
        ),
        i = i,
        version = version,
    );
    let suffix = r#""}"#;
    let pad = VALUE_BYTES.saturating_sub(prefix.len() + suffix.len());
    format!("{prefix}{}{suffix}", "x".repeat(pad))
}

/// The body of `PUT /kv/{key}`.
pub fn put_body(i: u64, version: u64) -> String {
    format!(r#"{{"value":{}}}"#, value_json(i, version))
}

/// The body of `POST /kv`.
pub fn post_body(key: &str, i: u64) -> String {
    format!(r#"{{"key":"{key}","value":{}}}"#, value_json(i, 0))
}

/// A value as the gateway sends it to Tarantool: one MessagePack map.
pub fn value_msgpack(json: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len());
    let mut de = serde_json::Deserializer::from_str(json);
    let mut ser = rmp_serde::Serializer::new(&mut out);
    serde_transcode::transcode(&mut de, &mut ser).expect("the benchmark's values are valid JSON");
    out
}

/// Arguments of a `kv_batch` call with one operation, `[[[name, key]]]` or
/// `[[[name, key, value-as-bin]]]`, as the gateway's `codec::operation` and
/// `codec::batch_args` build them.
pub fn batch_of_one(name: &str, key: &str, value_mp: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + value_mp.map_or(0, <[u8]>::len) + 16);
    rmp::encode::write_array_len(&mut out, 1).expect("writes to a Vec");
    rmp::encode::write_array_len(&mut out, 1).expect("writes to a Vec");
    // A write is the protocol's `{'put', key, value, 'update', nil}`
    // (tarantool/kv/protocol.lua): replace an existing record, no precondition.
    let len = if value_mp.is_some() { 5 } else { 2 };
    rmp::encode::write_array_len(&mut out, len).expect("writes to a Vec");
    rmp::encode::write_str(&mut out, name).expect("writes to a Vec");
    rmp::encode::write_str(&mut out, key).expect("writes to a Vec");
    if let Some(value_mp) = value_mp {
        rmp::encode::write_bin(&mut out, value_mp).expect("writes to a Vec");
        rmp::encode::write_str(&mut out, "update").expect("writes to a Vec");
        rmp::encode::write_nil(&mut out).expect("writes to a Vec");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_200_byte_json_objects() {
        for (i, v) in [(0, 0), (99_999, 999), (123_456_789, 12)] {
            let json = value_json(i, v);
            assert_eq!(json.len(), VALUE_BYTES, "{json}");
            let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
            assert!(parsed.is_object());
        }
    }

    #[test]
    fn call_arguments_match_the_gateway() {
        assert_eq!(
            batch_of_one("get", "k", None),
            [0x91, 0x91, 0x92, 0xa3, b'g', b'e', b't', 0xa1, b'k']
        );
        assert_eq!(
            batch_of_one("put", "k", Some(&value_msgpack("{}"))),
            [
                0x91, 0x91, 0x95, 0xa3, b'p', b'u', b't', 0xa1, b'k', 0xc4, 0x01, 0x80, 0xa6, b'u',
                b'p', b'd', b'a', b't', b'e', 0xc0
            ]
        );
    }
}
