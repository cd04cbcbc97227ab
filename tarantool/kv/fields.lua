-- Indexes on fields inside values, declared by KV_INDEXES
-- ("slack:string:unique,jira:string:unique,age:number"): Tarantool's JSON
-- path index parts over the value map. Records without the field are
-- allowed and not found by it. Every write checks the declared fields
-- first, so a wrong type or a taken unique value comes back as an outcome
-- rather than as Tarantool's error text; an expired record never holds a
-- unique value hostage.
local msgpack = require('msgpack')

local expiry = require('kv.expiry')
local mptree = require('kv.mptree')

local M = {}

-- The declared indexes, in order: { name, path, steps, type, unique }.
M.declared = {}

-- Index types, with the MessagePack they take.
local TYPES = {
    string = function(c) return (c >= 0xa0 and c <= 0xbf) or (c >= 0xd9 and c <= 0xdb) end,
    integer = function(c) return c <= 0x7f or c >= 0xe0 or (c >= 0xcc and c <= 0xd3) end,
    number = function(c) return c <= 0x7f or c >= 0xe0 or (c >= 0xcc and c <= 0xd3) or c == 0xca or c == 0xcb end,
    boolean = function(c) return c == 0xc2 or c == 0xc3 end,
}

local ARTICLE = { string = 'a string', integer = 'an integer', number = 'a number', boolean = 'a boolean' }

-- Parses KV_INDEXES; returns the declarations or nil and why not.
function M.parse(spec)
    local declared, seen = {}, {}
    if spec == nil or spec == '' then
        return declared
    end
    for entry in (spec .. ','):gmatch('([^,]*),') do
        entry = entry:match('^%s*(.-)%s*$')
        local parts = {}
        for part in (entry .. ':'):gmatch('([^:]*):') do
            parts[#parts + 1] = part
        end
        local path, kind, unique = parts[1], parts[2], parts[3]
        if kind == 'unique' and unique == nil then
            kind, unique = nil, 'unique'
        end
        kind = (kind == nil or kind == '') and 'string' or kind
        local steps = {}
        for step in (path .. '.'):gmatch('([^.]*)%.') do
            if not step:match('^[%a_][%w_]*$') then
                return nil, string.format('KV_INDEXES: %q is no field path (names of letters, digits '
                    .. 'and _, joined by dots: profile.email)', path)
            end
            steps[#steps + 1] = step
        end
        if TYPES[kind] == nil then
            return nil, string.format('KV_INDEXES: %s has type %q; one of string, number, integer, boolean',
                path, kind)
        end
        if #parts > 3 or (unique ~= nil and unique ~= 'unique') then
            return nil, string.format('KV_INDEXES: %q is not path[:type][:unique]', entry)
        end
        if seen[path] then
            return nil, string.format('KV_INDEXES: %s is declared twice', path)
        end
        seen[path] = true
        declared[#declared + 1] = {
            name = 'field_' .. path:gsub('%.', '__'),
            path = path,
            steps = steps,
            type = kind,
            unique = unique == 'unique',
        }
    end
    return declared
end

-- Whether a raw field value is of index type `kind`.
function M.accepts(kind, field)
    return TYPES[kind](field:byte(1))
end

-- The raw MessagePack of the field at `steps` in `value_mp`, if it is
-- there and not null.
function M.field_of(value_mp, steps)
    local node = value_mp
    for _, step in ipairs(steps) do
        local map = mptree.kind(node) == 'map' and mptree.open(node)
        local at = map and mptree.find(map, step)
        if not at then
            return nil
        end
        node = map.vals[at]
    end
    node = mptree.encode(node)
    if node == '\xc0' then
        return nil
    end
    return node
end

-- The record holding `value` (decoded) in unique index `index`, if live.
local function holder(index, value, now)
    local tuple = box.space.kv.index[index.name]:get(value)
    if tuple ~= nil and expiry.expired(tuple, now) then
        -- Expired: it gives the value up now, as an expiry of its own.
        expiry.retire(tuple, now)
        return nil
    end
    return tuple
end

-- The declared indexes as {path, type, unique, ...} (flat).
function M.described()
    local out = {}
    for _, index in ipairs(M.declared) do
        out[#out + 1] = index.path
        out[#out + 1] = index.type
        out[#out + 1] = index.unique
    end
    return out
end

-- Checks `value_mp` about to be written under `key` against the declared
-- fields: nil, or an outcome: 'invalid_value' with why, or 'field_taken'
-- with the field. Runs in the write's transaction.
function M.check(key, value_mp, now)
    for _, index in ipairs(M.declared) do
        local field = M.field_of(value_mp, index.steps)
        if field ~= nil then
            if not TYPES[index.type](field:byte(1)) then
                return 'invalid_value', string.format('field %s must be %s', index.path, ARTICLE[index.type])
            end
            if index.unique then
                local other = holder(index, msgpack.decode(field), now)
                if other ~= nil and other[1] ~= key then
                    return 'field_taken', index.path
                end
            end
        end
    end
    return nil
end

return M
