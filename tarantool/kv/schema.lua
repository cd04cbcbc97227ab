-- Schema migrations, applied in order, each exactly once; the version
-- reached is kept in _kv_meta. Append new steps, never edit old ones.
local log = require('log')

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
    -- 2: a record is {key, value, revision}: records of version 1 get
    -- revisions in the order they are met, in transactions of 1000; a run
    -- cut short is finished by the next start.
    function()
        local kv = box.space.kv
        local revision = 0
        local pending = {}
        for _, tuple in kv:pairs() do
            if tuple[3] == nil then
                pending[#pending + 1] = tuple[1]
            elseif tuple[3] > revision then
                revision = tuple[3]
            end
        end
        for first = 1, #pending, 1000 do
            box.begin()
            for n = first, math.min(first + 999, #pending) do
                revision = revision + 1
                kv:update(pending[n], { { '!', 3, revision } })
            end
            box.space._kv_meta:replace({ 'revision_floor', revision })
            box.commit()
        end
        kv:format({
            { name = 'key', type = 'string' },
            { name = 'value', type = 'map' },
            { name = 'revision', type = 'unsigned' },
        })
    end,
    -- 3: listing and expiry. A TREE index on the key, so a page of a
    -- listing starts at its cursor (the HASH primary index stays: the
    -- schema the project promises, and the fastest lookup by key). A
    -- record may carry a fourth field, the millisecond its expiry is due;
    -- kv_expiry lists those keys in the order they expire, so only records
    -- with an expiry cost anything for it.
    function()
        local kv = box.space.kv
        kv:format({
            { name = 'key', type = 'string' },
            { name = 'value', type = 'map' },
            { name = 'revision', type = 'unsigned' },
            { name = 'expires_at_ms', type = 'unsigned', is_nullable = true },
        })
        kv:create_index('ordered', { type = 'tree', parts = { 'key' }, if_not_exists = true })
        local expiry = box.schema.space.create('kv_expiry', {
            if_not_exists = true,
            format = {
                { name = 'expires_at_ms', type = 'unsigned' },
                { name = 'key', type = 'string' },
            },
        })
        expiry:create_index('primary', {
            type = 'tree', parts = { 'expires_at_ms', 'key' }, if_not_exists = true,
        })
    end,
    -- 4: the change feed (kv/feed.lua), in revision order. A temporary
    -- space: its rows cost no WAL write and no snapshot, so a write's event
    -- adds nothing to the write's WAL record; the feed starts empty at each
    -- start (kv/feed.lua tells watchers that were behind).
    function()
        local feed = box.schema.space.create('kv_feed', {
            if_not_exists = true,
            temporary = true,
            format = {
                { name = 'revision', type = 'unsigned' },
                { name = 'key', type = 'string' },
                { name = 'kind', type = 'string' },
                { name = 'value', type = 'map', is_nullable = true },
                { name = 'time_ms', type = 'unsigned' },
            },
        })
        feed:create_index('primary', { type = 'tree', parts = { 'revision' }, if_not_exists = true })
    end,
}

local M = {}

function M.migrate()
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
        log.info('kv-gateway: schema migrated to version %d', step)
    end
end

return M
