-- Outcomes are returned as data (a status string first), so the gateway
-- never parses error text. Failures of the store itself are caught and
-- returned the same way: 'too_large', 'no_space', 'read_only' or 'failed'.
local M = {}

function M.of_error(err)
    local is_box_error = type(err) == 'cdata'
    local code = is_box_error and err.code or nil
    if code == box.error.MEMTX_MAX_TUPLE_SIZE then
        return 'too_large'
    -- 2.x reports a full arena as an OutOfMemory error without a code.
    elseif code == box.error.MEMORY_ISSUE or (is_box_error and err.type == 'OutOfMemory') then
        return 'no_space'
    elseif code == box.error.READONLY then
        return 'read_only'
    end
    return 'failed', tostring(err)
end

return M
