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
-- checked, written as raw tuple data, and returned as the raw bytes of the field.

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
-- Example values that get copied into real deployments.
local PLACEHOLDER_PASSWORDS = { ['change-me'] = true, ['changeme'] = true, ['password'] = true }
if PLACEHOLDER_PASSWORDS[password:lower()] then
    io.stderr:write(string.format('kv-gateway: KV_GATEWAY_PASSWORD is the placeholder %q; '
        .. 'set a real password (for example: openssl rand -hex 16)\n', password))
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
-- Each declaration on its own: one Tarantool already made must not stop the rest.
for _, declaration in ipairs({
    'int box_insert(uint32_t space_id, const char *tuple, const char *tuple_end, void **result);',
    'int box_replace(uint32_t space_id, const char *tuple, const char *tuple_end, void **result);',
    'typedef struct tuple box_tuple_t;',
    'const char *box_tuple_field(box_tuple_t *tuple, uint32_t fieldno);',
    'uint32_t box_tuple_field_count(box_tuple_t *tuple);',
    'size_t box_tuple_bsize(box_tuple_t *tuple);',
    'int mp_check(const char **data, const char *end);',
}) do
    pcall(ffi.cdef, declaration)
end

-- The MessagePack bytes of field `fieldno` (0-based) of `tuple`, copied
-- without decoding: decoding into Lua would turn 2.0 into 2.
local function raw_field(tuple, fieldno)
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

-- Whether `data` is exactly one well-formed MessagePack value. msgpuck's
-- mp_check walks it in C without building anything; where a Tarantool does
-- not export it, decoding into Lua checks the same, about ten times slower.
local is_one_msgpack_value
if pcall(function() return ffi.C.mp_check end) then
    local cursor = ffi.new('const char *[1]')
    is_one_msgpack_value = function(data)
        local start = ffi.cast('const char *', data)
        local stop = start + #data
        cursor[0] = start
        return ffi.C.mp_check(cursor, stop) == 0 and cursor[0] == stop
    end
else
    is_one_msgpack_value = function(data)
        local ok, _, next_pos = pcall(msgpack.decode, data)
        return ok and next_pos == #data + 1
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
    return is_one_msgpack_value(value_mp)
end

-- The tuple layout is known here only: {key, value}.
local function raw_record(key, value_mp)
    return '\x92' .. msgpack.encode(key) .. value_mp
end

-- What the gateway gets back for a record: the value's MessagePack bytes,
-- cut out of the tuple in C (a Lua string of them), never decoded.
local function value_of(tuple)
    return raw_field(tuple, 1)
end

-- kv_get(key) -> 'found', value_mp | 'missing'
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

-- kv_delete(key) -> 'deleted', value_mp | 'missing'
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

local single = {
    get = guarded(kv_get),
    create = guarded(kv_create),
    update = guarded(kv_update),
    delete = guarded(kv_delete),
}

local bad_op = 'an operation is {name, key[, value_mp]} with name get, create, update or delete'

-- Results are a flat array: the status and detail (a value, a message, or
-- box.NULL) of operation i at 2i-1 and 2i, so no table is built per operation.
local function put_result(results, i, status, detail)
    results[2 * i - 1] = status
    results[2 * i] = detail == nil and box.NULL or detail
end

local function run_op(ops, i, results)
    local op = ops[i]
    local fn = type(op) == 'table' and single[op[1]]
    if fn then
        put_result(results, i, fn(op[2], op[3]))
    else
        put_result(results, i, 'bad_request', bad_op)
    end
end

local function fail_all(count, err)
    local status, message = failure(err)
    local results = {}
    for i = 1, count do
        put_result(results, i, status, message)
    end
    return results
end

-- kv_batch({{name, key[, value_mp]}, ...}) -> {status1, detail1, status2, detail2, ...}
-- The gateway sends the operations its requests have waiting as one call:
-- one round trip and, for writes, one transaction and so one WAL write for
-- all of them. Operations run in order, each with the outcome it would have
-- alone (a failed one is rolled back by itself); only a failed commit fails
-- them all. Reads never yield, so a batch without writes needs no transaction.
local function kv_batch(ops)
    if type(ops) ~= 'table' then
        return {}
    end
    local count = #ops
    local writes = false
    for i = 1, count do
        local op = ops[i]
        if type(op) ~= 'table' or op[1] ~= 'get' then
            writes = true
            break
        end
    end
    if writes then
        local ok, err = pcall(box.begin)
        if not ok then
            return fail_all(count, err)
        end
    end
    local results = {}
    for i = 1, count do
        run_op(ops, i, results)
    end
    if writes then
        local ok, err = pcall(box.commit)
        if not ok then
            box.rollback()
            return fail_all(count, err)
        end
    end
    return results
end

local functions = {
    kv_get = single.get,
    kv_create = single.create,
    kv_update = single.update,
    kv_delete = single.delete,
    kv_batch = kv_batch,
}

for name, fn in pairs(functions) do
    rawset(_G, name, fn)
end

-- Nobody reaches the instance without the gateway's credentials, and no
-- login runs code it brings: Tarantool grants `guest` a session and the
-- `public` role (which every user has) execute on built-in functions,
-- among them the setuid `LUA` function, whose body is `loadstring(code)()`
-- run as admin. Revoked on every start, so an instance created by any
-- version (or a Tarantool upgrade that re-adds a grant) is closed again.
local function lock_down()
    box.schema.user.revoke('guest', 'session,usage', 'universe', nil, { if_exists = true })
    for _, func in box.space._func:pairs() do
        box.schema.role.revoke('public', 'execute', 'function', func.name, { if_exists = true })
    end
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
    lock_down()
    setup_access()
end

box.cfg({ listen = listen })
require('log').info('kv-gateway: listening on %s', listen)
