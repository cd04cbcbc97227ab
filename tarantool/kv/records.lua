-- The operations on one record, each returning its outcome as data:
-- status, detail (a value as MessagePack, a message, or nil), revision.
-- The tuple layout is known here only: {key, value, revision[, due_ms]}.
-- Values arrive as raw MessagePack bytes, are checked, written as raw
-- tuple data, and returned as the raw bytes of the field. An expired record
-- is absent for every operation, whether or not the sweeper has run.
--
-- Preconditions (`if_match`): nil for none, true for "*" (the record must
-- exist), or an array of revisions one of which the record must have.
-- Each check runs in the same step as the write it guards.
local msgpack = require('msgpack')

local expiry = require('kv.expiry')
local feed = require('kv.feed')
local fields = require('kv.fields')
local jsonpatch = require('kv.jsonpatch')
local limits = require('kv.limits')
local mptree = require('kv.mptree')
local raw = require('kv.raw')
local revision = require('kv.revision')
local validate = require('kv.validate')

local M = {}

-- What the gateway gets back for a record: the value's MessagePack bytes,
-- cut out of the tuple in C (a Lua string of them), never decoded.
local function value_of(tuple)
    return raw.field(tuple, 1)
end

-- The record of `key` unless it is absent or expired.
local function live(key, now)
    local tuple = box.space.kv:get(key)
    if tuple == nil or expiry.expired(tuple, now) then
        return nil
    end
    return tuple
end

-- Writes the record, replacing `old` (the stored tuple, live or expired,
-- or nil), due at `due` (or never), and appends the change to the feed
-- (after an expiry of `old` the sweeper had not got to yet); returns its
-- revision.
local function write(key, value_mp, due, old, now)
    if old ~= nil and expiry.expired(old, now) then
        feed.record(revision.take(), key, 'expire', now)
    end
    local rev = revision.take()
    local key_mp, rev_mp = msgpack.encode(key), msgpack.encode(rev)
    local how = old == nil and 'box_insert' or 'box_replace'
    -- The tuple: {key, value, revision[, due_ms]}.
    if due == nil then
        raw.write_parts(how, box.space.kv.id, '\x93', key_mp, value_mp, rev_mp)
    else
        raw.write_parts(how, box.space.kv.id, '\x94', key_mp, value_mp, rev_mp, msgpack.encode(due))
    end
    expiry.reschedule(key, old and expiry.due_of(old), due)
    feed.append(rev_mp, key_mp, 'put', value_mp, now)
    return rev
end

-- A ttl in seconds, if given: a positive integer.
local function bad_ttl(ttl_s)
    if ttl_s ~= nil and (type(ttl_s) ~= 'number' or ttl_s < 1 or ttl_s % 1 ~= 0) then
        return 'ttl must be a positive integer of seconds'
    end
    return nil
end

-- The revision of a record.
local function revision_of(tuple)
    return raw.uint_at(tuple, 2)
end

local function matches(if_match, tuple)
    if if_match == nil then
        return true
    end
    if tuple == nil then
        return false
    end
    if if_match == true then
        return true
    end
    local stored = revision_of(tuple)
    for _, rev in ipairs(if_match) do
        if rev == stored then
            return true
        end
    end
    return false
end

local function current(tuple)
    return tuple and revision_of(tuple) or nil
end

local function bad_key(key)
    return validate.key(key, limits.max_key_bytes)
end

-- get(key) -> found value rev due_ms | missing  (due_ms: a fourth result)
-- A read takes any string: a key no write could store is simply missing.
function M.get(key)
    if type(key) ~= 'string' then
        return 'bad_request', 'key must be a string'
    end
    local tuple = box.space.kv:get(key)
    if tuple == nil then
        return 'missing'
    end
    local due = expiry.due_of(tuple)
    if due ~= nil and due <= expiry.now_ms() then
        return 'missing'
    end
    return 'found', value_of(tuple), revision_of(tuple), due
end

M.live = live
M.value_of = value_of

-- create(key, value, ttl_s) -> created nil rev | exists nil rev
-- No yield between the lookup and the insert, so concurrent creates of one
-- key see exactly one winner. An expired record counts as absent.
function M.create(key, value_mp, ttl_s)
    local bad = bad_key(key) or validate.value(value_mp) or bad_ttl(ttl_s)
    if bad then
        return 'bad_request', bad
    end
    local now = expiry.now_ms()
    local stored = box.space.kv:get(key)
    if stored ~= nil and not expiry.expired(stored, now) then
        return 'exists', nil, revision_of(stored)
    end
    local blocked, why = fields.check(key, value_mp, now)
    if blocked then
        return blocked, why
    end
    return 'created', nil, write(key, value_mp, expiry.due(ttl_s, now), stored, now)
