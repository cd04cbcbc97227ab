-- Builds the indexes KV_INDEXES declares and drops those an earlier
-- KV_INDEXES built that are no longer declared. Existing data is checked
-- first, for every new index: a wrong type or a duplicate of a unique
-- value stops the start with a message naming the field and a record, and
-- nothing is changed.
local msgpack = require('msgpack')

local expiry = require('kv.expiry')
local fields = require('kv.fields')
local records = require('kv.records')

local M = {}

-- Where the names of the indexes KV_INDEXES built are kept.
local BUILT = 'field_indexes'

local TYPE_OF = { string = 'a string', integer = 'an integer', number = 'a number', boolean = 'a boolean' }

local function parts_of(index)
    local parts = { { field = 2, type = index.type, path = index.path, is_nullable = true } }
    if not index.unique then
        -- Equal values in key order, so a page of a query can resume after a key.
        parts[2] = { field = 1, type = 'string' }
    end
    return parts
end

-- Whether the built index `existing` is what `index` declares.
local function same(existing, index)
    local part = existing.parts[1]
    return existing.unique == index.unique and part.type == index.type
        and part.path ~= nil and part.path:gsub('^%.', '') == index.path
end

-- The MessagePack type of a raw value, in words.
local function kind_of(raw)
    local c = raw:byte(1)
    if (c >= 0xa0 and c <= 0xbf) or (c >= 0xd9 and c <= 0xdb) then return 'a string' end
    if c == 0xc2 or c == 0xc3 then return 'a boolean' end
    if c == 0xca or c == 0xcb then return 'a float' end
    if (c >= 0x80 and c <= 0x8f) or c == 0xde or c == 0xdf then return 'an object' end
    if (c >= 0x90 and c <= 0x9f) or c == 0xdc or c == 0xdd then return 'an array' end
    return 'an integer'
end

-- Why the stored records cannot have `index`, or nil.
local function violation(index)
    local seen = {}
    for _, tuple in box.space.kv:pairs() do
        local field = fields.field_of(records.value_of(tuple), index.steps)
        if field ~= nil then
            local check = fields.accepts(index.type, field)
            if not check then
                return string.format('KV_INDEXES: field %s must be %s, but record %q holds %s',
                    index.path, TYPE_OF[index.type], tuple[1], kind_of(field))
            end
            if index.unique then
                local value = msgpack.decode(field)
                local other = seen[value]
                if other ~= nil then
                    local shown = type(value) == 'string' and string.format('%q', value) or tostring(value)
                    return string.format('KV_INDEXES: field %s is unique, but records %q and %q both hold %s',
                        index.path, other, tuple[1], shown)
                end
                seen[value] = tuple[1]
            end
        end
    end
    return nil
end

-- Brings the indexes in line with `declared`; returns nil, or why it cannot.
function M.sync(declared)
    local kv = box.space.kv
    -- Expired records hold no values: gone before anything is checked.
    while expiry.sweep_once() == expiry.BATCH do end
    local wanted, build = {}, {}
    for _, index in ipairs(declared) do
        wanted[index.name] = true
        local existing = kv.index[index.name]
        if existing == nil or not same(existing, index) then
            local why = violation(index)
            if why then
                return why
            end
            build[#build + 1] = index
        end
    end
    local row = box.space._kv_meta:get(BUILT)
    for _, name in ipairs(row and row[2] or {}) do
        if not wanted[name] and kv.index[name] ~= nil then
            kv.index[name]:drop()
            require('log').info('kv-gateway: dropped the index %s, no longer in KV_INDEXES', name)
        end
    end
    for _, index in ipairs(build) do
        if kv.index[index.name] ~= nil then
            kv.index[index.name]:drop()
        end
        kv:create_index(index.name, { type = 'tree', unique = index.unique, parts = parts_of(index) })
        require('log').info('kv-gateway: built the index %s on field %s', index.name, index.path)
    end
    local names = {}
    for _, index in ipairs(declared) do
        names[#names + 1] = index.name
    end
    box.space._kv_meta:replace({ BUILT, names })
    return nil
end

return M
