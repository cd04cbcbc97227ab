-- PUT /kv/key-N of random existing keys with a new ~200-byte value.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

bench.make = function()
    local i = bench.random_index()
    local body = '{"value":' .. bench.value(i, math.random(0, 999)) .. '}'
    return wrk.format("PUT", "/kv/" .. bench.key(i), bench.json, body)
end
