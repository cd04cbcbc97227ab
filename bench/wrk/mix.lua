-- 90% GET / 10% PUT of random existing keys.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

bench.make = function()
    local i = bench.random_index()
    if math.random(1, 10) == 1 then
        local body = '{"value":' .. bench.value(i, math.random(0, 999)) .. '}'
        return wrk.format("PUT", "/kv/" .. bench.key(i), bench.json, body)
    end
    return wrk.format("GET", "/kv/" .. bench.key(i))
end
