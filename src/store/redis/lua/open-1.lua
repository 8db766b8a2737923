-- Claims the data for the caller's epoch; older handles are fenced from then on.
-- KEYS: 1 epoch   ARGV: 1 epoch
redis.call('SET', KEYS[1], ARGV[1])
return 1
