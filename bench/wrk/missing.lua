-- GET /kv/missing-N: keys that are never stored, so every answer must be 404.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

bench.make = function()
    return wrk.format("GET", "/kv/missing-" .. bench.random_index())
end
bench.expect_status = 404
bench.check_status()
