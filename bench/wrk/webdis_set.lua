-- Webdis: PUT /SET/key-N with a new ~200-byte value as the body (Webdis
-- takes the last argument of a PUT from the body).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

bench.make = function()
    local i = bench.random_index()
    return wrk.format("PUT", "/SET/" .. bench.key(i), bench.json, bench.value(i, math.random(0, 999)))
end
