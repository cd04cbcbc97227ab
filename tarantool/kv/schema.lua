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
