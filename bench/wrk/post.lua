-- POST /kv of new keys: new-<tag>-<thread>-<counter>, unique per request.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local posted = 0

request = function()
    posted = posted + 1
    local key = "new-" .. bench.tag .. "-" .. thread_id .. "-" .. posted
    local body = '{"key":"' .. key .. '","value":' .. bench.value(bench.random_index(), 0) .. '}'
    return wrk.format("POST", "/kv", bench.json, body)
end
