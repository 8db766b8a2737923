-- Makes paged-out entries of a queue resident again and returns them: highest priority first,
-- insertion order within a priority, at most ARGV[2] of them, stopping before their sizes would
-- pass ARGV[3] bytes (but always at least one).
-- KEYS: 1 epoch, 2 paged-out zset, 3 paged-out sizes hash, 4 entry state hash, 5 bodies hash
-- ARGV: 1 epoch, 2 max count, 3 max bytes
-- Returns a flat list: id, encoded message, encoded state ('' for the initial state), for each entry.
local max_bytes = tonumber(ARGV[3])
local out = {}
local bytes = 0
local taken = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, tonumber(ARGV[2]) - 1)) do
  local size = tonumber(redis.call('HGET', KEYS[3], id) or '0')
  if taken > 0 and bytes + size > max_bytes then break end
  taken = taken + 1
  bytes = bytes + size
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGET', KEYS[5], id) or ''
  out[#out + 1] = redis.call('HGET', KEYS[4], id) or ''
end
if taken > 0 then redis.call('HINCRBY', KEYS[3], '', -bytes) end
return out
