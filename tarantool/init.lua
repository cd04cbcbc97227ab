#!/usr/bin/env tarantool
-- kv-gateway's Tarantool side: box.cfg from the environment, an idempotent and
-- versioned schema, the gateway's user, and the kv_* functions it may call.
--
-- Run as `tarantool tarantool/init.lua` from any directory. Settings:
--   TARANTOOL_LISTEN                 iproto address        (default 127.0.0.1:3301)
--   TARANTOOL_WORK_DIR               snapshots and WAL     (default: current directory)
--   TARANTOOL_MEMTX_MEMORY           bytes for data        (default 268435456, 256 MiB)
--   TARANTOOL_MEMTX_MAX_TUPLE_SIZE   bytes for one record  (default 3145728, 3 MiB)
--   KV_GATEWAY_USER                  the gateway's login   (default kv_gateway)
--   KV_GATEWAY_PASSWORD              its password          (required)
--
-- The functions never decode a stored value into Lua: Lua numbers would turn
-- 2.0 into 2 on the way back. Values arrive as raw MessagePack bytes, are
-- checked, and are written and returned as raw tuple data.

local ffi = require('ffi')
local fio = require('fio')
local msgpack = require('msgpack')

local function env(name, default)
    local value = os.getenv(name)
    if value == nil or value == '' then
        return default
    end
    return value
end

local function env_number(name, default)
    local raw = env(name, nil)
    if raw == nil then
        return default
    end
    local value = tonumber(raw)
    if value == nil or value <= 0 or value % 1 ~= 0 then
        io.stderr:write(string.format('kv-gateway: %s must be a positive integer, got %q\n', name, raw))
        os.exit(1)
    end
    return value
end

local password = env('KV_GATEWAY_PASSWORD', nil)
if password == nil then
    io.stderr:write('kv-gateway: KV_GATEWAY_PASSWORD is not set; '
        .. 'set it to the password the gateway will log in with (there is no default)\n')
    os.exit(1)
end
local user = env('KV_GATEWAY_USER', 'kv_gateway')
local listen = env('TARANTOOL_LISTEN', '127.0.0.1:3301')
local work_dir = env('TARANTOOL_WORK_DIR', fio.cwd())

if not fio.path.is_dir(work_dir) and not fio.mktree(work_dir) then
    io.stderr:write(string.format('kv-gateway: cannot create TARANTOOL_WORK_DIR %q\n', work_dir))
    os.exit(1)
end

-- Listening starts only once the schema and functions are in place, so the
-- gateway never sees a half-initialised instance.
box.cfg({
    work_dir = work_dir,
    memtx_memory = env_number('TARANTOOL_MEMTX_MEMORY', 256 * 1024 * 1024),
    -- A 1 MiB JSON body can grow up to ~2.25x as MessagePack (short floats
    -- become 9-byte doubles), so 3 MiB fits the gateway's default body limit.
    memtx_max_tuple_size = env_number('TARANTOOL_MEMTX_MAX_TUPLE_SIZE', 3 * 1024 * 1024),
    -- Every acknowledged write is in the WAL (the OS page cache), so it
    -- survives a kill -9 of Tarantool.
    wal_mode = 'write',
})

-- Raw writes: the module API takes a tuple as MessagePack bytes, so values
-- keep their exact types (float vs integer) on the way in.
pcall(ffi.cdef, [[
int box_insert(uint32_t space_id, const char *tuple, const char *tuple_end, void **result);
int box_replace(uint32_t space_id, const char *tuple, const char *tuple_end, void **result);
]])

-- Schema migrations, applied in order, each exactly once; the version
-- reached is kept in _kv_meta. Append new steps, never edit old ones.
local migrations = {
    -- 1: the kv space; a record is {key, value}.
    function()
        local kv = box.schema.space.create('kv', {
            if_not_exists = true,
            format = {
                { name = 'key', type = 'string' },
                { name = 'value', type = 'map' },
            },
        })
        kv:create_index('primary', { type = 'hash', parts = { 'key' }, if_not_exists = true })
    end,
}

local function migrate()
    local meta = box.schema.space.create('_kv_meta', {
        if_not_exists = true,
        format = { { name = 'name', type = 'string' }, { name = 'value', type = 'any' } },
    })
    meta:create_index('primary', { parts = { 'name' }, if_not_exists = true })
    local row = meta:get('schema_version')
    local version = row and row.value or 0
    for step = version + 1, #migrations do
        migrations[step]()
        meta:replace({ 'schema_version', step })
        require('log').info('kv-gateway: schema migrated to version %d', step)
    end
