-- PUT /kv/key-N of random existing keys with a new ~200-byte value that
-- expires in an hour (so nothing expires during a run).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

bench.make = function()
    local i = bench.random_index()
    local body = '{"value":' .. bench.value(i, math.random(0, 999)) .. ',"ttl":3600}'
    return wrk.format("PUT", "/kv/" .. bench.key(i), bench.json, body)
end
bench.expect_status = 200
bench.check_status()
