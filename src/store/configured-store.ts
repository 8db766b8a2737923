// Picks and opens the store the configuration asks for. `auto` (the default) means: Redis when a
// deployment is configured, else the embedded redis-server when its binary is here, else the
// memory store, with a warning that nothing will survive a restart.
import type { Logger } from 'pino';
import { MemoryStore } from './memory-store.ts';
import { describeConnection, type RedisConnection } from './redis/connect.ts';
import { EmbeddedRedis } from './redis/embedded-redis.ts';
import { RedisStore } from './redis/redis-store.ts';
import type { Store } from './store.ts';

export interface StoreConfig {
  type: 'auto' | 'memory' | 'redis' | 'embedded';
  redis: RedisConnection;
  embedded: { dataDir: string; binary: string };
}

export interface ConfiguredStore {
  store: Store;
  /** What runs, for the startup log (no secrets). */
  description: string;
  /** Stops what the store needed (the embedded server); call after the store is closed. */
  release(): Promise<void>;
}

function redisConfigured(r: RedisConnection): boolean {
  return r.url !== undefined || r.sentinels !== undefined || r.nodes !== undefined;
}

export async function openConfiguredStore(config: StoreConfig, cluster: string, log: Logger): Promise<ConfiguredStore> {
  let type = config.type;
  if (type === 'auto') {
    if (redisConfigured(config.redis)) type = 'redis';
    else if (await EmbeddedRedis.available(config.embedded.binary)) type = 'embedded';
    else {
      log.warn(
        { binary: config.embedded.binary },
        'NO PERSISTENCE: no Redis is configured and redis-server was not found, so the broker runs on the memory ' +
          'store and loses every message when it stops. Install redis-server (embedded, ./data/redis) or set REDIS_URL.',
      );
      type = 'memory';
    }
  }
  switch (type) {
    case 'memory':
      return { store: new MemoryStore(), description: 'memory', release: async () => {} };
    case 'redis': {
      const epoch = await RedisStore.claimEpoch(config.redis, cluster);
      return {
        store: new RedisStore({ ...config.redis, cluster, epoch }),
        description: describeConnection(config.redis),
        release: async () => {},
      };
    }
    case 'embedded': {
      const server = await EmbeddedRedis.start({ ...config.embedded, log });
      try {
        const conn = { url: server.url };
        const epoch = await RedisStore.claimEpoch(conn, cluster);
        return {
          store: new RedisStore({ ...conn, cluster, epoch }),
          description: `embedded redis-server (${server.dataDir})`,
          release: () => server.stop(),
        };
      } catch (err) {
        await server.stop();
        throw err;
      }
    }
  }
}
