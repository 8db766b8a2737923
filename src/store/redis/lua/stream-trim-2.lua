-- Removes a shard's records older than a time (retention); returns how many went.
-- KEYS: 1 the shard's epoch key, 2 the shard's log   ARGV: 1 epoch, 2 the oldest id kept (`<ms>-0`)
if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('NOSHARD the shard is not there to trim')
end
return redis.call('XTRIM', KEYS[2], 'MINID', ARGV[2])
