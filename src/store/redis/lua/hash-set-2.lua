-- Sets one field of a record hash (subscriptions, sessions, retained messages).
-- KEYS: 1 epoch, 2 hash   ARGV: 1 epoch, 2 field, 3 value
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
