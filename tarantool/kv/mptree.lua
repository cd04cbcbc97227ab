-- Stored values as trees of raw MessagePack, for patches: a map or array
-- that a patch goes into is opened into a node; everything else stays the
-- exact bytes it was stored as. Numbers are never decoded into Lua on the
-- way, so 2.0 stays a float and 2^64-1 stays exact, in the members a patch
-- did not touch and in those it wrote.
--
-- A node is a Lua string (one raw MessagePack value), or an open container:
--   { map = true, keys = {k1, ...}, vals = {node1, ...} }   (in order)
--   { array = true, items = {node1, ...} }
local bit = require('bit')
local ffi = require('ffi')
local msgpack = require('msgpack')

local M = {}

local bytes_of = ffi.typeof('const uint8_t *')

local function be(p, i, n)
    local v = 0
    for k = 0, n - 1 do
        v = v * 256 + p[i + k]
    end
    return v
end

-- For the value at `i`: the count of its elements if it is a container
-- (pairs for a map), whether it is a map, and where its first element
-- starts; for a scalar: nil and the index after it.
local function head(p, i)
    local c = p[i]
    if c >= 0x80 and c <= 0x8f then return c - 0x80, true, i + 1 end
    if c >= 0x90 and c <= 0x9f then return c - 0x90, false, i + 1 end
    if c == 0xde then return be(p, i + 1, 2), true, i + 3 end
    if c == 0xdc then return be(p, i + 1, 2), false, i + 3 end
    if c == 0xdf then return be(p, i + 1, 4), true, i + 5 end
    if c == 0xdd then return be(p, i + 1, 4), false, i + 5 end
    if c <= 0x7f or c >= 0xe0 or c == 0xc0 or c == 0xc2 or c == 0xc3 then return nil, i + 1 end
    if c >= 0xa0 and c <= 0xbf then return nil, i + 1 + (c - 0xa0) end
    if c == 0xd9 then return nil, i + 2 + p[i + 1] end
    if c == 0xda then return nil, i + 3 + be(p, i + 1, 2) end
    if c == 0xdb then return nil, i + 5 + be(p, i + 1, 4) end
    if c >= 0xcc and c <= 0xd3 then return nil, i + 1 + bit.lshift(1, (c - 0xcc) % 4) end
    if c == 0xcb then return nil, i + 9 end
    if c == 0xca then return nil, i + 5 end
    error('unexpected MessagePack byte ' .. c)
end

-- The index after the value that starts at `i`.
local function skip(p, i)
    local count, is_map, next_i = head(p, i)
    if count == nil then
        return is_map
    end
    local elements = is_map and count * 2 or count
    for _ = 1, elements do
        next_i = skip(p, next_i)
    end
    return next_i
end

-- What kind of value `node` is: 'map', 'array' or 'scalar'.
function M.kind(node)
    if type(node) == 'table' then
        return node.map and 'map' or 'array'
    end
    local c = node:byte(1)
    if (c >= 0x80 and c <= 0x8f) or c == 0xde or c == 0xdf then return 'map' end
    if (c >= 0x90 and c <= 0x9f) or c == 0xdc or c == 0xdd then return 'array' end
    return 'scalar'
end

-- `node` as an open container (opening a raw one); nil for a scalar.
function M.open(node)
    if type(node) == 'table' then
        return node
    end
    local p = ffi.cast(bytes_of, node)
    local count, is_map, i = head(p, 0)
    if count == nil then
        return nil
    end
    if is_map then
        local keys, vals = {}, {}
        for n = 1, count do
            local key_end = skip(p, i)
            keys[n] = msgpack.decode(node:sub(i + 1, key_end))
            local val_end = skip(p, key_end)
            vals[n] = node:sub(key_end + 1, val_end)
            i = val_end
        end
        return { map = true, keys = keys, vals = vals }
    end
    local items = {}
    for n = 1, count do
        local item_end = skip(p, i)
        items[n] = node:sub(i + 1, item_end)
        i = item_end
    end
    return { array = true, items = items }
