-- POST /txn of four operations on random existing keys: two gets, an
-- update with a new ~200-byte value and a merge patch of one field.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

bench.make = function()
    local a, b, c, d = bench.random_index(), bench.random_index(), bench.random_index(), bench.random_index()
    local body = '{"ops":['
        .. '{"op":"get","key":"' .. bench.key(a) .. '"},'
        .. '{"op":"update","key":"' .. bench.key(b) .. '","value":' .. bench.value(b, math.random(0, 999)) .. '},'
        .. '{"op":"patch","key":"' .. bench.key(c) .. '","merge":{"score":' .. math.random(0, 999) .. '.5}},'
        .. '{"op":"get","key":"' .. bench.key(d) .. '"}]}'
    return wrk.format("POST", "/txn", bench.json, body)
end
bench.expect_status = 200
bench.check_status()
