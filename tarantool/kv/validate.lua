-- What may be stored: exactly what the gateway accepts and can render as
-- JSON again. The gateway checks this before it sends anything; these checks
-- make the store trust no client, so a record can never be one that a GET
-- or DELETE through the gateway then fails to show.
--
-- A value is walked as raw MessagePack (never decoded into Lua): one map;
-- inside, nil, booleans, integers, finite 64-bit floats, UTF-8 strings,
-- arrays and maps with UTF-8 string keys, nested at most MAX_DEPTH deep.
-- Not allowed: binary, extensions, 32-bit floats (the gateway never writes
-- them), NaN and infinities, the reserved byte 0xc1, bytes after the value.
local bit = require('bit')
local ffi = require('ffi')

local M = {}

-- Containers inside one value, the value's own map included. The gateway's
-- JSON parser stops at 128 levels for the whole body, so it never sends more.
M.MAX_DEPTH = 128

local bytes_of = ffi.typeof('const uint8_t *')

-- Whether bytes [i, stop) of `p` are UTF-8 (RFC 3629: no overlongs, no
-- surrogates, nothing above U+10FFFF).
local function utf8_ok(p, i, stop)
    while i < stop do
        local c = p[i]
        if c < 0x80 then
            i = i + 1
        else
            local n, lo, hi
            if c >= 0xc2 and c <= 0xdf then
                n, lo, hi = 1, 0x80, 0xbf
            elseif c == 0xe0 then
                n, lo, hi = 2, 0xa0, 0xbf
            elseif c == 0xed then
                n, lo, hi = 2, 0x80, 0x9f
            elseif c >= 0xe1 and c <= 0xef then
                n, lo, hi = 2, 0x80, 0xbf
            elseif c == 0xf0 then
                n, lo, hi = 3, 0x90, 0xbf
            elseif c == 0xf4 then
                n, lo, hi = 3, 0x80, 0x8f
            elseif c >= 0xf1 and c <= 0xf3 then
                n, lo, hi = 3, 0x80, 0xbf
            else
                return false
            end
            if i + n >= stop then
                return false
            end
            local second = p[i + 1]
            if second < lo or second > hi then
                return false
            end
            for k = 2, n do
                local cont = p[i + k]
                if cont < 0x80 or cont > 0xbf then
                    return false
                end
            end
            i = i + n + 1
        end
    end
    return true
end

local function be(p, i, n)
    local v = 0
    for k = 0, n - 1 do
        v = v * 256 + p[i + k]
    end
    return v
end

-- If a string starts at `i`: its body's start and length, else nil.
local function string_at(p, i, len)
    local c = p[i]
    local start, n
    if c >= 0xa0 and c <= 0xbf then
        start, n = i + 1, c - 0xa0
    elseif c == 0xd9 and i + 2 <= len then
        start, n = i + 2, p[i + 1]
    elseif c == 0xda and i + 3 <= len then
        start, n = i + 3, be(p, i + 1, 2)
    elseif c == 0xdb and i + 5 <= len then
        start, n = i + 5, be(p, i + 1, 4)
    else
        return nil
    end
    return start, n
end

-- Checks the value at `i` (depth levels already open); returns the index
-- after it, or nil and why not.
local walk

local function walk_string(p, i, len)
    local start, n = string_at(p, i, len)
    if start == nil or start + n > len then
        return nil, 'a string is cut short'
    end
    if not utf8_ok(p, start, start + n) then
        return nil, 'a string is not UTF-8'
    end
    return start + n
end

local function walk_container(p, i, len, depth, count, is_map)
    if depth >= M.MAX_DEPTH then
        return nil, string.format('nested deeper than %d levels', M.MAX_DEPTH)
    end
    for _ = 1, count do
        if is_map then
            if i >= len then
                return nil, 'the value is cut short'
            end
            if string_at(p, i, len) == nil then
                return nil, 'a map key is not a string'
            end
            local err
            i, err = walk_string(p, i, len)
            if i == nil then
                return nil, err
            end
        end
        local err
        i, err = walk(p, i, len, depth + 1)
        if i == nil then
            return nil, err
        end
    end
    return i
end

walk = function(p, i, len, depth)
    if i >= len then
        return nil, 'the value is cut short'
    end
    local c = p[i]
    if c <= 0x7f or c >= 0xe0 or c == 0xc0 or c == 0xc2 or c == 0xc3 then
        return i + 1
    elseif c >= 0xa0 and c <= 0xbf or c >= 0xd9 and c <= 0xdb then
        return walk_string(p, i, len)
    elseif c >= 0x80 and c <= 0x8f then
        return walk_container(p, i + 1, len, depth, c - 0x80, true)
    elseif c >= 0x90 and c <= 0x9f then
        return walk_container(p, i + 1, len, depth, c - 0x90, false)
    elseif c == 0xde or c == 0xdc then
        if i + 3 > len then
            return nil, 'the value is cut short'
        end
        return walk_container(p, i + 3, len, depth, be(p, i + 1, 2), c == 0xde)
    elseif c == 0xdf or c == 0xdd then
        if i + 5 > len then
            return nil, 'the value is cut short'
        end
        return walk_container(p, i + 5, len, depth, be(p, i + 1, 4), c == 0xdf)
    elseif c >= 0xcc and c <= 0xd3 then
        -- uint8..64, int8..64: 1, 2, 4 or 8 bytes after the marker.
        local size = bit.lshift(1, (c - 0xcc) % 4)
        if i + 1 + size > len then
            return nil, 'the value is cut short'
        end
        return i + 1 + size
    elseif c == 0xcb then
        if i + 9 > len then
            return nil, 'the value is cut short'
        end
        -- All exponent bits set: an infinity or a NaN, which JSON cannot hold.
        if bit.band(p[i + 1], 0x7f) == 0x7f and bit.band(p[i + 2], 0xf0) == 0xf0 then
            return nil, 'a float is not finite'
        end
        return i + 9
    elseif c == 0xca then
        return nil, 'a float is 32-bit'
    elseif c == 0xc1 then
        return nil, 'the value holds the reserved byte 0xc1'
    end
    return nil, 'the value holds binary data or an extension'
end

-- nil if `value_mp` (a Lua string of MessagePack) may be stored, else why not.
function M.value(value_mp)
    if type(value_mp) ~= 'string' or value_mp == '' then
        return 'value must be one MessagePack map'
    end
    local p = ffi.cast(bytes_of, value_mp)
    local c = p[0]
    if not ((c >= 0x80 and c <= 0x8f) or c == 0xde or c == 0xdf) then
        return 'value must be one MessagePack map'
    end
    local stop, err = walk(p, 0, #value_mp, 0)
    if stop == nil then
        return 'value rejected: ' .. err
    end
    if stop ~= #value_mp then
        return 'value rejected: bytes after the map'
    end
    return nil
end

-- nil if `key` may be a key (a non-empty UTF-8 string of at most
-- `max_bytes` bytes), else why not.
function M.key(key, max_bytes)
    if type(key) ~= 'string' or key == '' then
        return 'key must be a non-empty string'
    end
    if #key > max_bytes then
        return string.format('key is longer than %d bytes', max_bytes)
    end
    if not utf8_ok(ffi.cast(bytes_of, key), 0, #key) then
        return 'key is not UTF-8'
    end
    return nil
end

return M
