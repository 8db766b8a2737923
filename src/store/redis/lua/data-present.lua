-- Included after fence.lua at the top of every mutating script but open (not a command of its own).
-- The epoch key is written when a broker opens the data and is never deleted: when it is missing,
-- Redis has lost the data since (restarted without its files, flushed, failed over to an empty
-- replica), and writing on would mix the broker's memory with an empty store. Refused with an error
-- reply "DATALOST" before anything is written.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('DATALOST the epoch key is gone: Redis lost this cluster\'s data since the broker opened it')
end
