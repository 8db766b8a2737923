-- Reads a page of a queue's resident entries (paged-out ones are skipped) in insertion order.
-- KEYS: 1 epoch, 2 entries zset, 3 paged-out zset, 4 entry state hash, 5 bodies hash
-- ARGV: 1 epoch, 2 exclusive lower bound on the sequence ('' from the start), 3 page size,
--       4 how many ids to look at before returning a short page
-- Returns: the sequence to continue after ('' when the queue is exhausted), then id, encoded
-- message, encoded state for each entry.
local min = ARGV[2] == '' and '-inf' or '(' .. ARGV[2]
local limit = tonumber(ARGV[3])
local budget = tonumber(ARGV[4])
local out = { '' }
local found = 0
while found < limit and budget > 0 do
  local batch = math.min(budget, 1000)
  local flat = redis.call('ZRANGE', KEYS[2], min, '+inf', 'BYSCORE', 'LIMIT', 0, batch, 'WITHSCORES')
  local got = #flat / 2
  if got == 0 then
    out[1] = ''
    return out
  end
  for j = 1, #flat, 2 do
    local id = flat[j]
    budget = budget - 1
    min = '(' .. flat[j + 1]
    out[1] = flat[j + 1]
    if not redis.call('ZSCORE', KEYS[3], id) then
      local body = redis.call('HGET', KEYS[5], id)
      if body then
        out[#out + 1] = id
        out[#out + 1] = body
        out[#out + 1] = redis.call('HGET', KEYS[4], id) or ''
        found = found + 1
        if found >= limit then return out end
      end
    end
  end
  if got < batch then
    out[1] = ''
    return out
  end
end
return out
