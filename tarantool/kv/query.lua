-- Finding records by fields inside their values, through the indexes
-- KV_INDEXES declares: a query never scans the whole space.
local msgpack = require('msgpack')

local expiry = require('kv.expiry')
local fields = require('kv.fields')
local listing = require('kv.listing')
local records = require('kv.records')

local M = {}

-- `text` (a query parameter) read as a value of index type `kind`.
local function read_as(kind, text)
    if kind == 'string' then
        return text
    elseif kind == 'boolean' then
        if text == 'true' then return true elseif text == 'false' then return false end
        return nil
    elseif kind == 'integer' then
        if text:match('^%-?%d+$') then
            return tonumber64(text)
        end
        return nil
    end
    return tonumber(text)
end

-- Whether the raw field holds what `text` says, read by the field's own
-- type (for a field no index declares).
local function loosely_equal(raw, text)
    local value = msgpack.decode(raw)
    if type(value) == 'string' then
        return value == text
    elseif type(value) == 'boolean' then
        return tostring(value) == text
    elseif type(value) == 'number' or type(value) == 'cdata' then
        local wanted = tonumber64(text) or tonumber(text)
        return wanted ~= nil and value == wanted
    end
    return false
end

local function declared_named(path)
    for _, index in ipairs(fields.declared) do
        if index.path == path then
            return index
        end
    end
    return nil
end

local function indexed_fields()
    local names = {}
    for _, index in ipairs(fields.declared) do
        names[#names + 1] = index.path
    end
    return #names > 0 and table.concat(names, ', ') or '(none)'
end

-- Whether every term holds for a record's value.
function M.holds(checks, value_mp)
    for _, check in ipairs(checks) do
        local raw = fields.field_of(value_mp, check.steps)
        if raw == nil then
            return false
        end
        if check.index then
            if msgpack.decode(raw) ~= check.value then
                return false
            end
        elseif not loosely_equal(raw, check.value) then
            return false
        end
    end
    return true
end

-- query(terms, prefix, after, limit, values, scan_limit) -> listed page
--   terms: an array of {path, text}, all of which must hold; at least one
--   on a declared field, which drives the search (the record's values come
--   with the page unless `values` is false).
-- -> not_indexed 'indexed fields: ...' | invalid_query message
function M.query(terms, prefix, after, limit, values, scan_limit)
    if type(terms) ~= 'table' or #terms == 0 or type(prefix) ~= 'string' or type(limit) ~= 'number' then
        return 'bad_request', 'query takes terms, prefix, after, limit, values, scan_limit'
    end
    local driver, checks = nil, {}
    for _, term in ipairs(terms) do
        local path, text = term[1], term[2]
        local index = declared_named(path)
        local wanted = text
        if index then
            wanted = read_as(index.type, text)
            if wanted == nil then
                return 'invalid_query', string.format('where.%s must be %s, not %q', path,
                    ({ integer = 'an integer', number = 'a number', boolean = 'true or false' })[index.type], text)
            end
            driver = driver or { index = index, value = wanted }
        end
        local steps = {}
        for step in (path .. '.'):gmatch('([^.]*)%.') do
            steps[#steps + 1] = step
        end
        checks[#checks + 1] = { steps = steps, index = index, value = wanted }
    end
    if driver == nil then
        return 'not_indexed', 'indexed fields: ' .. indexed_fields()
    end
    local space_index = box.space.kv.index[driver.index.name]
    local next_tuple
    if driver.index.unique then
        local tuple = space_index:get(driver.value)
        next_tuple = function()
            local found = tuple
            tuple = nil
            return found
        end
    else
        local gen, param, state
        if after ~= nil then
            gen, param, state = space_index:pairs({ driver.value, after }, { iterator = 'GT' })
        else
            gen, param, state = space_index:pairs({ driver.value }, { iterator = 'EQ' })
        end
        next_tuple = function()
            local tuple
            state, tuple = gen(param, state)
            return tuple
        end
    end
    -- A GT walk goes on past the driving value: it stops there.
    local bounded = after ~= nil and not driver.index.unique
    local now = expiry.now_ms()
    local page = { box.NULL }
    local count, scanned = 0, 0
    for tuple in next_tuple do
        local value_mp = records.value_of(tuple)
        if bounded then
            local raw = fields.field_of(value_mp, driver.index.steps)
            if raw == nil or msgpack.decode(raw) ~= driver.value then
                break
            end
        end
        if listing.page_ends(page, count, limit, scanned, scan_limit, after) then
            return 'listed', page
        end
        scanned = scanned + 1
        after = tuple[1]
        if not expiry.expired(tuple, now) and (prefix == '' or tuple[1]:sub(1, #prefix) == prefix)
            and M.holds(checks, value_mp) then
            page[#page + 1] = tuple[1]
            page[#page + 1] = tuple[3]
            local due = values ~= false and tuple[4] or nil
            page[#page + 1] = values == false and box.NULL or value_mp
            page[#page + 1] = due == nil and box.NULL or due
            count = count + 1
        end
    end
    return 'listed', page
end

return M
