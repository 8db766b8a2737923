-- Makes the caller's epoch the fence of one shard (fence.lua has refused an older caller): from now
-- on appends and trims of older brokers are refused there. Creates the shard's fence when it is new.
-- KEYS: 1 the shard's epoch key   ARGV: 1 epoch
redis.call('SET', KEYS[1], ARGV[1])
return 1
