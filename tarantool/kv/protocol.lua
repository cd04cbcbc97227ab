-- The contract with the gateway (its side: src/storage/protocol.rs). What
-- kv_batch takes and returns is versioned: a gateway whose version differs
-- refuses readiness with a message instead of misreading the answers.
--
-- kv_batch(ops, max_reply_bytes) -> {status1, detail1, status2, detail2, ...}
--   ops              an array of {name, key[, value_mp]}, name one of OPS
--   max_reply_bytes  once the answers so far hold this many bytes, the
--                    remaining operations are not run: 'deferred'
-- Statuses, with their detail (a value as MessagePack, a message, or nil):
--   found value | missing | created | exists | updated | deleted value
--   deferred (not run: the reply budget was spent; send it again)
--   bad_request message | too_large | no_space | read_only | failed message
local limits = require('kv.limits')

local M = {}

M.VERSION = 2

-- Operation names and whether each writes (runs in the batch's transaction).
M.OPS = { get = false, create = true, update = true, delete = true }

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
