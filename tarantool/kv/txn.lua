-- txn(ops): several operations in one transaction, in order, later ones
-- seeing earlier ones: all of them happen, or none.
--   ops: an array of {name, key, ...}:
--     {'create', key, value} {'update', key, value} {'patch', key, merge}
--     {'delete', key} {'get', key} {'check', key, rev} {'check', key, nil, true}
-- -> committed results last_rev | aborted results failed_index
-- results: status, detail, revision, due time of each operation run (flat); when
-- aborted they end with the failing one, whose index (0-based) is returned.
local outcome = require('kv.outcome')
local records = require('kv.records')
local revision = require('kv.revision')

local M = {}

-- Each operation: how to run it, and the status that means it succeeded.
local OPS = {
    create = { fn = function(op) return records.create(op[2], op[3]) end, ok = 'created', writes = true },
    update = { fn = function(op) return records.put(op[2], op[3], 'update') end, ok = 'updated', writes = true },
    patch = { fn = function(op) return records.patch(op[2], 'merge', op[3]) end, ok = 'patched', writes = true },
    delete = { fn = function(op) return records.delete(op[2]) end, ok = 'deleted', writes = true },
    get = { fn = function(op) return records.get(op[2]) end, ok = 'found', writes = false },
    check = { fn = function(op) return records.check(op[2], op[3], op[4]) end, ok = 'ok', writes = false },
}

-- Whether `ops` holds a write (then the batch must be a write batch).
function M.writes(ops)
    if type(ops) ~= 'table' then
        return true
    end
    for _, op in ipairs(ops) do
        local spec = type(op) == 'table' and OPS[op[1]]
        if not spec or spec.writes then
            return true
        end
    end
    return false
end

function M.run(ops)
    if type(ops) ~= 'table' or #ops == 0 then
        return 'bad_request', 'ops must be a non-empty array'
    end
    local savepoint = box.is_in_txn() and box.savepoint()
    local results = {}
    local last = nil
    for i, op in ipairs(ops) do
        local spec = type(op) == 'table' and OPS[op[1]]
        local ok, status, detail, rev, due
        if spec then
            ok, status, detail, rev, due = pcall(spec.fn, op)
            if not ok then
                status, detail = outcome.of_error(status)
            end
        else
            status, detail = 'bad_request', 'unknown operation'
        end
        local n = #results
        results[n + 1] = status
        results[n + 2] = detail == nil and box.NULL or detail
        results[n + 3] = rev == nil and box.NULL or rev
        results[n + 4] = due == nil and box.NULL or due
        if not spec or status ~= spec.ok then
            if savepoint then
                box.rollback_to_savepoint(savepoint)
            end
            return 'aborted', results, i - 1
        end
        if spec.writes then
            last = rev
        end
    end
    return 'committed', results, last or revision.last
end

return M
