-- Records that a queue exists (first declaration wins).
-- KEYS: 1 epoch, 2 queues hash   ARGV: 1 epoch, 2 queue name, 3 createdAt
redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[3])
return 1