end

-- Outcomes are returned as data (a status string first), so the gateway
-- never parses error text. Failures of the store itself are caught and
-- returned the same way: 'too_large', 'no_space', 'read_only' or 'failed'.
local function failure(err)
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

local function guarded(fn)
    return function(...)
        local ok, status, result = pcall(fn, ...)
        if ok then
            return status, result
        end
        return failure(status)
    end
end

local function valid_key(key)
    return type(key) == 'string' and key ~= ''
end

-- The value must be exactly one MessagePack map and nothing else.
local function valid_value(value_mp)
    if type(value_mp) ~= 'string' or value_mp == '' then
        return false
    end
    local first = value_mp:byte(1)
    if not ((first >= 0x80 and first <= 0x8f) or first == 0xde or first == 0xdf) then
        return false
    end
    local ok, _, next_pos = pcall(msgpack.decode, value_mp)
    return ok and next_pos == #value_mp + 1
end

-- The tuple layout is known here only: {key, value}.
local function raw_record(key, value_mp)
    return '\x92' .. msgpack.encode(key) .. value_mp
end

-- What the gateway gets back for a record: a tuple whose first field is
-- the value, built in C so the value's bytes are untouched.
local function value_of(tuple)
    return tuple:transform(1, 1)
end

-- kv_get(key) -> 'found', {value} | 'missing'
local function kv_get(key)
    if not valid_key(key) then
        return 'bad_request', 'key must be a non-empty string'
    end
    local tuple = box.space.kv:get(key)
    if tuple == nil then
        return 'missing'
    end
    return 'found', value_of(tuple)
end

local function check_write_args(key, value_mp)
    if not valid_key(key) then
        return 'key must be a non-empty string'
    end
    if not valid_value(value_mp) then
        return 'value must be one MessagePack map'
    end
    return nil
end

local function raw_write(fn_name, key, value_mp)
    local record = raw_record(key, value_mp)
    local data = ffi.cast('const char *', record)
    if ffi.C[fn_name](box.space.kv.id, data, data + #record, nil) ~= 0 then
        box.error()
    end
end

-- kv_create(key, value_mp) -> 'created' | 'exists'
-- No yield between the lookup and the insert, so concurrent creates of one
-- key see exactly one winner.
local function kv_create(key, value_mp)
    local bad = check_write_args(key, value_mp)
    if bad then
        return 'bad_request', bad
    end
    if box.space.kv:get(key) ~= nil then
        return 'exists'
    end
    raw_write('box_insert', key, value_mp)
    return 'created'
end

-- kv_update(key, value_mp) -> 'updated' | 'missing'
local function kv_update(key, value_mp)
    local bad = check_write_args(key, value_mp)
    if bad then
        return 'bad_request', bad
    end
    if box.space.kv:get(key) == nil then
        return 'missing'
    end
    raw_write('box_replace', key, value_mp)
    return 'updated'
end

-- kv_delete(key) -> 'deleted', {value} | 'missing'
local function kv_delete(key)
    if not valid_key(key) then
        return 'bad_request', 'key must be a non-empty string'
    end
    local tuple = box.space.kv:delete(key)
    if tuple == nil then
        return 'missing'
    end
    return 'deleted', value_of(tuple)
end

local functions = {
    kv_get = kv_get,
    kv_create = kv_create,
    kv_update = kv_update,
    kv_delete = kv_delete,
}

for name, fn in pairs(functions) do
    rawset(_G, name, guarded(fn))
end

-- The gateway's user may execute these functions and nothing else; they
-- run with the rights of their definer (setuid).
local function setup_access()
    box.schema.user.create(user, { password = password, if_not_exists = true })
    box.schema.user.passwd(user, password)
    for name in pairs(functions) do
        box.schema.func.create(name, { setuid = true, if_not_exists = true })
        box.schema.user.grant(user, 'execute', 'function', name, { if_not_exists = true })
    end
end

if not box.info.ro then
    migrate()
    setup_access()
end

box.cfg({ listen = listen })
require('log').info('kv-gateway: listening on %s', listen)
