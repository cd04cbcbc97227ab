-- Settings from the environment, with the script's own defaults. A bad
-- value stops the start with a message naming the variable.
local M = {}

function M.string(name, default)
    local value = os.getenv(name)
    if value == nil or value == '' then
        return default
    end
    return value
end

function M.die(message)
    io.stderr:write('kv-gateway: ' .. message .. '\n')
    os.exit(1)
end

function M.positive_integer(name, default)
    local raw = M.string(name, nil)
    if raw == nil then
        return default
    end
    local value = tonumber(raw)
    if value == nil or value <= 0 or value % 1 ~= 0 then
        M.die(string.format('%s must be a positive integer, got %q', name, raw))
    end
    return value
end

return M
