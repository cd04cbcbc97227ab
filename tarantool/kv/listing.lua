-- Listing keys in byte order, a page at a time, and deleting by prefix.
-- Both walk the TREE index on the key from where they are told to start,
-- so the cost of a page does not grow with the size of the store.
local expiry = require('kv.expiry')
local feed = require('kv.feed')
local records = require('kv.records')
local revision = require('kv.revision')

local M = {}

-- Glob tokens, as the gateway sends them: literal strings, and these.
local ANY = 1 -- `*`: any run of characters
local ONE = 2 -- `?`: one character

-- Bytes of the UTF-8 character that starts at `i` (keys are UTF-8).
local function char_len(s, i)
    local c = s:byte(i)
    if c >= 0xf0 then return 4 end
    if c >= 0xe0 then return 3 end
    if c >= 0xc0 then return 2 end
    return 1
end

-- Whether `key` matches `tokens` as a whole: a linear scan that backtracks
-- only to the last `*`, so the work is at most key length x pattern length.
function M.glob_match(tokens, key)
    local ti, ki, n = 1, 1, #key
    local star_ti, star_ki = nil, nil
    while ki <= n do
        local token = tokens[ti]
        if token == ANY then
            star_ti, star_ki = ti, ki
            ti = ti + 1
        elseif token == ONE then
            ki = ki + char_len(key, ki)
            ti = ti + 1
        elseif type(token) == 'string' and key:sub(ki, ki + #token - 1) == token then
            ki = ki + #token
            ti = ti + 1
        elseif star_ti ~= nil then
            star_ki = star_ki + char_len(key, star_ki)
            ki = star_ki
            ti = star_ti + 1
        else
            return false
        end
    end
    while tokens[ti] == ANY do
        ti = ti + 1
    end
    return tokens[ti] == nil
end

local function has_prefix(key, prefix)
    return prefix == '' or key:sub(1, #prefix) == prefix
end

-- The keys from `prefix` on (or after `after`), in byte order.
local function walk(prefix, after)
    local index = box.space.kv.index.ordered
    if after ~= nil and after >= prefix then
        return index:pairs(after, { iterator = 'GT' })
    end
    return index:pairs(prefix, { iterator = 'GE' })
end

-- Whether a page ({cursor, key1, rev1, value1, due1, ...}) being filled in
-- key order ends before the next key in range, having `count` items and
-- `scanned` keys looked at, the last of them `after`; if so, sets its
-- cursor. Full: the next key is in range, so this is not the last page and
-- it goes on after its last item. Scanned enough: it goes on after the
-- last key looked at, which may be past its last item.
function M.page_ends(page, count, limit, scanned, scan_limit, after)
    if count >= limit then
        page[1] = page[#page - 3]
        return true
    end
    if scanned >= scan_limit then
        page[1] = after
        return true
    end
    return false
end

-- list(prefix, after, limit, values, glob, scan_limit)
--   -> listed {cursor, key1, rev1, value1, due1, key2, ...}
-- At most `limit` live keys with `prefix` after `after` that match `glob`
-- (nil: all), with their values if `values`. At most `scan_limit` keys are
-- looked at; the page may then hold fewer items. `cursor` is the key to go
-- on after, or nil when the range is done.
function M.list(prefix, after, limit, values, glob, scan_limit)
    if type(prefix) ~= 'string' or (after ~= nil and type(after) ~= 'string')
        or type(limit) ~= 'number' or limit < 1 or type(scan_limit) ~= 'number' then
        return 'bad_request', 'list takes prefix, after, limit, values, glob, scan_limit'
    end
    local now = expiry.now_ms()
    local page = { box.NULL }
    local count, scanned = 0, 0
    for _, tuple in walk(prefix, after) do
        local key = tuple[1]
        if not has_prefix(key, prefix) then
            return 'listed', page
        end
        if M.page_ends(page, count, limit, scanned, scan_limit, after) then
            return 'listed', page
        end
        scanned = scanned + 1
        after = key
        if not expiry.expired(tuple, now) and (glob == nil or M.glob_match(glob, key)) then
            page[#page + 1] = key
            page[#page + 1] = tuple[3]
            page[#page + 1] = values == true and records.value_of(tuple) or box.NULL
            page[#page + 1] = values == true and tuple[4] or box.NULL
            count = count + 1
        end
    end
    return 'listed', page
end

-- delete_prefix(prefix, limit) -> deleted_prefix {count, more}
-- Deletes up to `limit` keys with `prefix` in the current transaction,
-- each a write with its own revision and event; `more` says whether keys
-- remain. Expired keys met on the way go too (as expiries), but are not counted.
function M.delete_prefix(prefix, limit)
    if type(prefix) ~= 'string' or type(limit) ~= 'number' or limit < 1 then
        return 'bad_request', 'delete_prefix takes prefix, limit'
    end
    local now = expiry.now_ms()
    local doomed = {}
    for _, tuple in walk(prefix, nil) do
        if not has_prefix(tuple[1], prefix) or #doomed > limit then
            break
        end
        doomed[#doomed + 1] = tuple
    end
    local more = #doomed > limit
    local count = 0
    for n = 1, math.min(#doomed, limit) do
        local tuple = doomed[n]
        box.space.kv:delete(tuple[1])
        expiry.reschedule(tuple[1], tuple[4], nil)
        revision.deleted = true
        if expiry.expired(tuple, now) then
            feed.record(revision.take(), tuple[1], 'expire', now)
        else
            feed.record(revision.take(), tuple[1], 'delete', now)
            count = count + 1
        end
    end
    return 'deleted_prefix', { count, more }
end

return M
