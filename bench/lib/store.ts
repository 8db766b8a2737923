// The store a scenario runs on: the memory store, or Redis under a bench cluster name with a
// freshly claimed epoch.
import { MemoryStore } from '../../src/store/memory-store.ts';
import { RedisStore } from '../../src/store/redis/redis-store.ts';
import type { Store } from '../../src/store/store.ts';

export interface StoreChoice {
  store: 'memory' | 'redis';
  redisUrl: string;
}

export async function makeStore(s: StoreChoice): Promise<Store> {
  switch (s.store) {
    case 'memory':
      return new MemoryStore();
    case 'redis': {
      const cluster = 'bench';
      return new RedisStore({ url: s.redisUrl, cluster, epoch: await RedisStore.claimEpoch({ url: s.redisUrl }, cluster) });
    }
  }
}
