-- Removes a stream's description and its named consumers' positions (its shards go one by one, with
-- stream-drop, since on Redis Cluster they live in other slots).
-- KEYS: 1 epoch, 2 streams hash, 3 the stream's positions hash   ARGV: 1 epoch, 2 stream name
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('DEL', KEYS[3])
return 1
