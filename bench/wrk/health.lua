-- GET /health: the HTTP ceiling (the gateway without Tarantool). Served from
-- the same kind of pool as the other cases, so wrk does the same work.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

bench.make = function()
    return wrk.format("GET", "/health")
end
