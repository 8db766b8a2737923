-- Adds a message to a queue; the body is stored once per message id and reference counted.
-- Enqueueing an id the queue already holds only replaces its state.
-- KEYS: 1 epoch, 2 sequence counter, 3 queue zset (id by insertion sequence), 4 queue state hash,
--       5 bodies hash, 6 refs hash, 7 queues hash
-- ARGV: 1 epoch, 2 message id, 3 encoded message, 4 encoded entry state, 5 queue name
if redis.call('HEXISTS', KEYS[4], ARGV[2]) == 1 then
  redis.call('HSET', KEYS[4], ARGV[2], ARGV[4])
  return 0
end
redis.call('ZADD', KEYS[3], redis.call('INCR', KEYS[2]), ARGV[2])
redis.call('HSET', KEYS[4], ARGV[2], ARGV[4])
if redis.call('HINCRBY', KEYS[6], ARGV[2], 1) == 1 then
  redis.call('HSET', KEYS[5], ARGV[2], ARGV[3])
end
redis.call('HSETNX', KEYS[7], ARGV[5], '0')
return 1
