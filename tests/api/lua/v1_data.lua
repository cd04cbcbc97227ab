-- Test-only: a work dir as kv-gateway's schema version 1 left it (the kv
-- space of {key, value} records), with the records named in arg[1..n], so
-- a test can start the current init.lua on it and see the migration.
box.cfg({ work_dir = os.getenv('TARANTOOL_WORK_DIR'), log_level = 2 })
local meta = box.schema.space.create('_kv_meta', {
    format = { { name = 'name', type = 'string' }, { name = 'value', type = 'any' } },
})
meta:create_index('primary', { parts = { 'name' } })
local kv = box.schema.space.create('kv', {
    format = { { name = 'key', type = 'string' }, { name = 'value', type = 'map' } },
})
kv:create_index('primary', { type = 'hash', parts = { 'key' } })
for i, key in ipairs(arg) do
    kv:insert({ key, { n = i, f = 1.5 } })
end
meta:replace({ 'schema_version', 1 })
box.snapshot()
os.exit(0)
