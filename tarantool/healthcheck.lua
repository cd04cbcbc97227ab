#!/usr/bin/env tarantool
-- Container healthcheck: succeeds when Tarantool accepts iproto connections
-- and greets, which init.lua allows only once the schema is ready.
-- Needs no credentials and no tools beyond tarantool itself.
local socket = require('socket')

local listen = os.getenv('TARANTOOL_LISTEN') or '127.0.0.1:3301'
local port = tonumber(listen:match(':(%d+)$') or listen)
local conn = socket.tcp_connect('127.0.0.1', port, 2)
if conn == nil then
    io.stderr:write('tarantool healthcheck: cannot connect to port ' .. tostring(port) .. '\n')
    os.exit(1)
end
local greeting = conn:read(128, 2)
conn:close()
if greeting == nil or not greeting:find('^Tarantool') then
    io.stderr:write('tarantool healthcheck: no greeting on port ' .. tostring(port) .. '\n')
    os.exit(1)
end
os.exit(0)
