-- Applies one batch of store operations, in order, as one atomic step.
-- KEYS: 1 epoch, 2 sequence counter, 3 queues hash, 4 bodies hash, 5 refs hash, 6 subscriptions hash,
--       7 retained hash, 8 dedup zset, 9 sessions hash; then four keys for each queue the batch
--       touches, from a base index b: b entries zset (id by insertion sequence), b+1 entry state hash,
--       b+2 paged-out zset (id by priority, then sequence), b+3 paged-out sizes hash (field '' holds
--       the total).
-- ARGV: 1 epoch, 2 now (ms), then the operations, each an opcode followed by its fields:
--   Q name createdAt                        declare a queue (the first declaration wins)
--   X b name                                delete a queue and every entry in it
--   E b name id message state priority size enqueue; priority '' keeps the entry resident, a
--                                           number pages it out; an id the queue holds only gets
--                                           its state replaced
--   U b id state                            replace the state of an entry the queue holds
-- A state of '' is the initial state (never delivered, due now) and is not stored. A body's
-- reference count is kept in the refs hash only while more than one queue holds it.
--   R b id                                  remove an entry
--   S k field value                         set a record in hash KEYS[k]
--   D k field                               delete a record from hash KEYS[k]
--   P key expiresAt                         remember a dedup key; forget the expired ones
local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
local start_seq = seq
local registered = {}

local function release(id)
  if redis.call('HEXISTS', KEYS[5], id) == 0 then
    redis.call('HDEL', KEYS[4], id)
  elseif redis.call('HINCRBY', KEYS[5], id, -1) <= 0 then
    redis.call('HDEL', KEYS[5], id)
  end
end

local function set_state(hash, id, state)
  if state == '' then redis.call('HDEL', hash, id) else redis.call('HSET', hash, id, state) end
end

-- Whether a queue's paged-out set may hold anything, asked once per queue per batch.
local paging = {}
local function may_be_paged(b)
  local p = paging[b]
  if p == nil then
    p = redis.call('EXISTS', KEYS[b + 2]) == 1
    paging[b] = p
  end
  return p
end

local i = 3
local n = #ARGV
while i <= n do
  local op = ARGV[i]
  if op == 'E' then
    local b = tonumber(ARGV[i + 1])
    local id = ARGV[i + 3]
    seq = seq + 1
    if redis.call('ZADD', KEYS[b], 'NX', seq, id) == 1 then
      if redis.call('HSETNX', KEYS[4], id, ARGV[i + 4]) == 0 then redis.call('HINCRBY', KEYS[5], id, 1) end
      if ARGV[i + 6] ~= '' then
        redis.call('ZADD', KEYS[b + 2], (9 - tonumber(ARGV[i + 6])) * 1e12 + seq, id)
        redis.call('HSET', KEYS[b + 3], id, ARGV[i + 7])
        redis.call('HINCRBY', KEYS[b + 3], '', ARGV[i + 7])
        paging[b] = true
      end
      if ARGV[i + 5] ~= '' then redis.call('HSET', KEYS[b + 1], id, ARGV[i + 5]) end
    else
      set_state(KEYS[b + 1], id, ARGV[i + 5])
    end
    if not registered[b] then
      registered[b] = true
      redis.call('HSETNX', KEYS[3], ARGV[i + 2], '0')
    end
    i = i + 8
  elseif op == 'U' then
    local b = tonumber(ARGV[i + 1])
    if redis.call('ZSCORE', KEYS[b], ARGV[i + 2]) then set_state(KEYS[b + 1], ARGV[i + 2], ARGV[i + 3]) end
    i = i + 4
  elseif op == 'R' then
    local b = tonumber(ARGV[i + 1])
    local id = ARGV[i + 2]
    if redis.call('ZREM', KEYS[b], id) == 1 then
      redis.call('HDEL', KEYS[b + 1], id)
      if may_be_paged(b) and redis.call('ZREM', KEYS[b + 2], id) == 1 then
        redis.call('HINCRBY', KEYS[b + 3], '', -tonumber(redis.call('HGET', KEYS[b + 3], id) or '0'))
        redis.call('HDEL', KEYS[b + 3], id)
      end
      release(id)
    end
    i = i + 3
  elseif op == 'Q' then
    redis.call('HSETNX', KEYS[3], ARGV[i + 1], ARGV[i + 2])
    i = i + 3
  elseif op == 'X' then
    local b = tonumber(ARGV[i + 1])
    for _, id in ipairs(redis.call('ZRANGE', KEYS[b], 0, -1)) do release(id) end
    redis.call('DEL', KEYS[b], KEYS[b + 1], KEYS[b + 2], KEYS[b + 3])
    redis.call('HDEL', KEYS[3], ARGV[i + 2])
    registered[b] = nil
    paging[b] = false
    i = i + 3
  elseif op == 'S' then
    redis.call('HSET', KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2], ARGV[i + 3])
    i = i + 4
  elseif op == 'D' then
    redis.call('HDEL', KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2])
    i = i + 3
  elseif op == 'P' then
    redis.call('ZADD', KEYS[8], ARGV[i + 2], ARGV[i + 1])
    redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', '(' .. ARGV[2])
    i = i + 3
  else
    return redis.error_reply('BADOP ' .. tostring(op) .. ' at ' .. i)
  end
end

if seq ~= start_seq then redis.call('SET', KEYS[2], seq) end
return 1
