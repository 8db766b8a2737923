-- Replaces one value of a hash with the same value sealed anew (a key rotation), only if it is
-- still the value that was read: a value written or deleted since is left as it is, since whatever
-- replaced it was sealed with the active key already.
-- KEYS: 1 epoch, 2 the hash
-- ARGV: 1 epoch, 2 field, 3 the value read, 4 the value sealed anew
-- Returns 1 when replaced, 0 when the value had changed.
if redis.call('HGET', KEYS[2], ARGV[2]) ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[4])
return 1
