-- Takes the lease when it is free, or when it is still held under the token the caller saw by a
-- connection the caller found closed (the holder's process died). Raises the fencing epoch above
-- every epoch handed out before (the epoch key lives with the data, the counter keeps epochs of
-- brokers started without the lease in the same sequence) and records the new holder.
-- Returns the new epoch, or 0 when the lease stays with its holder.
-- KEYS: 1 lease  2 holder  3 epoch  4 epoch counter
-- ARGV: 1 token  2 lease ms  3 token seen ('' = none)  4 holder connection seen  5 node
--       6 our connection id  7 admin address  8 now (ms)  9 the Redis server's run_id
local current = redis.call('GET', KEYS[1])
if current then
  if ARGV[3] == '' or current ~= ARGV[3] then return 0 end
  if redis.call('HGET', KEYS[2], 'clientId') ~= ARGV[4] then return 0 end
end
local epoch = math.max(tonumber(redis.call('GET', KEYS[3]) or '0'), tonumber(redis.call('GET', KEYS[4]) or '0')) + 1
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SET', KEYS[3], epoch)
redis.call('SET', KEYS[4], epoch)
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], 'token', ARGV[1], 'node', ARGV[5], 'clientId', ARGV[6], 'admin', ARGV[7], 'epoch', epoch, 'since', ARGV[8],
  'runId', ARGV[9])
return epoch
