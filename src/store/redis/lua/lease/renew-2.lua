-- Extends the lease if the caller still holds it, and records the connection it renews from and
-- the Redis server it is on (a reconnect, or a restarted or failed-over Redis, changes them).
-- Returns 1, or 0 when the lease is gone or someone else's.
-- KEYS: 1 lease  2 holder   ARGV: 1 token  2 lease ms  3 our connection id  4 the server's run_id
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[2], 'clientId', ARGV[3], 'runId', ARGV[4])
return 1
