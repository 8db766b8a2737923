-- Writes a stream's description.
-- KEYS: 1 epoch, 2 streams hash   ARGV: 1 epoch, 2 stream name, 3 description (JSON)
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
