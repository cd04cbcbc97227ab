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
    'int box_delete(uint32_t space_id, uint32_t index_id, const char *key, const char *key_end, box_tuple_t **result);',
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

local key = ffi.new('uint8_t[10]')
local deleted = ffi.new('box_tuple_t *[1]')

-- Deletes from space `space_id` the row whose primary key is the unsigned
-- integer `n`, with the key encoded here rather than from a Lua table;
-- returns whether there was one. Raises the box error on failure.
function M.delete_uint(space_id, n)
    key[0] = 0x91
    local len
    if n < 0x80 then
        key[1] = n
        len = 2
    else
        local width, marker
        if n < 0x100 then
            width, marker = 1, 0xcc
        elseif n < 0x10000 then
            width, marker = 2, 0xcd
        elseif n < 0x100000000 then
            width, marker = 4, 0xce
        else
            width, marker = 8, 0xcf
        end
        key[1] = marker
        local rest = n
        for i = width + 1, 2, -1 do
            key[i] = rest % 256
            rest = math.floor(rest / 256)
        end
        len = width + 2
    end
    local data = ffi.cast('const char *', key)
    if ffi.C.box_delete(space_id, 0, data, data + len, deleted) ~= 0 then
        box.error()
    end
    return deleted[0] ~= nil
end

-- A buffer that tuples are put together in, so a tuple made of parts is
-- copied once into C memory rather than concatenated into a new (hashed,
-- garbage-collected) Lua string. It grows for a big tuple and shrinks back.
local SMALL = 16 * 1024
local buffer_size = SMALL
local buffer = ffi.new('char[?]', buffer_size)

local function put(at, part)
    if part == nil then
        return at
    end
    ffi.copy(buffer + at, part, #part)
    return at + #part
end

-- Writes the tuple `header .. a .. b .. c .. d .. e` (d and e may be nil):
-- an array header and its fields, each already MessagePack, with box_insert
-- or box_replace (`how`) into space `space_id`; raises the box error on
-- failure.
function M.write_parts(how, space_id, header, a, b, c, d, e)
    local size = #header + #a + #b + #c + (d and #d or 0) + (e and #e or 0)
    if size > buffer_size or (buffer_size > SMALL and size <= SMALL) then
        buffer_size = math.max(SMALL, size)
        buffer = ffi.new('char[?]', buffer_size)
    end
    local at = put(put(put(put(put(put(0, header), a), b), c), d), e)
    if ffi.C[how](space_id, buffer, buffer + at, nil) ~= 0 then
        box.error()
    end
end

return M
