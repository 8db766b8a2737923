-- Reads a page of a queue's paged-out ready entries in dispatch order (highest priority first,
-- insertion order within one), changing nothing: a browser's view of what waits in the store.
-- KEYS: 1 epoch, 2 paged-out zset, 3 entry state hash, 4 bodies hash
-- ARGV: 1 epoch, 2 exclusive lower bound on the score ('' from the start), 3 page size
-- Returns: the score to continue after ('' when the paged-out set is exhausted), then id, encoded
-- message, encoded state for each entry.
local min = ARGV[2] == '' and '-inf' or '(' .. ARGV[2]
local limit = tonumber(ARGV[3])
local flat = redis.call('ZRANGE', KEYS[2], min, '+inf', 'BYSCORE', 'LIMIT', 0, limit, 'WITHSCORES')
local out = { '' }
for j = 1, #flat, 2 do
  local id = flat[j]
  out[1] = flat[j + 1]
  local body = redis.call('HGET', KEYS[4], id)
  if body then
    out[#out + 1] = id
    out[#out + 1] = body
    out[#out + 1] = redis.call('HGET', KEYS[3], id) or ''
  end
end
if #flat / 2 < limit then out[1] = '' end
return out
