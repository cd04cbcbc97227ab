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

/// Values per answer: status, detail, revision, due time.
const ANSWER_LEN: usize = 4;

/// Splits a `kv_batch` result `[[status, detail, revision, due, ...]]` into
/// one encoded answer per operation, each a slice of `data` (no copy).
pub fn split_batch(data: &bytes::Bytes, expected: usize) -> Result<Vec<bytes::Bytes>, CodecError> {
    let mut rd: &[u8] = data;
    let outer = rmp::decode::read_array_len(&mut rd)
        .map_err(|e| CodecError(format!("batch result is not an array: {e}")))?;
    let count = rmp::decode::read_array_len(&mut rd)
        .map_err(|e| CodecError(format!("batch results are not an array: {e}")))?;
    if outer != 1 || count as usize != ANSWER_LEN * expected {
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

/// The detail of an outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail<'a> {
    /// None.
    None,
    /// A string: a value's MessagePack, or a message.
    Bytes(&'a [u8]),
    /// An array (a transaction's answers, a page of a listing...), as raw
    /// MessagePack: its elements, without the header, and their count.
    Array(&'a [u8], usize),
}

/// One operation's outcome.
#[derive(Debug, PartialEq, Eq)]
pub struct Reply<'a> {
    /// What happened.
    pub status: Status,
    /// A value, a message, nested results, or nothing.
    pub detail: Detail<'a>,
    /// The revision it concerns, if any (or, for an aborted transaction,
    /// the index of its failing operation).
    pub revision: Option<u64>,
    /// When the record's expiry is due (Unix milliseconds), if it has one.
    pub due_ms: Option<u64>,
}

impl<'a> Reply<'a> {
    /// The detail's bytes, if it is a string.
    pub fn bytes(&self) -> Option<&'a [u8]> {
        match self.detail {
            Detail::Bytes(bytes) => Some(bytes),
            _ => None,
        }
    }
}

/// The status of an encoded triple, if it is one.
pub fn status_of(bytes: &[u8]) -> Option<Status> {
    read_reply(bytes).ok().map(|(reply, _)| reply.status)
}

/// Reads one answer (a known status name; nil, a string or an array; nil or
/// an unsigned integer, twice) from the start of `bytes`; returns it and how
/// many bytes it took.
pub fn read_reply(bytes: &[u8]) -> Result<(Reply<'_>, usize), CodecError> {
    let (name, mut rd) = rmp::decode::read_str_from_slice(bytes)
        .map_err(|e| CodecError(format!("status is not a string: {e:?}")))?;
    let status =
        Status::parse(name).ok_or_else(|| CodecError(format!("unknown status {name:?}")))?;
    let detail = match rd.first() {
        Some(0xc0) => {
            rd = &rd[1..];
            Detail::None
        }
        Some(marker) if is_array_marker(*marker) => {
            let count = rmp::decode::read_array_len(&mut rd)
                .map_err(|e| CodecError(format!("detail array: {e}")))?
                as usize;
            let start = rd;
            for _ in 0..count {
                rd = skip_value(rd)?;
            }
            Detail::Array(&start[..start.len() - rd.len()], count)
        }
        _ => {
            let len = rmp::decode::read_str_len(&mut rd)
                .map_err(|e| CodecError(format!("detail is not nil, a string or an array: {e}")))?;
            let text = rd
                .get(..len as usize)
                .ok_or_else(|| CodecError("detail is cut short".into()))?;
            rd = &rd[len as usize..];
            Detail::Bytes(text)
        }
    };
    let revision = optional_uint(&mut rd, "revision")?;
    let due_ms = optional_uint(&mut rd, "due time")?;
    Ok((
        Reply {
            status,
            detail,
            revision,
            due_ms,
        },
        bytes.len() - rd.len(),
    ))
}

/// Nil, or an unsigned integer.
fn optional_uint(rd: &mut &[u8], what: &str) -> Result<Option<u64>, CodecError> {
    if rd.first() == Some(&0xc0) {
        *rd = &rd[1..];
        return Ok(None);
    }
    rmp::decode::read_int::<u64, _>(rd)
        .map(Some)
        .map_err(|e| CodecError(format!("{what} is not nil or an integer: {e}")))
}

/// The answers in an array of them (a transaction's), one by one.
pub fn answers(mut bytes: &[u8], count: usize) -> Result<Vec<Reply<'_>>, CodecError> {
    if !count.is_multiple_of(ANSWER_LEN) {
        return Err(CodecError(format!("{count} values are no answers")));
    }
    let mut replies = Vec::with_capacity(count / ANSWER_LEN);
    for _ in 0..count / ANSWER_LEN {
        let (reply, len) = read_reply(bytes)?;
        replies.push(reply);
        bytes = &bytes[len..];
    }
    Ok(replies)
}

/// What follows the MessagePack value at the start of `bytes`.
pub fn skip_value(bytes: &[u8]) -> Result<&[u8], CodecError> {
    let mut rd = bytes;
    rmpv::decode::read_value_ref(&mut rd)
        .map_err(|e| CodecError(format!("bad MessagePack: {e}")))?;
    Ok(rd)
}

