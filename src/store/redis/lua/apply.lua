-- Applies one batch of store operations, in order, as one atomic step.
-- KEYS: 1 epoch, 2 sequence counter, 3 queues hash, 4 bodies hash, 5 refs hash, 6 subscriptions hash,
--       7 retained hash, 8 dedup zset, 9 sessions hash, 10 security hash; then six keys for each queue the batch
--       touches, from a base index b: b entries zset (id by insertion sequence), b+1 entry state hash,
--       b+2 paged-out zset (id by priority, then sequence), b+3 paged-out sizes hash (field '' holds
--       the total), b+4 scheduled paged-out zset (id by due time), b+5 scheduled sizes hash
--       (id -> 'priority:size'; field '' holds the total).
-- ARGV: 1 epoch, 2 now (ms), then the operations, each an opcode followed by its fields:
--   Q name createdAt                        declare a queue (the first declaration wins)
--   X b name                                delete a queue and every entry in it
--   E b name id message state priority size due
--                                           enqueue; priority '' keeps the entry resident, a
--                                           number pages it out (to the scheduled set when due is
--                                           not ''); an id the queue holds only gets its state
--                                           replaced
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

-- Whether a queue's paged-out (offset 2) or scheduled (offset 4) set may hold anything, asked once
-- per queue per batch.
local nonempty = {}
local function may_hold(b, offset)
  local k = b + offset
  local p = nonempty[k]
  if p == nil then
    p = redis.call('EXISTS', KEYS[k]) == 1
    nonempty[k] = p
  end
  return p
end

local function unpage(b, offset, id)
  if may_hold(b, offset) and redis.call('ZREM', KEYS[b + offset], id) == 1 then
    local v = redis.call('HGET', KEYS[b + offset + 1], id) or '0'
    redis.call('HINCRBY', KEYS[b + offset + 1], '', -tonumber(string.match(v, '(%d+)$')))
    redis.call('HDEL', KEYS[b + offset + 1], id)
  end
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
      if ARGV[i + 6] ~= '' and ARGV[i + 8] ~= '' then
        redis.call('ZADD', KEYS[b + 4], ARGV[i + 8], id)
        redis.call('HSET', KEYS[b + 5], id, ARGV[i + 6] .. ':' .. ARGV[i + 7])
        redis.call('HINCRBY', KEYS[b + 5], '', ARGV[i + 7])
        nonempty[b + 4] = true
      elseif ARGV[i + 6] ~= '' then
        redis.call('ZADD', KEYS[b + 2], (9 - tonumber(ARGV[i + 6])) * 1e12 + seq, id)
        redis.call('HSET', KEYS[b + 3], id, ARGV[i + 7])
        redis.call('HINCRBY', KEYS[b + 3], '', ARGV[i + 7])
        nonempty[b + 2] = true
      end
      if ARGV[i + 5] ~= '' then redis.call('HSET', KEYS[b + 1], id, ARGV[i + 5]) end
    else
      set_state(KEYS[b + 1], id, ARGV[i + 5])
    end
    if not registered[b] then
      registered[b] = true
      redis.call('HSETNX', KEYS[3], ARGV[i + 2], '0')
    end
    i = i + 9
  elseif op == 'U' then
    local b = tonumber(ARGV[i + 1])
    if redis.call('ZSCORE', KEYS[b], ARGV[i + 2]) then set_state(KEYS[b + 1], ARGV[i + 2], ARGV[i + 3]) end
    i = i + 4
  elseif op == 'R' then
    local b = tonumber(ARGV[i + 1])
    local id = ARGV[i + 2]
    if redis.call('ZREM', KEYS[b], id) == 1 then
      redis.call('HDEL', KEYS[b + 1], id)
      unpage(b, 2, id)
      unpage(b, 4, id)
      release(id)
    end
    i = i + 3
  elseif op == 'Q' then
    redis.call('HSETNX', KEYS[3], ARGV[i + 1], ARGV[i + 2])
    i = i + 3
  elseif op == 'X' then
    local b = tonumber(ARGV[i + 1])
    for _, id in ipairs(redis.call('ZRANGE', KEYS[b], 0, -1)) do release(id) end
    redis.call('DEL', KEYS[b], KEYS[b + 1], KEYS[b + 2], KEYS[b + 3], KEYS[b + 4], KEYS[b + 5])
    redis.call('HDEL', KEYS[3], ARGV[i + 2])
    registered[b] = nil
    nonempty[b + 2] = false
    nonempty[b + 4] = false
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
