-- kv_batch: the operations of many gateway requests in one call (the
-- protocol is described in kv/protocol.lua).
local limits = require('kv.limits')
local outcome = require('kv.outcome')
local protocol = require('kv.protocol')
local records = require('kv.records')

local run = {}
for name in pairs(protocol.OPS) do
    run[name] = records[name]
end

local bad_op = 'an operation is {name, key[, value_mp]} with name get, create, update or delete'

-- Results are a flat array: the status and detail (a value, a message, or
-- box.NULL) of operation i at 2i-1 and 2i, so no table is built per operation.
local function put_result(results, i, status, detail)
    results[2 * i - 1] = status
    results[2 * i] = detail == nil and box.NULL or detail
end

-- Runs operation `op`; in a write batch inside its own savepoint, so an
-- operation that fails after some of its statements leaves nothing behind
-- while the others keep theirs. Nothing here may yield: a yield inside the
-- transaction would abort it (memtx), and outside one would let another
-- fiber see half of a batch.
local function run_op(op, in_transaction)
    local fn = type(op) == 'table' and run[op[1]]
    if not fn then
        return 'bad_request', bad_op
    end
    local savepoint = in_transaction and protocol.OPS[op[1]] and box.savepoint()
    local ok, status, detail = pcall(fn, op[2], op[3])
    if ok then
        return status, detail
    end
    if savepoint then
        box.rollback_to_savepoint(savepoint)
    end
    return outcome.of_error(status)
end

local function fail_all(count, err)
    local status, message = outcome.of_error(err)
    local results = {}
    for i = 1, count do
        put_result(results, i, status, message)
    end
    return results
end

-- The ops, if they are an array of at most max_batch_ops operations. The
-- length of a table decoded from a MessagePack map with keys 1, 2, 4, ...
-- 2^24 is 2^24: only a real array (decoded with the 'seq' hint) is taken.
local function operations(ops)
    if type(ops) ~= 'table' then
        return nil
    end
    local mt = getmetatable(ops)
    if mt ~= nil and mt.__serialize ~= 'seq' and mt.__serialize ~= 'array' then
        return nil
    end
    local count = #ops
    if count > limits.max_batch_ops then
        return nil
    end
    return count
end

local M = {}

-- The gateway sends the operations its requests have waiting as one call:
-- one round trip and, for writes, one transaction and so one WAL write for
-- all of them. Operations run in order, each with the outcome it would have
-- alone; only a failed commit fails them all. Reads never yield, so a batch
-- without writes needs no transaction.
function M.kv_batch(ops, max_reply_bytes)
    local count = operations(ops)
    if count == nil then
        return { 'bad_request', string.format(
            'ops must be an array of at most %d operations', limits.max_batch_ops) }
    end
    local budget = type(max_reply_bytes) == 'number' and max_reply_bytes or math.huge
    local writes = false
    for i = 1, count do
        local op = ops[i]
        if type(op) ~= 'table' or protocol.OPS[op[1]] ~= false then
            writes = true
            break
        end
    end
    if writes then
        local ok, err = pcall(box.begin)
        if not ok then
            return fail_all(count, err)
        end
    end
    local results = {}
    local reply_bytes = 0
    for i = 1, count do
        if reply_bytes >= budget then
            put_result(results, i, 'deferred')
        else
            local status, detail = run_op(ops[i], writes)
            put_result(results, i, status, detail)
            if type(detail) == 'string' then
                reply_bytes = reply_bytes + #detail
            end
        end
    end
    if writes then
        local ok, err = pcall(box.commit)
        if not ok then
            box.rollback()
            return fail_all(count, err)
        end
    end
    return results
end

-- One operation by itself, as kv_get and friends expose it.
function M.single(name)
    return function(key, value_mp)
        local status, detail = run_op({ name, key, value_mp }, false)
        return status, detail
    end
end

return M
