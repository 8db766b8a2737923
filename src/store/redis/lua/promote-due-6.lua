-- Makes scheduled paged-out entries that are due ordinary paged-out entries (ordered by priority,
-- then insertion sequence), at most 10,000 per call.
-- KEYS: 1 epoch, 2 entries zset, 3 paged-out zset, 4 paged-out sizes hash, 5 scheduled zset,
--       6 scheduled sizes hash ('priority:size')
-- ARGV: 1 epoch, 2 now (ms)
-- Returns: { promoted count, their bytes, earliest due time still scheduled (0 when none) }
local ids = redis.call('ZRANGE', KEYS[5], '-inf', ARGV[2], 'BYSCORE', 'LIMIT', 0, 10000)
local bytes = 0
for _, id in ipairs(ids) do
  local prio, size = string.match(redis.call('HGET', KEYS[6], id) or '0:0', '^(%d+):(%d+)$')
  size = tonumber(size)
  local seq = tonumber(redis.call('ZSCORE', KEYS[2], id) or '0')
  redis.call('ZREM', KEYS[5], id)
  redis.call('HDEL', KEYS[6], id)
  redis.call('ZADD', KEYS[3], (9 - tonumber(prio)) * 1e12 + seq, id)
  redis.call('HSET', KEYS[4], id, size)
  bytes = bytes + size
end
if #ids > 0 then
  redis.call('HINCRBY', KEYS[6], '', -bytes)
  redis.call('HINCRBY', KEYS[4], '', bytes)
end
local first = redis.call('ZRANGE', KEYS[5], 0, 0, 'WITHSCORES')
return { #ids, bytes, first[2] and tonumber(first[2]) or 0 }
