-- Webdis: GET /GET/key-N of random existing keys.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

bench.make = function()
    return wrk.format("GET", "/GET/" .. bench.key(bench.random_index()))
end
