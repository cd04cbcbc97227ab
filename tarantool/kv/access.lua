-- Who may do what: nobody without the gateway's credentials, and the
-- gateway's user nothing but its own functions.
local M = {}

-- Nobody reaches the instance without the gateway's credentials, and no
-- login runs code it brings: Tarantool grants `guest` a session and the
-- `public` role (which every user has) execute on built-in functions,
-- among them the setuid `LUA` function, whose body is `loadstring(code)()`
-- run as admin. Revoked on every start, so an instance created by any
-- version (or a Tarantool upgrade that re-adds a grant) is closed again.
function M.lock_down()
    box.schema.user.revoke('guest', 'session,usage', 'universe', nil, { if_exists = true })
    for _, func in box.space._func:pairs() do
        box.schema.role.revoke('public', 'execute', 'function', func.name, { if_exists = true })
    end
end

-- The gateway's user (created or given `password`) may execute the
-- functions named in `names` and nothing else; they run with the rights of
-- their definer (setuid).
function M.grant_gateway(user, password, names)
    box.schema.user.create(user, { password = password, if_not_exists = true })
    box.schema.user.passwd(user, password)
    local wanted = {}
    for _, name in ipairs(names) do
        wanted[name] = true
        box.schema.func.create(name, { setuid = true, if_not_exists = true })
        box.schema.user.grant(user, 'execute', 'function', name, { if_not_exists = true })
    end
    -- Functions an earlier version granted and this one no longer has.
    local id = box.space._user.index.name:get(user)[1]
    local stale = {}
    for _, priv in box.space._priv:pairs() do
        local func = priv[2] == id and priv[3] == 'function' and box.space._func:get(priv[4])
        if func and not wanted[func.name] then
            stale[#stale + 1] = func.name
        end
    end
    for _, name in ipairs(stale) do
        box.schema.user.revoke(user, 'execute', 'function', name, { if_exists = true })
    end
end

return M
