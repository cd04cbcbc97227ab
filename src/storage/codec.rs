//! MessagePack in and out of Tarantool: call arguments, call results, and
//! stored values streamed to JSON without a `Value` tree (`incoming` does
//! the other direction).

use super::protocol::{ReadyInfo, Status};

/// A JSON object encoded as one MessagePack map, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedValue(Vec<u8>);

/// A stored value rendered as JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonValue(Vec<u8>);

impl EncodedValue {
    /// Wraps bytes that hold exactly one MessagePack map.
    pub(super) fn from_bytes(bytes: Vec<u8>) -> EncodedValue {
        EncodedValue(bytes)
    }

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

/// Renders one MessagePack value (the first in `bytes`) as JSON text.
pub fn msgpack_to_json(bytes: &[u8]) -> Result<JsonValue, CodecError> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 4);
    let mut de = rmp_serde::Deserializer::from_read_ref(bytes);
    let mut ser = serde_json::Serializer::new(&mut out);
    serde_transcode::transcode(&mut de, &mut ser).map_err(|e| CodecError(e.to_string()))?;
    Ok(JsonValue(out))
}

/// One operation of a `kv_batch` call: `[name, key]`, or `[name, key, value]`
/// with the value as binary so Tarantool can store its bytes without
/// decoding them into Lua.
pub fn operation(name: &str, key: &str, value: Option<&EncodedValue>) -> Vec<u8> {
    let value_len = value.map_or(0, |v| v.0.len());
    let mut out = Vec::with_capacity(name.len() + key.len() + value_len + 16);
    // Writes into a Vec cannot fail; lengths fit u32 because bodies are bounded.
    let _ = rmp::encode::write_array_len(&mut out, if value.is_some() { 3 } else { 2 });
    let _ = rmp::encode::write_str(&mut out, name);
    let _ = rmp::encode::write_str(&mut out, key);
    if let Some(value) = value {
        let _ = rmp::encode::write_bin(&mut out, &value.0);
    }
    out
}

/// Arguments `[[op, ...], max_reply_bytes]` of a `kv_batch` call.
pub fn batch_args<'a>(
    ops: impl ExactSizeIterator<Item = &'a [u8]>,
    max_reply_bytes: usize,
) -> Vec<u8> {
    let count = ops.len();
    let mut out = Vec::with_capacity(count * 64 + 16);
    let _ = rmp::encode::write_array_len(&mut out, 2);
    let _ = rmp::encode::write_array_len(&mut out, count as u32);
    for op in ops {
        out.extend_from_slice(op);
    }
    let _ = rmp::encode::write_uint(&mut out, max_reply_bytes as u64);
    out
}

/// Arguments of a call that takes none.
pub fn no_args() -> Vec<u8> {
    vec![0x90]
}

/// Reads `kv_ready`'s answer: one map of the Lua side's protocol and limits.
pub fn read_ready(data: &[u8]) -> Result<ReadyInfo, CodecError> {
    let (info,): (ReadyInfo,) =
        rmp_serde::from_slice(data).map_err(|e| CodecError(e.to_string()))?;
    Ok(info)
}

/// Splits a `kv_batch` result `[[status, detail, ...]]` into one encoded
/// `status, detail` pair per operation, each a slice of `data` (no copy).
pub fn split_batch(data: &bytes::Bytes, expected: usize) -> Result<Vec<bytes::Bytes>, CodecError> {
    let mut rd: &[u8] = data;
    let outer = rmp::decode::read_array_len(&mut rd)
        .map_err(|e| CodecError(format!("batch result is not an array: {e}")))?;
    let count = rmp::decode::read_array_len(&mut rd)
        .map_err(|e| CodecError(format!("batch results are not an array: {e}")))?;
    if outer != 1 || count as usize != 2 * expected {
        return Err(CodecError(format!(
            "expected {expected} results, got {count} values in {outer}"
        )));
    }
    let mut start = data.len() - rd.len();
    let mut results = Vec::with_capacity(expected);
    for _ in 0..expected {
        let (_, len) = read_reply(&data[start..])?;
        results.push(data.slice(start..start + len));
        start += len;
    }
    Ok(results)
}

/// One operation's outcome: its status and its detail, if any.
#[derive(Debug, PartialEq, Eq)]
pub struct Reply<'a> {
    /// What happened.
    pub status: Status,
    /// The stored value's MessagePack for `found` and `deleted`, a message
    /// for failures, absent otherwise.
    pub detail: Option<&'a [u8]>,
}

