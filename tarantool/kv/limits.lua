-- Limits the store enforces whoever calls it; init.lua sets them from the
-- environment. kv_ready reports them so a gateway configured for more can
-- refuse to start serving instead of failing requests one by one.
return {
    -- Longest key in bytes (KV_MAX_KEY_BYTES); the gateway's
    -- limits.max_key_bytes must not be larger.
    max_key_bytes = 1024,
    -- Most operations in one kv_batch call; the gateway's
    -- tarantool.batch_max_ops must not be larger.
    max_batch_ops = 1024,
}
