-- Test-only: the project's tarantool/init.lua (path in arg[1]) plus hooks
-- that tests use to look inside or to break things on purpose. Nothing here
-- is part of the product.
dofile(arg[1])

local user = os.getenv('KV_GATEWAY_USER') or 'kv_gateway'

local function expose(name, fn)
    rawset(_G, name, fn)
    box.schema.func.create(name, { setuid = true, if_not_exists = true })
    box.schema.user.grant(user, 'execute', 'function', name, { if_not_exists = true })
end

-- How many iproto CALL requests the instance has served, so tests can see
-- how many round trips the gateway made.
expose('test_call_count', function()
    return box.stat().CALL.total
end)

-- Stores a tuple as given, bypassing every check: a record "written around
-- the gateway" by another client or an older version.
expose('test_insert_raw', function(key, value_mp)
    local ffi = require('ffi')
    local msgpack = require('msgpack')
    local record = '\x93' .. msgpack.encode(key) .. value_mp .. msgpack.encode(1)
    local data = ffi.cast('const char *', record)
    if ffi.C.box_replace(box.space.kv.id, data, data + #record, nil) ~= 0 then
        box.error()
    end
end)

-- A Lua side that speaks another protocol version.
local protocol = tonumber(os.getenv('TEST_PROTOCOL_VERSION') or '')
if protocol then
    local ready = kv_ready
    rawset(_G, 'kv_ready', function()
        local info = ready()
        info.protocol = protocol
        return info
    end)
end

-- A user that may log in but execute nothing.
local bare_user = os.getenv('TEST_BARE_USER')
if bare_user then
    box.schema.user.create(bare_user, { password = os.getenv('KV_GATEWAY_PASSWORD'), if_not_exists = true })
end
