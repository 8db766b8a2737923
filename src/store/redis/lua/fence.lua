-- Included at the top of every mutating script (not a command of its own).
-- KEYS[1] is always the epoch key and ARGV[1] the caller's epoch: a caller older than the stored
-- epoch is refused with an error reply "FENCED <current epoch>" before anything is written.
local current_epoch = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) < current_epoch then
  return redis.error_reply('FENCED ' .. current_epoch)
end
