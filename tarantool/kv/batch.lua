-- kv_batch: the operations of many gateway requests in one call.
local outcome = require('kv.outcome')
local records = require('kv.records')

local single = {
    get = outcome.guarded(records.get),
    create = outcome.guarded(records.create),
    update = outcome.guarded(records.update),
    delete = outcome.guarded(records.delete),
}

local bad_op = 'an operation is {name, key[, value_mp]} with name get, create, update or delete'

-- Results are a flat array: the status and detail (a value, a message, or
-- box.NULL) of operation i at 2i-1 and 2i, so no table is built per operation.
local function put_result(results, i, status, detail)
    results[2 * i - 1] = status
    results[2 * i] = detail == nil and box.NULL or detail
end

local function run_op(ops, i, results)
    local op = ops[i]
    local fn = type(op) == 'table' and single[op[1]]
    if fn then
        put_result(results, i, fn(op[2], op[3]))
    else
        put_result(results, i, 'bad_request', bad_op)
    end
end

local function fail_all(count, err)
    local status, message = outcome.of_error(err)
    local results = {}
    for i = 1, count do
        put_result(results, i, status, message)
    end
    return results
end

local M = { single = single }

-- kv_batch({{name, key[, value_mp]}, ...}) -> {status1, detail1, status2, detail2, ...}
-- The gateway sends the operations its requests have waiting as one call:
-- one round trip and, for writes, one transaction and so one WAL write for
-- all of them. Operations run in order, each with the outcome it would have
-- alone (a failed one is rolled back by itself); only a failed commit fails
-- them all. Reads never yield, so a batch without writes needs no transaction.
function M.kv_batch(ops)
    if type(ops) ~= 'table' then
        return {}
    end
    local count = #ops
    local writes = false
    for i = 1, count do
        local op = ops[i]
        if type(op) ~= 'table' or op[1] ~= 'get' then
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
    for i = 1, count do
        run_op(ops, i, results)
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

return M
