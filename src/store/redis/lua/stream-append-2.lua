-- Appends records to one shard, in order, with ids from Redis's clock; returns the ids.
-- A shard with no fence was deleted (or never claimed): nothing is written.
-- KEYS: 1 the shard's epoch key, 2 the shard's log   ARGV: 1 epoch, then field/value lists: a count
-- of fields, then that many field/value pairs, per record
if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('NOSHARD the shard is not there to append to')
end
local ids = {}
local i = 2
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  local args = {'XADD', KEYS[2], '*'}
  for j = 1, n * 2 do args[#args + 1] = ARGV[i + j] end
  ids[#ids + 1] = redis.call(unpack(args))
  i = i + 1 + n * 2
end
return ids
