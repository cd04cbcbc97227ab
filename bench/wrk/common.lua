-- Shared by the wrk scripts of bench/run (each starts with dofile of this).
--   * keys and values: the same strings as bench/src/values.rs
--   * a pool of prepared requests per thread, so wrk spends its time on the
--     network, not in Lua, while the keys stay random
--   * done(): one machine-readable line, the same as kv-bench prints:
--     RESULT requests= duration_s= rps= p50_ms= p99_ms= max_ms= unexpected= socket_errors=
-- Environment: BENCH_KEYS (preloaded keys), BENCH_TAG (makes POSTed keys
-- unique per run), BENCH_POOL (prepared requests per thread).

bench = {
    keys = tonumber(os.getenv("BENCH_KEYS") or "1000"),
    tag = os.getenv("BENCH_TAG") or "wrk",
    pool_size = tonumber(os.getenv("BENCH_POOL") or "20000"),
    value_bytes = 200,
    -- When set, every response must have this status; response() counts the
    -- others (wrk itself counts only statuses >= 400).
    expect_status = nil,
    json = { ["Content-Type"] = "application/json" },
}

function bench.random_index()
    return math.random(0, bench.keys - 1)
end

function bench.key(i)
    return "key-" .. i
end

function bench.value(i, version)
    local prefix = '{"id":' .. i .. ',"name":"user-' .. i .. '","email":"user-' .. i
        .. '@example.com","active":true,"score":' .. version .. '.5,'
        .. '"tags":["alpha","beta","gamma"],"address":{"city":"Springfield","zip":"12345"},"note":"'
    local suffix = '"}'
    local pad = bench.value_bytes - #prefix - #suffix
    if pad < 0 then
        pad = 0
    end
    return prefix .. string.rep("x", pad) .. suffix
end

-- Scripts set bench.make to a function returning one request; init() fills
-- the pool with it and request() cycles through the pool.
local pool, pool_next = {}, 0

local threads, thread_count = {}, 0

function setup(thread)
    thread_count = thread_count + 1
    thread:set("thread_id", thread_count)
    table.insert(threads, thread)
end

function init(args)
    math.randomseed(thread_id * 1000003 + os.time())
    if bench.make then
        for n = 1, bench.pool_size do
            pool[n] = bench.make()
        end
    end
    unexpected = 0
end

function request()
    pool_next = pool_next % bench.pool_size + 1
    return pool[pool_next]
end

function bench.check_status()
    response = function(status, headers, body)
        if status ~= bench.expect_status then
            unexpected = unexpected + 1
        end
    end
end

function done(summary, latency, requests)
    local e = summary.errors
    local wrong = e.status
    if bench.expect_status then
        wrong = 0
        for _, thread in ipairs(threads) do
            wrong = wrong + (thread:get("unexpected") or 0)
        end
    end
    local secs = summary.duration / 1e6
    io.write(string.format(
        "RESULT requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f unexpected=%d socket_errors=%d\n",
        summary.requests, secs, summary.requests / secs,
        latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
        wrong, e.connect + e.read + e.write + e.timeout))
end