/// The status of an encoded `status, detail` pair, if it is one.
pub fn status_of(bytes: &[u8]) -> Option<Status> {
    read_reply(bytes).ok().map(|(reply, _)| reply.status)
}

/// Reads one `status, detail` pair (a known status name, then nil or a
/// string) from the start of `bytes`; returns it and how many bytes it took.
pub fn read_reply(bytes: &[u8]) -> Result<(Reply<'_>, usize), CodecError> {
    let (name, rest) = rmp::decode::read_str_from_slice(bytes)
        .map_err(|e| CodecError(format!("status is not a string: {e:?}")))?;
    let status =
        Status::parse(name).ok_or_else(|| CodecError(format!("unknown status {name:?}")))?;
    let mut rd = rest;
    if rd.first() == Some(&0xc0) {
        let reply = Reply {
            status,
            detail: None,
        };
        return Ok((reply, bytes.len() - rest.len() + 1));
    }
    let len = rmp::decode::read_str_len(&mut rd)
        .map_err(|e| CodecError(format!("detail is neither nil nor a string: {e}")))?;
    let detail = rd
        .get(..len as usize)
        .ok_or_else(|| CodecError("detail is cut short".into()))?;
    let taken = bytes.len() - rd.len() + detail.len();
    Ok((
        Reply {
            status,
            detail: Some(detail),
        },
        taken,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_name_key_and_binary_value() {
        let value = EncodedValue::from_bytes(vec![0x80]);
        assert_eq!(
            operation("get", "k", None),
            [0x92, 0xa3, b'g', b'e', b't', 0xa1, b'k']
        );
        assert_eq!(
            operation("put", "k", Some(&value)),
            [0x93, 0xa3, b'p', b'u', b't', 0xa1, b'k', 0xc4, 0x01, 0x80]
        );
        let ops = [vec![0x01], vec![0x02]];
        assert_eq!(
            batch_args(ops.iter().map(Vec::as_slice), 1000),
            [0x92, 0x92, 0x01, 0x02, 0xcd, 0x03, 0xe8]
        );
    }

    #[test]
    fn a_batch_result_splits_into_one_pair_per_operation() {
        // [["missing", nil, "found", <{"a": [1, 2.5]} as a string>]]
        let mut value = vec![0x81, 0xa1, b'a', 0x92, 0x01, 0xcb];
        value.extend_from_slice(&2.5f64.to_be_bytes());
        let mut data = vec![0x91, 0x94, 0xa7];
        data.extend_from_slice(b"missing");
        data.extend_from_slice(&[0xc0, 0xa5]);
        data.extend_from_slice(b"found");
        data.push(0xa0 + value.len() as u8);
        data.extend_from_slice(&value);
        let data = bytes::Bytes::from(data);
        let results = split_batch(&data, 2).unwrap();
        let (missing, _) = read_reply(&results[0]).unwrap();
        assert_eq!(
            missing,
            Reply {
                status: Status::Missing,
                detail: None
            }
        );
        let (found, taken) = read_reply(&results[1]).unwrap();
        assert_eq!(taken, results[1].len());
        assert_eq!(found.status, Status::Found);
        assert_eq!(
            msgpack_to_json(found.detail.unwrap()).unwrap().as_bytes(),
            br#"{"a":[1,2.5]}"#
        );
    }

    #[test]
    fn a_malformed_reply_is_an_error_not_a_panic() {
        for data in [
            &[][..],
            &[0x90],
            &[0xa5, b'f'],
            &[0xa1, b'f'],
            &[0xa1, b'f', 0x01],
            &[0xa1, b'f', 0xa3, b'x'],
            &[0xc1],
            &[0xa3, b'n', b'e', b'w', 0xc0],
        ] {
            assert!(read_reply(data).is_err(), "{data:?}");
        }
        assert!(msgpack_to_json(&[0x81]).is_err());
    }

    #[test]
    fn a_malformed_batch_result_is_an_error_not_a_panic() {
        for (data, expected) in [
            (&[][..], 1),
            (&[0x91, 0x92, 0xa1, b'f'], 1),
            (&[0x91, 0x92, 0xa1, b'f', 0xc0], 2),
            (&[0x91, 0x94, 0xa1, b'f', 0xc0], 2),
            (&[0x92, 0x90, 0x90], 0),
            (&[0x91, 0x92, 0xc1, 0xc0], 1),
        ] {
            let data = bytes::Bytes::copy_from_slice(data);
            assert!(split_batch(&data, expected).is_err(), "{data:?}");
        }
    }
}
