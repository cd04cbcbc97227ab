-- The operations on one record. The tuple layout is known here only:
-- {key, value}. Values arrive as raw MessagePack bytes, are checked,
-- written as raw tuple data, and returned as the raw bytes of the field.
local msgpack = require('msgpack')

local raw = require('kv.raw')

local M = {}

local function valid_key(key)
    return type(key) == 'string' and key ~= ''
end

-- The value must be exactly one MessagePack map and nothing else.
local function valid_value(value_mp)
    if type(value_mp) ~= 'string' or value_mp == '' then
        return false
    end
    local first = value_mp:byte(1)
    if not ((first >= 0x80 and first <= 0x8f) or first == 0xde or first == 0xdf) then
        return false
    end
    return raw.is_one_value(value_mp)
end

local function record(key, value_mp)
    return '\x92' .. msgpack.encode(key) .. value_mp
end

-- What the gateway gets back for a record: the value's MessagePack bytes,
-- cut out of the tuple in C (a Lua string of them), never decoded.
local function value_of(tuple)
    return raw.field(tuple, 1)
end

local function check_write_args(key, value_mp)
    if not valid_key(key) then
        return 'key must be a non-empty string'
    end
    if not valid_value(value_mp) then
        return 'value must be one MessagePack map'
    end
    return nil
end

-- get(key) -> 'found', value_mp | 'missing'
function M.get(key)
    if not valid_key(key) then
        return 'bad_request', 'key must be a non-empty string'
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
    if not valid_key(key) then
        return 'bad_request', 'key must be a non-empty string'
    end
    local tuple = box.space.kv:delete(key)
    if tuple == nil then
        return 'missing'
    end
    return 'deleted', value_of(tuple)
end

return M
