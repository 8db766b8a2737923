-- Removes a message from a queue; frees the body when no queue holds it any more.
-- KEYS: 1 epoch, 2 queue zset, 3 queue state hash, 4 bodies hash, 5 refs hash
-- ARGV: 1 epoch, 2 message id
if redis.call('ZREM', KEYS[2], ARGV[2]) == 0 then return 0 end
redis.call('HDEL', KEYS[3], ARGV[2])
if redis.call('HINCRBY', KEYS[5], ARGV[2], -1) <= 0 then
  redis.call('HDEL', KEYS[5], ARGV[2])
  redis.call('HDEL', KEYS[4], ARGV[2])
end
return 1
