-- Deletes one field of a record hash (subscriptions, sessions, retained messages).
-- KEYS: 1 epoch, 2 hash   ARGV: 1 epoch, 2 field
return redis.call('HDEL', KEYS[2], ARGV[2])
