-- The contract with the gateway (its side: src/storage/protocol.rs). What
-- kv_batch takes and returns is versioned: a gateway whose version differs
-- refuses readiness with a message instead of misreading the answers.
--
-- kv_batch(ops, max_reply_bytes) -> {status1, detail1, revision1, due1, status2, ...}
--   ops              an array of operations, each an array:
--                      {'get', key}
--                      {'create', key, value, ttl_s}
--                      {'put', key, value, mode, if_match, ttl_s}
--                      {'delete', key, if_match}
--                      {'patch', key, kind, doc, if_match}
--                      {'txn', ops}
--                      {'list', prefix, after, limit, values, glob, scan_limit}
--                      {'delete_prefix', prefix, limit}
--                      {'query', terms, prefix, after, limit, values, scan_limit}
--                      {'indexes'}
--                      {'feed', since, limit, max_bytes}
--                    (see kv/records.lua, kv/txn.lua, kv/listing.lua, kv/feed.lua)
--   max_reply_bytes  once the answers so far hold this many bytes, the
--                    remaining operations are not run: 'deferred'
-- Each answer is four values: status, detail, revision, due time (the
-- millisecond a record's expiry is due, or nil). Statuses, with their
-- detail and revision:
--   found value rev due | missing | created nil rev | exists nil rev
--   updated nil rev | deleted value rev | patched value rev due
--   listed {cursor, key, rev, value, due, ...} | deleted_prefix {count, more}
--   indexes {path, type, unique, ...}
--   events {rev, key, kind, value, ...} committed oldest  (feed; the due slot
--     holds the first revision the feed has every event from)
--   compacted nil committed oldest (feed: `since` is before `oldest` - 1,
--     or after the last committed revision)
--   invalid_value message (a declared field of the wrong type)
--   field_taken path (a unique field's value belongs to another record)
--   not_indexed message | invalid_query message (queries)
--   precondition_failed nil current_rev | conflict message
--   committed results last_rev | aborted results failed_index  (txn)
--   deferred (not run: the reply budget was spent; send it again)
--   bad_request message | too_large | no_space | read_only | failed message
--
-- kv_watch(since, limit, max_bytes, timeout_s) -> {status, detail, committed, oldest}
--   the answer of a 'feed' operation, given once there are events after
--   `since` or `timeout_s` seconds have passed (see kv/feed.lua).
local limits = require('kv.limits')

local M = {}

M.VERSION = 6

-- kv_ready() -> {protocol = VERSION, max_key_bytes = N, max_batch_ops = N}
-- What /ready asks: proves the caller may execute the kv functions and
-- tells which protocol and limits this side has.
function M.kv_ready()
    return {
        protocol = M.VERSION,
        max_key_bytes = limits.max_key_bytes,
        max_batch_ops = limits.max_batch_ops,
    }
end

return M
