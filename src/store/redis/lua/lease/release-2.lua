-- Gives the lease up if the caller holds it. Returns 1, or 0 when it was not the caller's.
-- KEYS: 1 lease  2 holder   ARGV: 1 token
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
