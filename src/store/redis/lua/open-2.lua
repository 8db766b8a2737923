-- Claims the data for the caller's epoch; older handles are fenced from then on. The data id is
-- made by the first broker to open the data and kept by every later one, so only a loss of the
-- data (a flush, a restart without files, an empty replica) changes it: epochs cannot tell, since
-- the epoch counter is lost with the data and starts again. Returns the data id.
-- KEYS: 1 epoch, 2 data id   ARGV: 1 epoch, 2 a new data id (used when there is none)
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SETNX', KEYS[2], ARGV[2])
return redis.call('GET', KEYS[2])
