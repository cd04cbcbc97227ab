-- Expiry: a record may carry the millisecond its expiry is due (tuple field
-- 4); from then on it is gone for every operation, before any background
-- work has removed it. kv_expiry holds {expires_at_ms, key} for those
-- records, in due order, and a fiber deletes due records in bounded
-- batches, each expiry a write with its own revision.
local fiber = require('fiber')
local log = require('log')

local feed = require('kv.feed')
local raw = require('kv.raw')
local revision = require('kv.revision')

local M = {}

-- Records deleted per sweeper transaction, and the pause between sweeps
-- when nothing is due (init.lua sets it from TARANTOOL_EXPIRY_SWEEP_MS).
M.BATCH = 1000
M.INTERVAL_S = 0.1

-- Milliseconds since the epoch, by the event loop's clock (cheap, and the
-- same for every operation of a batch).
function M.now_ms()
    return math.floor(fiber.time() * 1000)
end

-- When the record `tuple` expires (Unix ms), or nil.
function M.due_of(tuple)
    return raw.uint_at(tuple, 3)
end

-- Whether `tuple` (a record, or nil) is expired at `now`.
function M.expired(tuple, now)
    if tuple == nil then
        return false
    end
    local due = raw.uint_at(tuple, 3)
    return due ~= nil and due <= now
end

-- The due time for a ttl of `ttl_s` seconds written now, or nil for none.
function M.due(ttl_s, now)
    if ttl_s == nil then
        return nil
    end
    return now + ttl_s * 1000
end

-- Keeps kv_expiry in step with a record of `key` whose due time goes from
-- `old` to `new` (either may be nil).
function M.reschedule(key, old, new)
    if old == new then
        return
    end
    if old ~= nil then
        box.space.kv_expiry:delete({ old, key })
    end
    if new ~= nil then
        box.space.kv_expiry:replace({ new, key })
    end
end

-- Deletes the expired record `tuple` in the current transaction: an
-- expiry, a write with its own revision and its event in the feed.
function M.retire(tuple, now)
    box.space.kv:delete(tuple[1])
    M.reschedule(tuple[1], M.due_of(tuple), nil)
    feed.record(revision.take(), tuple[1], 'expire', now)
    revision.deleted = true
end

-- Deletes the records due by `now`, at most `limit` of them, in the
-- current transaction; returns how many.
function M.sweep(now, limit)
    local due = {}
    for _, row in box.space.kv_expiry:pairs({}, { iterator = 'GE' }) do
        if row[1] > now or #due >= limit then
            break
        end
        due[#due + 1] = row
    end
    for _, row in ipairs(due) do
        local tuple = box.space.kv:get(row[2])
        if tuple ~= nil and M.due_of(tuple) == row[1] then
            M.retire(tuple, now)
        else
            box.space.kv_expiry:delete({ row[1], row[2] })
        end
    end
    return #due
end

-- One transaction of the sweeper: deletes up to BATCH due records;
-- returns how many rows of kv_expiry it took.
function M.sweep_once()
    local swept = 0
    local ok, err = pcall(function()
        box.begin()
        revision.deleted = false
        swept = M.sweep(M.now_ms(), M.BATCH)
        feed.commit()
    end)
    if not ok then
        if box.is_in_txn() then
            box.rollback()
        end
        log.error('kv-gateway: expiry sweep failed: %s', tostring(err))
        return 0
    end
    return swept
end

-- The sweeper: on a writable instance, deletes due records in batches of
-- BATCH, one transaction each, yielding between them, so no other request
-- waits for more than one batch.
local function sweeper()
    while true do
        local swept = 0
        if not box.info.ro then
            swept = M.sweep_once()
        end
        if swept < M.BATCH then
            fiber.sleep(M.INTERVAL_S)
        else
            fiber.yield()
        end
    end
end

function M.start()
    fiber.create(sweeper):name('kv-expiry')
end

return M
