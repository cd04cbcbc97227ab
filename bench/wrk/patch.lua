-- PATCH /kv/key-N of random existing keys: a JSON Merge Patch of one field.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

bench.make = function()
    local body = '{"score":' .. math.random(0, 999) .. '.5}'
    return wrk.format("PATCH", "/kv/" .. bench.key(bench.random_index()),
        { ["Content-Type"] = "application/merge-patch+json" }, body)
end
bench.expect_status = 200
bench.check_status()
