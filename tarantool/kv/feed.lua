-- The change feed: every write appends {revision, key, kind, value, time} to
-- kv_feed in the transaction of the write, with the write's revision. kind is
-- 'put' (value: the record's new value), 'delete' or 'expire' (value nil);
-- time is when it was written (Unix ms). Readers get the events after a
-- revision (kv_batch's 'feed' operation), or wait for them (kv_watch).
--
-- Only events of committed transactions are handed out: `committed` is the
-- highest revision whose transaction's commit has returned. Transactions
-- never yield before their commit and the WAL commits them in order, so
-- every revision up to `committed` is final, on every Tarantool version.
--
-- Retention: a fiber trims the oldest events while the feed holds more than
-- MAX_EVENTS events or MAX_BYTES bytes, or events older than MAX_AGE_S.
-- `compacted` is the highest revision whose event may be gone: a reader
-- that has seen up to a revision below it has missed events, and is told
-- so ('compacted') rather than given a gap.
--
-- kv_feed is a temporary space: its rows are written to no WAL and no
-- snapshot, so an event costs its write memory and CPU only, not a second
-- copy of the value on disk. The feed therefore starts empty after a
-- restart, compacted up to the last revision: a watcher that had seen
-- everything goes on without a gap; one that was behind is told.
local fiber = require('fiber')
local log = require('log')
local msgpack = require('msgpack')

local raw = require('kv.raw')
local revision = require('kv.revision')

local M = {
    -- init.lua sets these from TARANTOOL_FEED_MAX_EVENTS, _MAX_BYTES, _MAX_AGE_S.
    MAX_EVENTS = 100000,
    MAX_BYTES = 64 * 1024 * 1024,
    MAX_AGE_S = 3600,
    -- Events deleted per trimming transaction, and the trimmer's pause.
    TRIM_STEP = 1000,
    TRIM_INTERVAL_S = 0.1,
    -- The longest a kv_watch call waits, whatever it asks.
    MAX_WAIT_S = 60,
    committed = 0,
    compacted = 0,
}

-- Woken whenever `committed` grows.
local changed = fiber.cond()

local KIND = {
    put = msgpack.encode('put'),
    delete = msgpack.encode('delete'),
    expire = msgpack.encode('expire'),
}
local NIL = msgpack.encode(nil)

-- The last time encoded, as every operation of a batch has the same.
local last_now, last_now_mp = nil, nil

-- Appends an event to the current transaction: `key_mp` and `rev_mp` are
-- the MessagePack of the key and the revision (the caller has them already
-- for the record), `value_mp` the record's new value or nil.
function M.append(rev_mp, key_mp, kind, value_mp, now)
    if now ~= last_now then
        last_now, last_now_mp = now, msgpack.encode(now)
    end
    raw.write_parts('box_insert', M.space_id, '\x95', rev_mp, key_mp, KIND[kind],
        value_mp or NIL, last_now_mp)
end

-- Appends an event for a write that has no encoded key or revision at hand.
function M.record(rev, key, kind, now)
    M.append(msgpack.encode(rev), msgpack.encode(key), kind, nil, now)
end

-- Commits the current transaction of writes, then hands its events out.
-- A transaction that deleted a record first stores the revision counter
-- (see revision.lua). Raises what box.commit raises.
function M.commit()
    if revision.deleted then
        revision.store_floor()
    end
    box.commit()
    local top = revision.last
    if top > M.committed then
        M.committed = top
        changed:broadcast()
    end
end

-- read(since, limit, max_bytes) -> events flat oldest committed
--   | compacted nil oldest committed
-- The committed events after revision `since` (nil: none, only the current
-- revision), at most `limit` of them and about `max_bytes` of values:
-- revision, key, kind and value (MessagePack, or nil) of each, flat.
-- `oldest` is the first revision the feed still holds every event from.
function M.read(since, limit, max_bytes)
    local oldest = M.compacted + 1
    if since == nil then
        return 'events', {}, M.committed, oldest
    end
    if since < M.compacted or since > M.committed then
        return 'compacted', nil, M.committed, oldest
    end
    local events = {}
    local count, bytes = 0, 0
    for _, tuple in box.space.kv_feed.index.primary:pairs(since, { iterator = 'GT' }) do
        local rev = tuple[1]
        if rev > M.committed or count >= limit or (count > 0 and bytes >= max_bytes) then
            break
        end
        local value = raw.field(tuple, 3)
        if value == NIL then
            value = box.NULL
        else
            bytes = bytes + #value
        end
        local n = #events
        events[n + 1] = rev
        events[n + 2] = tuple[2]
        events[n + 3] = tuple[3]
        events[n + 4] = value
        count = count + 1
    end
    return 'events', events, M.committed, oldest
end

local function bad_args(since, limit, max_bytes)
    if since ~= nil and (type(since) ~= 'number' or since < 0 or since % 1 ~= 0) then
        return 'since must be nil or a revision'
    end
    if type(limit) ~= 'number' or limit < 1 or type(max_bytes) ~= 'number' or max_bytes < 1 then
        return 'limit and max_bytes must be positive numbers'
    end
    return nil
end

-- kv_batch's 'feed' operation: read without waiting.
function M.feed(since, limit, max_bytes)
    local bad = bad_args(since, limit, max_bytes)
    if bad then
        return 'bad_request', bad
    end
    return M.read(since, limit, max_bytes)
end

-- kv_watch(since, limit, max_bytes, timeout_s) -> {status, events, committed, oldest}
-- Like 'feed', but when there is no event after `since` yet, waits up to
-- `timeout_s` seconds (at most MAX_WAIT_S) for one. A gateway holds one such
-- call per worker and hands the events to all its watchers; it is a call of
-- its own, never part of a kv_batch, so it holds no batch up.
function M.kv_watch(since, limit, max_bytes, timeout_s)
    local bad = bad_args(since, limit, max_bytes)
        or ((type(timeout_s) ~= 'number' or timeout_s < 0) and 'timeout_s must be a number')
    if bad or since == nil then
        return { 'bad_request', bad or 'kv_watch needs since', box.NULL, box.NULL }
    end
    local deadline = fiber.clock() + math.min(timeout_s, M.MAX_WAIT_S)
    while true do
        local status, events, committed, oldest = M.read(since, limit, max_bytes)
        local left = deadline - fiber.clock()
        if status ~= 'events' or #events > 0 or left <= 0 then
            return { status, events == nil and box.NULL or events, committed, oldest }
        end
        changed:wait(left)
    end
end

-- Deletes up to TRIM_STEP of the oldest events that are over a bound, in
-- one transaction (of a temporary space: no WAL write, no yield); returns
-- how many. Over the count or bytes bound it deletes by revision, from the
-- oldest on, without reading the events; over the age bound it reads the
-- oldest before each delete.
function M.trim_once(now)
    local feed = box.space.kv_feed
    local len = feed:len()
    if len == 0 then
        return 0
    end
    local excess = len - M.MAX_EVENTS
    local bytes = tonumber(feed:bsize())
    if bytes > M.MAX_BYTES then
        excess = math.max(excess, math.ceil((bytes - M.MAX_BYTES) * len / bytes))
    end
    local cutoff = now - M.MAX_AGE_S * 1000
    local oldest = feed.index.primary:min()
    if excess <= 0 and oldest[5] >= cutoff then
        return 0
    end
    local newest = feed.index.primary:max()[1]
    local counted = math.min(math.max(excess, 0), M.TRIM_STEP)
    local rev, trimmed = oldest[1], 0
    box.begin()
    while trimmed < M.TRIM_STEP and rev <= newest do
        if trimmed >= counted then
            local first = feed.index.primary:min()
            if first == nil or first[5] >= cutoff then
                break
            end
            rev = first[1]
        end
        if raw.delete_uint(M.space_id, rev) then
            trimmed = trimmed + 1
            if rev > M.compacted then
                M.compacted = rev
            end
        end
        rev = rev + 1
    end
    box.commit()
    return trimmed
end

local function trimmer()
    while true do
        local trimmed = 0
        if not box.info.ro then
            local ok, result = pcall(M.trim_once, math.floor(fiber.time() * 1000))
            if ok then
                trimmed = result
            else
                if box.is_in_txn() then
                    box.rollback()
                end
                log.error('kv-gateway: trimming the change feed failed: %s', tostring(result))
            end
        end
        if trimmed < M.TRIM_STEP then
            fiber.sleep(M.TRIM_INTERVAL_S)
        else
            fiber.yield()
        end
    end
end

-- Takes up at the store's last revision: every revision up to it is
-- committed, and the feed holds none of their events (it starts empty).
function M.restore(last_revision)
    if box.space.kv_feed == nil then
        -- A read-only instance of an older schema: nothing writes here.
        return
    end
    M.space_id = box.space.kv_feed.id
    M.committed = last_revision
    local first = box.space.kv_feed.index.primary:min()
    M.compacted = first and first[1] - 1 or last_revision
end

function M.start()
    fiber.create(trimmer):name('kv-feed-trim')
end

return M
