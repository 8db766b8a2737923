-- Remembers a dedup key until it expires, and forgets keys that have expired.
-- KEYS: 1 epoch, 2 dedup zset (key by expiry ms)   ARGV: 1 epoch, 2 key, 3 expiresAt, 4 now
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[4])
return 1
