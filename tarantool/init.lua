#!/usr/bin/env tarantool
-- kv-gateway's Tarantool side: box.cfg from the environment, an idempotent and
-- versioned schema, the gateway's user, and the kv_* functions it may call.
-- The pieces live in kv/*.lua next to this file.
--
-- Run as `tarantool tarantool/init.lua` from any directory. Settings:
--   TARANTOOL_LISTEN                 iproto address        (default 127.0.0.1:3301)
--   TARANTOOL_WORK_DIR               snapshots and WAL     (default: current directory)
--   TARANTOOL_MEMTX_MEMORY           bytes for data        (default 268435456, 256 MiB)
--   TARANTOOL_MEMTX_MAX_TUPLE_SIZE   bytes for one record  (default 3145728, 3 MiB)
--   KV_GATEWAY_USER                  the gateway's login   (default kv_gateway)
--   KV_GATEWAY_PASSWORD              its password          (required)
--   KV_MAX_KEY_BYTES                 longest key, bytes    (default 1024)
--   TARANTOOL_EXPIRY_SWEEP_MS        pause of the expiry sweeper when nothing is due (default 100)
--   KV_INDEXES                       indexes on value fields: path[:type][:unique],... (default none)
--   TARANTOOL_FEED_MAX_EVENTS        change feed: most events kept            (default 100000)
--   TARANTOOL_FEED_MAX_BYTES         change feed: most bytes of events kept   (default 67108864, 64 MiB)
--   TARANTOOL_FEED_MAX_AGE_S         change feed: oldest event kept, seconds  (default 3600)
--
-- The functions never decode a stored value into Lua: Lua numbers would turn
-- 2.0 into 2 on the way back. Values arrive as raw MessagePack bytes, are
-- checked, written as raw tuple data, and returned as the raw bytes of the field.

local fio = require('fio')

-- Modules are found next to this script, whatever the current directory.
local here = debug.getinfo(1, 'S').source:sub(2):match('^(.*)/') or '.'
package.path = here .. '/?.lua;' .. package.path

local env = require('kv.env')

local password = env.string('KV_GATEWAY_PASSWORD', nil)
if password == nil then
    env.die('KV_GATEWAY_PASSWORD is not set; '
        .. 'set it to the password the gateway will log in with (there is no default)')
end
-- Example values that get copied into real deployments.
local PLACEHOLDER_PASSWORDS = { ['change-me'] = true, ['changeme'] = true, ['password'] = true }
if PLACEHOLDER_PASSWORDS[password:lower()] then
    env.die(string.format('KV_GATEWAY_PASSWORD is the placeholder %q; '
        .. 'set a real password (for example: openssl rand -hex 16)', password))
end
local user = env.string('KV_GATEWAY_USER', 'kv_gateway')
local listen = env.string('TARANTOOL_LISTEN', '127.0.0.1:3301')
local work_dir = env.string('TARANTOOL_WORK_DIR', fio.cwd())

if not fio.path.is_dir(work_dir) and not fio.mktree(work_dir) then
    env.die(string.format('cannot create TARANTOOL_WORK_DIR %q', work_dir))
end

-- Tarantool 2.10+ can keep reads from seeing a write whose WAL write is
-- still under way: with the MVCC engine on, a read outside box.begin() (all
-- of a read batch's) reads only confirmed data. Earlier versions cannot.
local major, minor = require('tarantool').version:match('^(%d+)%.(%d+)')
local read_confirmed = tonumber(major) > 2 or (tonumber(major) == 2 and tonumber(minor) >= 10)

-- Listening starts only once the schema and functions are in place, so the
-- gateway never sees a half-initialised instance.
box.cfg({
    work_dir = work_dir,
    memtx_memory = env.positive_integer('TARANTOOL_MEMTX_MEMORY', 256 * 1024 * 1024),
    -- A 1 MiB JSON body can grow up to ~2.25x as MessagePack (short floats
    -- become 9-byte doubles), so 3 MiB fits the gateway's default body limit.
    memtx_max_tuple_size = env.positive_integer('TARANTOOL_MEMTX_MAX_TUPLE_SIZE', 3 * 1024 * 1024),
    -- Every acknowledged write is in the WAL (the OS page cache), so it
    -- survives a kill -9 of Tarantool.
    wal_mode = 'write',
    memtx_use_mvcc_engine = read_confirmed or nil,
})
require('log').info('kv-gateway: reads see %s', read_confirmed
    and 'only writes confirmed by the WAL (MVCC engine on)'
    or 'writes whose WAL write may still be under way (Tarantool before 2.10)')

local limits = require('kv.limits')
limits.max_key_bytes = env.positive_integer('KV_MAX_KEY_BYTES', limits.max_key_bytes)

local fields = require('kv.fields')
local declared, bad_indexes = fields.parse(env.string('KV_INDEXES', ''))
if declared == nil then
    env.die(bad_indexes)
end

local access = require('kv.access')
local batch = require('kv.batch')
local expiry = require('kv.expiry')
local feed = require('kv.feed')
local field_schema = require('kv.field_schema')
local protocol = require('kv.protocol')
local revision = require('kv.revision')
local schema = require('kv.schema')

local functions = {
    kv_batch = batch.kv_batch,
    kv_ready = protocol.kv_ready,
    kv_watch = feed.kv_watch,
}

local names = {}
for name, fn in pairs(functions) do
    rawset(_G, name, fn)
    table.insert(names, name)
end

if not box.info.ro then
    schema.migrate()
end
revision.restore()
feed.restore(revision.last)
if not box.info.ro then
    access.lock_down()
    access.grant_gateway(user, password, names)
    local violation = field_schema.sync(declared)
    if violation then
        env.die(violation)
    end
end
fields.declared = declared
-- Deletes expired records in the background, only while writable.
expiry.INTERVAL_S = env.positive_integer('TARANTOOL_EXPIRY_SWEEP_MS', 100) / 1000
expiry.start()
-- Trims the change feed to its bounds, only while writable.
feed.MAX_EVENTS = env.positive_integer('TARANTOOL_FEED_MAX_EVENTS', feed.MAX_EVENTS)
feed.MAX_BYTES = env.positive_integer('TARANTOOL_FEED_MAX_BYTES', feed.MAX_BYTES)
feed.MAX_AGE_S = env.positive_integer('TARANTOOL_FEED_MAX_AGE_S', feed.MAX_AGE_S)
feed.start()

box.cfg({ listen = listen })
require('log').info('kv-gateway: listening on %s', listen)
