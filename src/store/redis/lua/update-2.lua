-- Replaces the per-queue state of a message the queue holds (ignored otherwise).
-- KEYS: 1 epoch, 2 queue state hash   ARGV: 1 epoch, 2 message id, 3 encoded entry state
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
  return 1
end
return 0
