-- kv_batch: the operations of many gateway requests in one call (the
-- protocol is described in kv/protocol.lua).
local feed = require('kv.feed')
local limits = require('kv.limits')
local listing = require('kv.listing')
local fields = require('kv.fields')
local outcome = require('kv.outcome')
local query = require('kv.query')
local records = require('kv.records')
local revision = require('kv.revision')
local txn = require('kv.txn')

-- Each operation: how to run it from its array, and whether it writes.
local OPS = {
    get = { fn = function(op) return records.get(op[2]) end, writes = false },
    create = { fn = function(op) return records.create(op[2], op[3], op[4]) end, writes = true },
    put = { fn = function(op) return records.put(op[2], op[3], op[4], op[5], op[6]) end, writes = true },
    delete = { fn = function(op) return records.delete(op[2], op[3]) end, writes = true },
    patch = { fn = function(op) return records.patch(op[2], op[3], op[4], op[5]) end, writes = true },
    txn = { fn = function(op) return txn.run(op[2]) end, writes = function(op) return txn.writes(op[2]) end },
    list = {
        fn = function(op) return listing.list(op[2], op[3], op[4], op[5], op[6], op[7]) end,
        writes = false,
    },
    delete_prefix = { fn = function(op) return listing.delete_prefix(op[2], op[3]) end, writes = true },
    query = {
        fn = function(op) return query.query(op[2], op[3], op[4], op[5], op[6], op[7]) end,
        writes = false,
    },
    indexes = { fn = function() return 'indexes', fields.described() end, writes = false },
    feed = { fn = function(op) return feed.feed(op[2], op[3], op[4]) end, writes = false },
}

local bad_op = 'an operation is an array {name, ...} with name get, create, put, delete, patch, txn,'
    .. ' list, delete_prefix, query, indexes or feed'

local function writes(op)
    local spec = type(op) == 'table' and OPS[op[1]]
    if not spec then
        return true
    end
    if type(spec.writes) == 'function' then
        return spec.writes(op)
    end
    return spec.writes
end

-- Results are a flat array: status, detail, revision and due time of
-- operation i at 4i-3 .. 4i, so no table is built per operation.
local function put_result(results, i, status, detail, rev, due)
    results[4 * i - 3] = status
    results[4 * i - 2] = detail == nil and box.NULL or detail
    results[4 * i - 1] = rev == nil and box.NULL or rev
    results[4 * i] = due == nil and box.NULL or due
end

-- The bytes of the values and messages in an answer.
local function reply_size(detail)
    if type(detail) == 'string' then
        return #detail
    elseif type(detail) == 'table' then
        local size = 0
        for _, part in ipairs(detail) do
            if type(part) == 'string' then
                size = size + #part
            end
        end
        return size
    end
    return 0
end

-- Runs operation `op`; in a write batch inside its own savepoint, so an
-- operation that fails after some of its statements leaves nothing behind
-- while the others keep theirs. Nothing here may yield: a yield inside the
-- transaction would abort it (memtx), and outside one would let another
-- fiber see half of a batch.
local function run_op(op, in_transaction)
    local spec = type(op) == 'table' and OPS[op[1]]
    if not spec then
        return 'bad_request', bad_op
    end
    local savepoint = in_transaction and box.savepoint()
    local ok, status, detail, rev, due = pcall(spec.fn, op)
    if ok then
        return status, detail, rev, due
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
            'ops must be an array of at most %d operations', limits.max_batch_ops), box.NULL, box.NULL }
    end
    local budget = type(max_reply_bytes) == 'number' and max_reply_bytes or math.huge
    local transaction = false
    for i = 1, count do
        if writes(ops[i]) then
            transaction = true
            break
        end
    end
    if transaction then
        local ok, err = pcall(box.begin)
        if not ok then
            return fail_all(count, err)
        end
        revision.deleted = false
    end
    local results = {}
    local reply_bytes = 0
    for i = 1, count do
        if reply_bytes >= budget then
            put_result(results, i, 'deferred')
        else
            local status, detail, rev, due = run_op(ops[i], transaction)
            put_result(results, i, status, detail, rev, due)
            reply_bytes = reply_bytes + reply_size(detail)
        end
    end
    if transaction then
        local ok, err = pcall(function()
            feed.commit()
        end)
        if not ok then
            box.rollback()
            return fail_all(count, err)
        end
    end
    return results
end

return M
