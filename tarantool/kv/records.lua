-- The operations on one record. The tuple layout is known here only:
-- {key, value}. Values arrive as raw MessagePack bytes, are checked,
-- written as raw tuple data, and returned as the raw bytes of the field.
local msgpack = require('msgpack')

local limits = require('kv.limits')
local raw = require('kv.raw')
local validate = require('kv.validate')

local M = {}

local function record(key, value_mp)
    return '\x92' .. msgpack.encode(key) .. value_mp
end

-- What the gateway gets back for a record: the value's MessagePack bytes,
-- cut out of the tuple in C (a Lua string of them), never decoded.
local function value_of(tuple)
    return raw.field(tuple, 1)
end

local function check_write_args(key, value_mp)
    return validate.key(key, limits.max_key_bytes) or validate.value(value_mp)
end

-- get(key) -> 'found', value_mp | 'missing'
function M.get(key)
    local bad = validate.key(key, limits.max_key_bytes)
    if bad then
        return 'bad_request', bad
    end
    local tuple = box.space.kv:get(key)
    if tuple == nil then
        return 'missing'
    end
    return 'found', value_of(tuple)
end

-- create(key, value_mp) -> 'created' | 'exists'
-- No yield between the lookup and the insert, so concurrent creates of one
-- key see exactly one winner.
function M.create(key, value_mp)
    local bad = check_write_args(key, value_mp)
    if bad then
        return 'bad_request', bad
    end
    if box.space.kv:get(key) ~= nil then
        return 'exists'
    end
    raw.write('box_insert', box.space.kv.id, record(key, value_mp))
    return 'created'
end

-- update(key, value_mp) -> 'updated' | 'missing'
function M.update(key, value_mp)
    local bad = check_write_args(key, value_mp)
    if bad then
        return 'bad_request', bad
    end
    if box.space.kv:get(key) == nil then
        return 'missing'
    end
    raw.write('box_replace', box.space.kv.id, record(key, value_mp))
    return 'updated'
end

-- delete(key) -> 'deleted', value_mp | 'missing'
function M.delete(key)
    local bad = validate.key(key, limits.max_key_bytes)
    if bad then
        return 'bad_request', bad
    end
    local tuple = box.space.kv:delete(key)
    if tuple == nil then
        return 'missing'
    end
    return 'deleted', value_of(tuple)
end

return M