end

local PUT_MODES = { update = true, upsert = true, create = true }

-- put(key, value, mode, if_match, ttl_s) -> created|updated nil rev
--   | missing | precondition_failed nil current_rev
-- mode 'update' replaces an existing record only, 'upsert' also creates,
-- 'create' creates only (If-None-Match: *, a taken key fails the
-- precondition). The whole record is replaced: without a ttl, any expiry
-- it had is gone (as with Redis SET).
function M.put(key, value_mp, mode, if_match, ttl_s)
    local bad = bad_key(key) or validate.value(value_mp) or bad_ttl(ttl_s)
        or (not PUT_MODES[mode] and 'mode must be update, upsert or create')
    if bad then
        return 'bad_request', bad
    end
    local now = expiry.now_ms()
    local stored = box.space.kv:get(key)
    local tuple = not expiry.expired(stored, now) and stored or nil
    if not matches(if_match, tuple) or (mode == 'create' and tuple ~= nil) then
        return 'precondition_failed', nil, current(tuple)
    end
    if tuple == nil and mode == 'update' then
        return 'missing'
    end
    local blocked, why = fields.check(key, value_mp, now)
    if blocked then
        return blocked, why
    end
    local status = tuple and 'updated' or 'created'
    return status, nil, write(key, value_mp, expiry.due(ttl_s, now), stored, now)
end

-- delete(key, if_match) -> deleted value rev | missing | precondition_failed
function M.delete(key, if_match)
    local bad = bad_key(key)
    if bad then
        return 'bad_request', bad
    end
    local now = expiry.now_ms()
    local tuple = live(key, now)
    if not matches(if_match, tuple) then
        return 'precondition_failed', nil, current(tuple)
    end
    if tuple == nil then
        return 'missing'
    end
    box.space.kv:delete(key)
    expiry.reschedule(key, expiry.due_of(tuple), nil)
    revision.deleted = true
    local rev = revision.take()
    feed.record(rev, key, 'delete', now)
    return 'deleted', value_of(tuple), rev
end

local function apply_patch(value_mp, kind, doc)
    if kind == 'merge' and type(doc) == 'string' then
        return mptree.merge(value_mp, doc)
    elseif kind == 'json' and type(doc) == 'table' then
        return jsonpatch.apply(value_mp, doc)
    end
    error('a patch is {merge, value_mp} or {json, ops}')
end

-- patch(key, kind, doc, if_match) -> patched value rev due_ms | missing
--   | precondition_failed nil rev | conflict message
-- kind 'merge': doc is an RFC 7396 merge patch (raw MessagePack);
-- kind 'json': doc is an RFC 6902 patch as kv/jsonpatch.lua takes it.
function M.patch(key, kind, doc, if_match)
    local bad = bad_key(key)
    if bad then
        return 'bad_request', bad
    end
    local now = expiry.now_ms()
    local tuple = live(key, now)
    if not matches(if_match, tuple) then
        return 'precondition_failed', nil, current(tuple)
    end
    if tuple == nil then
        return 'missing'
    end
    local node, why = apply_patch(value_of(tuple), kind, doc)
    if node == nil then
        return 'conflict', why
    end
    if mptree.kind(node) ~= 'map' then
        return 'conflict', 'the result is not a JSON object'
    end
    local value_mp = mptree.encode(node)
    local invalid = validate.value(value_mp)
    if invalid then
        return 'conflict', 'the result cannot be stored: ' .. invalid
    end
    local blocked, why = fields.check(key, value_mp, now)
    if blocked then
        return blocked, why
    end
    -- A patch keeps the record's expiry.
    return 'patched', value_mp, write(key, value_mp, expiry.due_of(tuple), tuple, now)
end

-- check(key, rev, absent) -> ok | precondition_failed nil current_rev
-- For transactions: the record has revision `rev`, or (absent) no record.
function M.check(key, rev, absent)
    local bad = bad_key(key)
    if bad then
        return 'bad_request', bad
    end
    local tuple = live(key, expiry.now_ms())
    local holds
    if absent == true then
        holds = tuple == nil
    else
        holds = tuple ~= nil and revision_of(tuple) == rev
    end
    if holds then
        return 'ok', nil, current(tuple)
    end
    return 'precondition_failed', nil, current(tuple)
end

return M
