-- GET /kv?where.email=user-N%40example.com: a record found by a unique
-- string field (the stack declares KV_INDEXES=email:string:unique,...).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

bench.make = function()
    return wrk.format("GET", "/kv?where.email=user-" .. bench.random_index() .. "%40example.com")
end
bench.expect_status = 200
bench.check_status()
