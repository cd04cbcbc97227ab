//! The operations of a `kv_batch` call, encoded as Lua takes them (see
//! `tarantool/kv/protocol.lua`): arrays of a name, a key and arguments, with
//! values as MessagePack binary so Tarantool stores their bytes undecoded.

use super::codec::EncodedValue;
use super::outcome::{GlobToken, IfMatch, JsonPatchOp, ListQuery, Patch, PutMode, TxnOp};
use super::protocol::Op;
use crate::key::Key;

// Writes into a Vec cannot fail, and lengths fit u32 because bodies are
// bounded; the results of rmp's writers are ignored for that reason.

fn start(op: Op, key: &Key, args: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.as_str().len() + 32);
    let _ = rmp::encode::write_array_len(&mut out, 2 + args);
    let _ = rmp::encode::write_str(&mut out, op.name());
    let _ = rmp::encode::write_str(&mut out, key.as_str());
    out
}

fn value(out: &mut Vec<u8>, value: &EncodedValue) {
    let _ = rmp::encode::write_bin(out, value.as_bytes());
}

fn if_match(out: &mut Vec<u8>, condition: Option<&IfMatch>) {
    match condition {
        None => {
            let _ = rmp::encode::write_nil(out);
        }
        Some(IfMatch::Any) => {
            let _ = rmp::encode::write_bool(out, true);
        }
        Some(IfMatch::Revisions(revisions)) => {
            let _ = rmp::encode::write_array_len(out, revisions.len() as u32);
            for revision in revisions {
                let _ = rmp::encode::write_uint(out, *revision);
            }
        }
    }
}

fn tokens(out: &mut Vec<u8>, tokens: &[String]) {
    let _ = rmp::encode::write_array_len(out, tokens.len() as u32);
    for token in tokens {
        let _ = rmp::encode::write_str(out, token);
    }
}

/// `{'get', key}`
pub fn get(key: &Key) -> Vec<u8> {
    start(Op::Get, key, 0)
}

fn ttl(out: &mut Vec<u8>, ttl_s: Option<u64>) {
    match ttl_s {
        Some(seconds) => {
            let _ = rmp::encode::write_uint(out, seconds);
        }
        None => {
            let _ = rmp::encode::write_nil(out);
        }
    }
}

/// `{'create', key, value, ttl_s}`
pub fn create(key: &Key, new: &EncodedValue, ttl_s: Option<u64>) -> Vec<u8> {
    let mut out = start(Op::Create, key, 2);
    value(&mut out, new);
    ttl(&mut out, ttl_s);
    out
}

/// `{'put', key, value, mode, if_match, ttl_s}`
pub fn put(
    key: &Key,
    new: &EncodedValue,
    mode: PutMode,
    condition: Option<&IfMatch>,
    ttl_s: Option<u64>,
) -> Vec<u8> {
    let mut out = start(Op::Put, key, 4);
    value(&mut out, new);
    let _ = rmp::encode::write_str(&mut out, mode.name());
    if_match(&mut out, condition);
    ttl(&mut out, ttl_s);
    out
}

/// What a page of a listing or a query is: prefix, after (or nil), limit,
/// values; `list` and `query` send these four in this order.
fn page(out: &mut Vec<u8>, query: &ListQuery) {
    let _ = rmp::encode::write_str(out, &query.prefix);
    match &query.after {
        Some(after) => {
            let _ = rmp::encode::write_str(out, after);
        }
        None => {
            let _ = rmp::encode::write_nil(out);
        }
    }
    let _ = rmp::encode::write_uint(out, query.limit as u64);
    let _ = rmp::encode::write_bool(out, query.values);
}

/// `{'list', prefix, after, limit, values, glob, scan_limit}` with the glob
/// an array of literal strings, 1 for `*` and 2 for `?`.
pub fn list(query: &ListQuery) -> Vec<u8> {
    let mut out = Vec::with_capacity(query.prefix.len() + 64);
    let _ = rmp::encode::write_array_len(&mut out, 7);
    let _ = rmp::encode::write_str(&mut out, Op::List.name());
    page(&mut out, query);
    match &query.glob {
        None => {
            let _ = rmp::encode::write_nil(&mut out);
        }
        Some(tokens) => {
            let _ = rmp::encode::write_array_len(&mut out, tokens.len() as u32);
            for token in tokens {
                match token {
                    GlobToken::AnyRun => {
                        let _ = rmp::encode::write_uint(&mut out, 1);
                    }
                    GlobToken::OneChar => {
                        let _ = rmp::encode::write_uint(&mut out, 2);
                    }
                    GlobToken::Literal(text) => {
                        let _ = rmp::encode::write_str(&mut out, text);
                    }
                }
            }
        }
    }
    let _ = rmp::encode::write_uint(&mut out, query.scan_limit as u64);
    out
}

/// `{'query', terms, prefix, after, limit, values, scan_limit}` with the
/// terms `{path, text}` pairs.
pub fn query(query: &ListQuery) -> Vec<u8> {
    let mut out = Vec::with_capacity(query.prefix.len() + 64);
    let _ = rmp::encode::write_array_len(&mut out, 7);
    let _ = rmp::encode::write_str(&mut out, Op::Query.name());
    let _ = rmp::encode::write_array_len(&mut out, query.terms.len() as u32);
    for (path, text) in &query.terms {
        let _ = rmp::encode::write_array_len(&mut out, 2);
        let _ = rmp::encode::write_str(&mut out, path);
        let _ = rmp::encode::write_str(&mut out, text);
    }
    page(&mut out, query);
    let _ = rmp::encode::write_uint(&mut out, query.scan_limit as u64);
    out
}

