-- Test-only: the project's tarantool/init.lua (path in arg[1]) plus a
-- function telling how many iproto CALL requests the instance has served, so
-- tests can see how many round trips the gateway made.
dofile(arg[1])

function test_call_count()
    return box.stat().CALL.total
end

box.schema.func.create('test_call_count', { if_not_exists = true })
box.schema.user.grant(os.getenv('KV_GATEWAY_USER') or 'kv_gateway', 'execute', 'function',
    'test_call_count', { if_not_exists = true })
