-- Tuples as raw MessagePack bytes, through Tarantool's module API (FFI):
-- values are written and read back without ever being decoded into Lua,
-- where numbers would lose their type (2.0 would come back as 2).
local ffi = require('ffi')

-- Each declaration on its own: one Tarantool already made must not stop the rest.
for _, declaration in ipairs({
    'int box_insert(uint32_t space_id, const char *tuple, const char *tuple_end, void **result);',
    'int box_replace(uint32_t space_id, const char *tuple, const char *tuple_end, void **result);',
    'typedef struct tuple box_tuple_t;',
    'const char *box_tuple_field(box_tuple_t *tuple, uint32_t fieldno);',
    'uint32_t box_tuple_field_count(box_tuple_t *tuple);',
    'size_t box_tuple_bsize(box_tuple_t *tuple);',
}) do
    pcall(ffi.cdef, declaration)
end

local M = {}

-- The MessagePack bytes of field `fieldno` (0-based) of `tuple`, copied
-- without decoding.
function M.field(tuple, fieldno)
    local start = ffi.C.box_tuple_field(tuple, fieldno)
    local stop = ffi.C.box_tuple_field(tuple, fieldno + 1)
    if stop == nil then
        -- The last field ends where the tuple does: after the array header
        -- (1, 3 or 5 bytes by field count) and bsize bytes in all.
        local count = ffi.C.box_tuple_field_count(tuple)
        local header = count < 16 and 1 or (count < 65536 and 3 or 5)
        stop = ffi.C.box_tuple_field(tuple, 0) - header + ffi.C.box_tuple_bsize(tuple)
    end
    return ffi.string(start, stop - start)
end

local bytes_of = ffi.typeof('const uint8_t *')

-- The unsigned integer in field `fieldno` (0-based) of `tuple`, or nil if
-- the tuple has no such field (or it is nil): read in place, without the
-- Lua C API's field access.
function M.uint_at(tuple, fieldno)
    local field = ffi.C.box_tuple_field(tuple, fieldno)
    if field == nil then
        return nil
    end
    local p = ffi.cast(bytes_of, field)
    local c = p[0]
    if c <= 0x7f then
        return c
    elseif c == 0xcc then
        return p[1]
    elseif c == 0xcd then
        return p[1] * 0x100 + p[2]
    elseif c == 0xce then
        return ((p[1] * 0x100 + p[2]) * 0x100 + p[3]) * 0x100 + p[4]
    elseif c == 0xcf then
        local high = ((p[1] * 0x100 + p[2]) * 0x100 + p[3]) * 0x100 + p[4]
        local low = ((p[5] * 0x100 + p[6]) * 0x100 + p[7]) * 0x100 + p[8]
        return high * 0x100000000 + low
    end
    return nil
end

-- Writes `tuple_mp` (the MessagePack of a whole tuple) into space `space_id`
-- with box_insert or box_replace (`how`); raises the box error on failure.
function M.write(how, space_id, tuple_mp)
    local data = ffi.cast('const char *', tuple_mp)
    if ffi.C[how](space_id, data, data + #tuple_mp, nil) ~= 0 then
        box.error()
    end
end

return M