/// `{'indexes'}`
pub fn indexes() -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    let _ = rmp::encode::write_array_len(&mut out, 1);
    let _ = rmp::encode::write_str(&mut out, Op::Indexes.name());
    out
}

/// `{'delete_prefix', prefix, limit}`
pub fn delete_prefix(prefix: &str, limit: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(prefix.len() + 32);
    let _ = rmp::encode::write_array_len(&mut out, 3);
    let _ = rmp::encode::write_str(&mut out, Op::DeletePrefix.name());
    let _ = rmp::encode::write_str(&mut out, prefix);
    let _ = rmp::encode::write_uint(&mut out, limit as u64);
    out
}

/// `{'delete', key, if_match}`
pub fn delete(key: &Key, condition: Option<&IfMatch>) -> Vec<u8> {
    let mut out = start(Op::Delete, key, 1);
    if_match(&mut out, condition);
    out
}

/// `{'patch', key, 'merge', doc, if_match}` or `{'patch', key, 'json', ops, if_match}`
/// with each JSON Patch operation `{op, path, from, value}`.
pub fn patch(key: &Key, patch: &Patch, condition: Option<&IfMatch>) -> Vec<u8> {
    let mut out = start(Op::Patch, key, 3);
    match patch {
        Patch::Merge(doc) => {
            let _ = rmp::encode::write_str(&mut out, "merge");
            value(&mut out, doc);
        }
        Patch::Json(ops) => {
            let _ = rmp::encode::write_str(&mut out, "json");
            let _ = rmp::encode::write_array_len(&mut out, ops.len() as u32);
            for op in ops {
                json_patch_op(&mut out, op);
            }
        }
    }
    if_match(&mut out, condition);
    out
}

fn json_patch_op(out: &mut Vec<u8>, op: &JsonPatchOp) {
    let _ = rmp::encode::write_array_len(out, 4);
    let _ = rmp::encode::write_str(out, op.op);
    tokens(out, &op.path);
    match &op.from {
        Some(from) => tokens(out, from),
        None => {
            let _ = rmp::encode::write_nil(out);
        }
    }
    match &op.value {
        Some(new) => value(out, new),
        None => {
            let _ = rmp::encode::write_nil(out);
        }
    }
}

/// `{'txn', ops}` with each op `{name, key, ...}` as kv/txn.lua takes it.
pub fn txn(ops: &[TxnOp]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ops.len() * 64 + 8);
    let _ = rmp::encode::write_array_len(&mut out, 2);
    let _ = rmp::encode::write_str(&mut out, Op::Txn.name());
    let _ = rmp::encode::write_array_len(&mut out, ops.len() as u32);
    for op in ops {
        let (name, args) = match op {
            TxnOp::Create(..) => ("create", 1),
            TxnOp::Update(..) => ("update", 1),
            TxnOp::Patch(..) => ("patch", 1),
            TxnOp::Delete(_) => ("delete", 0),
            TxnOp::Get(_) => ("get", 0),
            TxnOp::CheckRevision(..) => ("check", 1),
            TxnOp::CheckAbsent(_) => ("check", 2),
        };
        let _ = rmp::encode::write_array_len(&mut out, 2 + args);
        let _ = rmp::encode::write_str(&mut out, name);
        let _ = rmp::encode::write_str(&mut out, op.key().as_str());
        match op {
            TxnOp::Create(_, new) | TxnOp::Update(_, new) | TxnOp::Patch(_, new) => {
                value(&mut out, new);
            }
            TxnOp::CheckRevision(_, revision) => {
                let _ = rmp::encode::write_uint(&mut out, *revision);
            }
            TxnOp::CheckAbsent(_) => {
                let _ = rmp::encode::write_nil(&mut out);
                let _ = rmp::encode::write_bool(&mut out, true);
            }
            TxnOp::Delete(_) | TxnOp::Get(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Key {
        Key::parse(k.into(), 16).unwrap()
    }

    #[test]
    fn operations_are_arrays_of_a_name_a_key_and_arguments() {
        let value = EncodedValue::from_bytes(vec![0x80]);
        assert_eq!(get(&key("k")), [0x92, 0xa3, b'g', b'e', b't', 0xa1, b'k']);
        assert_eq!(
            create(&key("k"), &value, None),
            [0x94, 0xa6, b'c', b'r', b'e', b'a', b't', b'e', 0xa1, b'k', 0xc4, 0x01, 0x80, 0xc0]
        );
        let put_any = put(
            &key("k"),
            &value,
            PutMode::Upsert,
            Some(&IfMatch::Any),
            Some(5),
        );
        assert_eq!(put_any[0], 0x96);
        assert_eq!(&put_any[put_any.len() - 2..], [0xc3, 0x05]);
        let page = list(&ListQuery {
            prefix: "p".into(),
            after: None,
            limit: 10,
            values: true,
            glob: Some(vec![
                GlobToken::AnyRun,
                GlobToken::Literal("x".into()),
                GlobToken::OneChar,
            ]),
            terms: Vec::new(),
            scan_limit: 100,
        });
        // values, the glob [1, "x", 2], scan_limit 100
        assert_eq!(
            &page[page.len() - 7..],
            [0xc3, 0x93, 0x01, 0xa1, b'x', 0x02, 0x64]
        );
        let del = delete(&key("k"), Some(&IfMatch::Revisions(vec![5, 300])));
        assert_eq!(&del[del.len() - 5..], [0x92, 0x05, 0xcd, 0x01, 0x2c]);
        let del = delete(&key("k"), None);
        assert_eq!(&del[del.len() - 1..], [0xc0]);
    }
}
