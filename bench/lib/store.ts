// The store a scenario runs on: the memory store, or Redis under a bench cluster name with a
// freshly claimed epoch (sealing what it writes under --encrypted).
import { MemoryStore } from '../../src/store/memory-store.ts';
import { RedisStore } from '../../src/store/redis/redis-store.ts';
import type { Store } from '../../src/store/store.ts';
import { benchSealer } from './encryption.ts';

export interface StoreChoice {
  store: 'memory' | 'redis';
  redisUrl: string;
}

export async function makeStore(s: StoreChoice): Promise<Store> {
  switch (s.store) {
    case 'memory':
      return new MemoryStore();
    case 'redis': {
      // A cluster of its own per run: an earlier run's data (sealed with another throwaway key) stays out of it.
      const cluster = `bench-${process.pid}-${Date.now()}`;
      const sealer = benchSealer();
      const epoch = await RedisStore.claimEpoch({ url: s.redisUrl }, cluster);
      return new RedisStore({ url: s.redisUrl, cluster, epoch, ...(sealer ? { sealer } : {}) });
    }
  }
}
