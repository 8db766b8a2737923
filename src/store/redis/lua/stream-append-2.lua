-- Appends records to one shard, in order, with ids from Redis's clock; returns the ids.
-- A shard with no fence was deleted (or never claimed): nothing is written.
-- The records come as one argument (one write for the client, however many records): each a 4-byte
-- big-endian length and that many bytes, stored under one field.
-- KEYS: 1 the shard's epoch key, 2 the shard's log   ARGV: 1 epoch, 2 the field, 3 the records
if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('NOSHARD the shard is not there to append to')
end
local field = ARGV[2]
local records = ARGV[3]
local ids = {}
local pos = 1
while pos <= #records do
  local n = struct.unpack('>I4', records, pos)
  ids[#ids + 1] = redis.call('XADD', KEYS[2], '*', field, string.sub(records, pos + 4, pos + 3 + n))
  pos = pos + 4 + n
end
return ids