fn is_array_marker(marker: u8) -> bool {
    matches!(marker, 0x90..=0x9f | 0xdc | 0xdd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn str_(out: &mut Vec<u8>, s: &[u8]) {
        rmp::encode::write_str_len(out, s.len() as u32).unwrap();
        out.extend_from_slice(s);
    }

    #[test]
    fn batch_args_are_the_ops_and_the_reply_budget() {
        let ops = [vec![0x01], vec![0x02]];
        assert_eq!(
            batch_args(ops.iter().map(Vec::as_slice), 1000),
            [0x92, 0x92, 0x01, 0x02, 0xcd, 0x03, 0xe8]
        );
    }

    #[test]
    fn a_batch_result_splits_into_one_answer_per_operation() {
        // [["missing", nil, nil, nil, "found", <{"a": [1, 2.5]}>, 7, 1000]]
        let mut value = vec![0x81, 0xa1, b'a', 0x92, 0x01, 0xcb];
        value.extend_from_slice(&2.5f64.to_be_bytes());
        let mut data = vec![0x91, 0x98];
        str_(&mut data, b"missing");
        data.extend_from_slice(&[0xc0, 0xc0, 0xc0]);
        str_(&mut data, b"found");
        str_(&mut data, &value);
        data.extend_from_slice(&[0x07, 0xcd, 0x03, 0xe8]);
        let data = bytes::Bytes::from(data);
        let results = split_batch(&data, 2).unwrap();
        let (missing, _) = read_reply(&results[0]).unwrap();
        assert_eq!(
            missing,
            Reply {
                status: Status::Missing,
                detail: Detail::None,
                revision: None,
                due_ms: None,
            }
        );
        let (found, taken) = read_reply(&results[1]).unwrap();
        assert_eq!(taken, results[1].len());
        assert_eq!(found.status, Status::Found);
        assert_eq!((found.revision, found.due_ms), (Some(7), Some(1000)));
        assert_eq!(
            msgpack_to_json(found.bytes().unwrap()).unwrap().as_bytes(),
            br#"{"a":[1,2.5]}"#
        );
    }

    #[test]
    fn nested_answers_are_read_whole() {
        // ["committed", ["created", nil, 5, nil, "found", "\x80", 5, nil], 5, nil]
        let mut data = Vec::new();
        str_(&mut data, b"committed");
        data.push(0x98);
        str_(&mut data, b"created");
        data.extend_from_slice(&[0xc0, 0x05, 0xc0]);
        str_(&mut data, b"found");
        str_(&mut data, &[0x80]);
        data.extend_from_slice(&[0x05, 0xc0, 0x05, 0xc0]);
        let (reply, taken) = read_reply(&data).unwrap();
        assert_eq!(taken, data.len());
        assert_eq!(reply.revision, Some(5));
        let Detail::Array(inner, count) = reply.detail else {
            panic!("{reply:?}")
        };
        let inner = answers(inner, count).unwrap();
        assert_eq!(inner[0].status, Status::Created);
        assert_eq!(inner[1].bytes(), Some(&[0x80][..]));
    }

    #[test]
    fn a_malformed_reply_is_an_error_not_a_panic() {
        let found = |rest: &[u8]| [&[0xa5, b'f', b'o', b'u', b'n', b'd'][..], rest].concat();
        for data in [
            vec![],
            vec![0x90],
            vec![0xa5, b'f'],
            vec![0xa1, b'f'],
            found(&[0x01]),
            found(&[0xa3, b'x']),
            found(&[0xc0]),
            found(&[0xc0, 0xc0]),
            found(&[0xc0, 0xa1, b'x', 0xc0]),
            found(&[0x92, 0xc0, 0xc0, 0xc0]),
            found(&[0xc0, 0xc0, 0xa1, b'x']),
            vec![0xc1],
            vec![0xa3, b'n', b'e', b'w', 0xc0, 0xc0, 0xc0],
        ] {
            assert!(read_reply(&data).is_err(), "{data:?}");
        }
        assert!(msgpack_to_json(&[0x81]).is_err());
        assert!(answers(&[], 3).is_err());
    }

    #[test]
    fn a_malformed_batch_result_is_an_error_not_a_panic() {
        for (data, expected) in [
            (&[][..], 1),
            (&[0x91, 0x94, 0xa1, b'f'], 1),
            (
                &[
                    0x91, 0x94, 0xa7, b'm', b'i', b's', b's', b'i', b'n', b'g', 0xc0, 0xc0, 0xc0,
                ],
                2,
            ),
            (&[0x92, 0x90, 0x90], 0),
            (&[0x91, 0x94, 0xc1, 0xc0, 0xc0, 0xc0], 1),
        ] {
            let data = bytes::Bytes::copy_from_slice(data);
            assert!(split_batch(&data, expected).is_err(), "{data:?}");
        }
    }
}
