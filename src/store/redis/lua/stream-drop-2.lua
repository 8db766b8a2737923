-- Removes one shard of a deleted stream: its records and its fence.
-- KEYS: 1 the shard's epoch key, 2 the shard's log   ARGV: 1 epoch
redis.call('DEL', KEYS[1], KEYS[2])
return 1
