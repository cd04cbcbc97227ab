-- RFC 6902 JSON Patch on a stored value, all operations or none. The
-- gateway parses the patch document and sends each operation as
-- {op, path, from, value}: path and from as arrays of JSON Pointer
-- reference tokens (already unescaped), value as raw MessagePack.
local mptree = require('kv.mptree')

local M = {}

-- A JSON Pointer for messages.
local function pointer(tokens)
    if #tokens == 0 then
        return '""'
    end
    local parts = {}
    for n, token in ipairs(tokens) do
        parts[n] = token:gsub('~', '~0'):gsub('/', '~1')
    end
    return '/' .. table.concat(parts, '/')
end

-- An array index token: digits without leading zeros; nil otherwise.
local function index_of(token)
    if token == '0' or token:match('^[1-9]%d*$') then
        return tonumber(token)
    end
    return nil
end

-- Walks to the container that holds the last token of `tokens`, opening
-- containers on the way (and storing them back, so changes stick). Returns
-- that container, or nil and why not.
local function parent_of(root, tokens)
    root.doc = mptree.open(root.doc) or root.doc
    local node = root.doc
    for n = 1, #tokens - 1 do
        local token = tokens[n]
        local open = mptree.open(node)
        local child, at
        if open and open.map then
            at = mptree.find(open, token)
            child = at and open.vals[at]
        elseif open then
            at = index_of(token)
            child = at and open.items[at + 1]
        end
        if child == nil then
            return nil, 'path ' .. pointer(tokens) .. ' does not exist'
        end
        local opened = mptree.open(child) or child
        if open.map then
            open.vals[at] = opened
        else
            open.items[at + 1] = opened
        end
        node = opened
    end
    local open = mptree.open(node)
    if open == nil then
        return nil, 'path ' .. pointer(tokens) .. ' does not exist'
    end
    return open
end

-- The value at `tokens`, or nil and why not.
local function get(root, tokens)
    if #tokens == 0 then
        return root.doc
    end
    local parent, err = parent_of(root, tokens)
    if parent == nil then
        return nil, err
    end
    local last = tokens[#tokens]
    if parent.map then
        local at = mptree.find(parent, last)
        if at then
            return parent.vals[at]
        end
    else
        local at = index_of(last)
        if at and parent.items[at + 1] then
            return parent.items[at + 1]
        end
    end
    return nil, 'path ' .. pointer(tokens) .. ' does not exist'
end

local function add(root, tokens, value)
    if #tokens == 0 then
        root.doc = value
        return true
    end
    local parent, err = parent_of(root, tokens)
    if parent == nil then
        return nil, err
    end
    local last = tokens[#tokens]
    if parent.map then
        mptree.set(parent, last, value)
        return true
    end
    local at = last == '-' and #parent.items or index_of(last)
    if at == nil or at > #parent.items then
        return nil, 'path ' .. pointer(tokens) .. ' is not an index of the array'
    end
    table.insert(parent.items, at + 1, value)
    return true
end

local function remove(root, tokens)
    if #tokens == 0 then
        return nil, 'the whole document cannot be removed'
    end
    local parent, err = parent_of(root, tokens)
    if parent == nil then
        return nil, err
    end
    local last = tokens[#tokens]
    if parent.map then
        if mptree.remove(parent, last) then
            return true
        end
    else
        local at = index_of(last)
        if at and parent.items[at + 1] then
            table.remove(parent.items, at + 1)
            return true
        end
    end
    return nil, 'path ' .. pointer(tokens) .. ' does not exist'
end

local function is_prefix(shorter, longer)
    if #shorter >= #longer then
        return false
    end
    for n = 1, #shorter do
        if shorter[n] ~= longer[n] then
            return false
        end
    end
    return true
end

local apply = {
    add = function(root, op)
        return add(root, op[2], op[4])
    end,
    remove = function(root, op)
        return remove(root, op[2])
    end,
    replace = function(root, op)
        local _, err = get(root, op[2])
        if err then
            return nil, err
        end
        if #op[2] == 0 then
            root.doc = op[4]
            return true
        end
        return add(root, op[2], op[4])
    end,
    move = function(root, op)
        if is_prefix(op[3], op[2]) then
            return nil, 'a value cannot be moved into itself'
        end
        local value, err = get(root, op[3])
        if value == nil then
            return nil, err
        end
        local ok, why = remove(root, op[3])
        if not ok then
            return nil, why
        end
        return add(root, op[2], value)
    end,
    copy = function(root, op)
        local value, err = get(root, op[3])
        if value == nil then
            return nil, err
        end
        -- The copy must not share open containers with its source.
        return add(root, op[2], mptree.encode(value))
    end,
    test = function(root, op)
        local value, err = get(root, op[2])
        if value == nil then
            return nil, err
        end
        if not mptree.equal(value, op[4]) then
            return nil, 'test failed: the value at ' .. pointer(op[2]) .. ' differs'
        end
        return true
    end,
}

-- Applies `ops` to the raw value `value_mp`; returns the new value as a
-- node, or nil and why the patch cannot apply.
function M.apply(value_mp, ops)
    local root = { doc = value_mp }
    for n, op in ipairs(ops) do
        local fn = apply[op[1]]
        if fn == nil then
            return nil, string.format('operation %d: unknown op %s', n, tostring(op[1]))
        end
        local ok, err = fn(root, op)
        if not ok then
            return nil, string.format('operation %d (%s): %s', n - 1, op[1], err)
        end
    end
    return root.doc
end

return M
