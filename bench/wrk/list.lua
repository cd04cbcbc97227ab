-- GET /kv?prefix=key-N&limit=100: a 100-key page of a prefix listing over
-- the preloaded keys, N from 1 to 99 (each prefix holds ~1,100 keys).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

bench.make = function()
    return wrk.format("GET", "/kv?prefix=key-" .. math.random(1, 99) .. "&limit=100")
end
bench.expect_status = 200
bench.check_status()
