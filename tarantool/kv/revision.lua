-- The store-wide revision counter. Every write (create, update, patch,
-- delete, each write of a transaction) takes the next revision, and every
-- record carries the revision of the write that last changed it (tuple
-- field 3). The counter only grows, also across restarts and kill -9,
-- without a WAL row per write:
--   * a created or changed record holds its own revision, so the highest
--     revision among the records is at least that of every such write;
--   * a deleted record takes its revision with it, so a batch that deletes
--     also stores the counter in _kv_meta ('revision_floor'), in the same
--     transaction.
-- At start the counter is the larger of the two. A write whose transaction
-- fails leaves a gap; revisions are never reused.
local M = { last = 0 }

-- Reads the counter back from the store: one pass over the records.
function M.restore()
    local highest = 0
    for _, tuple in box.space.kv:pairs() do
        local revision = tuple[3]
        if revision > highest then
            highest = revision
        end
    end
    local floor = box.space._kv_meta:get('revision_floor')
    if floor ~= nil and floor[2] > highest then
        highest = floor[2]
    end
    M.last = highest
end

-- The revision for the next write.
function M.take()
    M.last = M.last + 1
    return M.last
end

-- Stores the counter, for batches that delete (see above).
function M.store_floor()
    box.space._kv_meta:replace({ 'revision_floor', M.last })
end

return M
