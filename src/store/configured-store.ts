// Picks the store the configuration asks for, with the lease lock that goes with it. `auto` (the
// default) means: Redis when a deployment is configured, else the embedded redis-server when its
// binary is here, else the memory store, with a warning that nothing will survive a restart.
// A store handle carries one fencing epoch, so each time this broker becomes active it opens a
// new handle for the epoch its lease gave it.
import type { Logger } from 'pino';
import type { Lease } from './lease.ts';
import { LocalLease } from './local-lease.ts';
import { MemoryData, MemoryStore } from './memory-store.ts';
import { describeConnection, type RedisConnection } from './redis/connect.ts';
import { EmbeddedRedis } from './redis/embedded-redis.ts';
import { RedisLease } from './redis/redis-lease.ts';
import type { RefusedRecord } from './redis/codec.ts';
import { RedisStore } from './redis/redis-store.ts';
import type { Sealer } from './sealer.ts';
import type { Store } from './store.ts';

export interface StoreConfig {
  type: 'auto' | 'memory' | 'redis' | 'embedded';
  redis: RedisConnection & { minReplicasToAck: number; replicaAckTimeoutMs: number };
  embedded: { dataDir: string; binary: string };
}

/** How this broker takes part in the lease. */
export interface LeaseSettings {
  node: string;
  /** Its admin address ('' when off). */
  admin: string;
  leaseMs: number;
  /** How long a lease command may go unanswered. */
  commandTimeoutMs: number;
}

export interface ConfiguredStore {
  /** What runs, for the startup log (no secrets). */
  description: string;
  lease: Lease;
  /** A handle on the data for `epoch`, not opened yet; once `leaseHeld` says false it writes nothing. */
  handle(epoch: number, leaseHeld: () => boolean): Store;
  /** Stops what the store needed (the embedded server); call after every handle and the lease are closed. */
  release(): Promise<void>;
  /** Sealed values that did not open (security.encryption), by kind: refused, logged, left in Redis. */
  readonly refusedSealed: ReadonlyMap<string, number>;
}

function redisConfigured(r: RedisConnection): boolean {
  return r.url !== undefined || r.sentinels !== undefined || r.nodes !== undefined;
}

/** A store handed in whole (tests): one handle, one epoch, so the lease is taken once. */
export function fixedStore(store: Store): ConfiguredStore {
  return {
    description: store.kind,
    lease: new LocalLease(store.epoch, true),
    handle: () => store,
    release: async () => {},
    refusedSealed: new Map(),
  };
}

export async function openConfiguredStore(
  config: StoreConfig,
  cluster: string,
  lease: LeaseSettings,
  log: Logger,
  sealer?: Sealer,
): Promise<ConfiguredStore> {
  const refusedSealed = new Map<string, number>();
  const onRefused = (r: RefusedRecord): void => {
    refusedSealed.set(r.what, (refusedSealed.get(r.what) ?? 0) + 1);
    log.error(
      { kind: r.what, where: r.where, reason: r.error.message, ...r.error.context },
      'a sealed value in the store does not open: it was not used, and stays in Redis as it is',
    );
  };
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
  const onRedis = async (
    conn: RedisConnection,
    minReplicas: number,
  ): Promise<Pick<ConfiguredStore, 'lease' | 'handle' | 'refusedSealed'>> => {
    if (minReplicas > 0 && conn.nodes) throw new Error('store.redis.minReplicasToAck needs one server or Sentinel, not a Cluster');
    await RedisStore.checkKeys(conn, cluster, sealer);
    const replicas = { minReplicasToAck: minReplicas, replicaAckTimeoutMs: config.redis.replicaAckTimeoutMs };
    return {
      lease: new RedisLease({ ...conn, ...lease, cluster, minReplicas, replicaTimeoutMs: replicas.replicaAckTimeoutMs }),
      handle: (epoch, leaseHeld) =>
        new RedisStore({ ...conn, ...replicas, cluster, epoch, leaseHeld, ...(sealer ? { sealer } : {}), onRefused }),
      refusedSealed,
    };
  };
  switch (type) {
    case 'memory': {
      const data = new MemoryData();
      if (sealer) log.info('security.encryption: the memory store keeps nothing at rest, so nothing is sealed');
      return {
        description: 'memory',
        lease: new LocalLease(0),
        handle: (epoch) => new MemoryStore(epoch, data),
        release: async () => {},
        refusedSealed,
      };
    }
    case 'redis':
      return {
        ...(await onRedis(config.redis, config.redis.minReplicasToAck)),
        description: describeConnection(config.redis),
        release: async () => {},
      };
    case 'embedded': {
      const server = await EmbeddedRedis.start({ ...config.embedded, log });
      let onServer: Awaited<ReturnType<typeof onRedis>>;
      try {
        onServer = await onRedis({ url: server.url }, 0);
      } catch (err) {
        await server.stop();
        throw err;
      }
      return {
        ...onServer,
        description: `embedded redis-server (${server.dataDir})`,
        release: () => server.stop(),
      };
    }
  }
}