end

local function container_header(count, is_map)
    if count < 16 then
        return string.char((is_map and 0x80 or 0x90) + count)
    elseif count < 65536 then
        return string.char(is_map and 0xde or 0xdc, bit.rshift(count, 8), bit.band(count, 0xff))
    end
    return string.char(is_map and 0xdf or 0xdd, bit.rshift(count, 24), bit.band(bit.rshift(count, 16), 0xff),
        bit.band(bit.rshift(count, 8), 0xff), bit.band(count, 0xff))
end

-- `node` as one raw MessagePack value.
function M.encode(node)
    if type(node) == 'string' then
        return node
    end
    local parts = {}
    if node.map then
        parts[1] = container_header(#node.keys, true)
        for n = 1, #node.keys do
            parts[#parts + 1] = msgpack.encode(node.keys[n])
            parts[#parts + 1] = M.encode(node.vals[n])
        end
    else
        parts[1] = container_header(#node.items, false)
        for n = 1, #node.items do
            parts[#parts + 1] = M.encode(node.items[n])
        end
    end
    return table.concat(parts)
end

-- The position of `key` in an open map, if it is there.
function M.find(map, key)
    for n = 1, #map.keys do
        if map.keys[n] == key then
            return n
        end
    end
    return nil
end

-- Sets `key` in an open map, in place if it is there, else at the end.
function M.set(map, key, node)
    local n = M.find(map, key)
    if n then
        map.vals[n] = node
    else
        map.keys[#map.keys + 1] = key
        map.vals[#map.vals + 1] = node
    end
end

-- Removes `key` from an open map; whether it was there.
function M.remove(map, key)
    local n = M.find(map, key)
    if n == nil then
        return false
    end
    table.remove(map.keys, n)
    table.remove(map.vals, n)
    return true
end

-- RFC 7396 JSON Merge Patch of `target` (a node, or nil) by `patch` (raw):
-- an object patch merges member by member, null removes, anything else
-- replaces. Returns the new node.
function M.merge(target, patch)
    if M.kind(patch) ~= 'map' then
        return patch
    end
    local result = (target ~= nil and M.kind(target) == 'map') and M.open(target)
        or { map = true, keys = {}, vals = {} }
    local changes = M.open(patch)
    for n = 1, #changes.keys do
        local key, value = changes.keys[n], changes.vals[n]
        if value == '\xc0' then
            M.remove(result, key)
        else
            local at = M.find(result, key)
            M.set(result, key, M.merge(at and result.vals[at], value))
        end
    end
    return result
end

-- Whether two values are equal as JSON (RFC 6902 `test`): numbers by
-- value, objects whatever the order of their members.
local function same(a, b)
    if type(a) == 'table' and type(b) == 'table' then
        local a_mt, b_mt = getmetatable(a), getmetatable(b)
        local a_map = a_mt ~= nil and a_mt.__serialize == 'map'
        local b_map = b_mt ~= nil and b_mt.__serialize == 'map'
        if a_map ~= b_map then
            return false
        end
        local count = 0
        for k, v in pairs(a) do
            if not same(v, b[k]) then
                return false
            end
            count = count + 1
        end
        for _ in pairs(b) do
            count = count - 1
        end
        return count == 0
    end
    if type(a) == 'table' or type(b) == 'table' then
        return false
    end
    -- A missing member is no null, though box.NULL == nil holds in LuaJIT.
    local a_absent, b_absent = type(a) == 'nil', type(b) == 'nil'
    if a_absent or b_absent then
        return a_absent and b_absent
    end
    local a_null = type(a) == 'cdata' and a == nil
    local b_null = type(b) == 'cdata' and b == nil
    if a_null or b_null then
        return a_null and b_null
    end
    return a == b
end

function M.equal(a, b)
    return same(msgpack.decode(M.encode(a)), msgpack.decode(M.encode(b)))
end

return M
