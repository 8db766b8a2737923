-- Merges a named consumer's positions (shard -> last record id it is done with) into what it had.
-- KEYS: 1 epoch, 2 the stream's positions hash   ARGV: 1 epoch, 2 consumer, 3 positions (JSON object)
local had = redis.call('HGET', KEYS[2], ARGV[2])
local merged = had and cjson.decode(had) or {}
for shard, id in pairs(cjson.decode(ARGV[3])) do merged[shard] = id end
redis.call('HSET', KEYS[2], ARGV[2], cjson.encode(merged))
return 1
