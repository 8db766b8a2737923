-- Deletes a queue with everything in it, releasing each body reference.
-- KEYS: 1 epoch, 2 queues hash, 3 queue zset, 4 queue state hash, 5 bodies hash, 6 refs hash
-- ARGV: 1 epoch, 2 queue name
local ids = redis.call('ZRANGE', KEYS[3], 0, -1)
for _, id in ipairs(ids) do
  if redis.call('HINCRBY', KEYS[6], id, -1) <= 0 then
    redis.call('HDEL', KEYS[6], id)
    redis.call('HDEL', KEYS[5], id)
  end
end
redis.call('DEL', KEYS[3], KEYS[4])
redis.call('HDEL', KEYS[2], ARGV[2])
return #ids
