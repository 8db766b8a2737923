// The Redis store against the Store and StreamStore contracts on real Redis deployments: one redis-server (plain,
// and with security.encryption sealing every value), a primary found through Sentinel, and a
// three-node Redis Cluster.
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { RedisStore } from '../../src/store/redis/redis-store.ts';
import { Sealer } from '../../src/store/sealer.ts';
import { startCluster, startRedis, startSentinel, type TestCluster, type TestRedis, type TestSentinel } from '../helpers/redis-server.ts';
import { describeStoreContract, type StoreFactory } from './store-contract.ts';
import { describeStreamStoreContract } from './stream-store-contract.ts';

/** Both contracts on one deployment. */
function both(name: string, factory: StoreFactory): void {
  describeStoreContract(name, factory);
  describeStreamStoreContract(name, factory);
}

let server: TestRedis;
let admin: Redis;
beforeAll(async () => {
  server = await startRedis();
  admin = new Redis(server.url);
});
afterAll(async () => {
  await admin?.quit();
  await server?.stop();
});

both('redis', {
  async reset() {
    await admin.flushall();
  },
  async handle(epoch) {
    return new RedisStore({ url: server.url, cluster: 'contract', epoch });
  },
});

const sealer = new Sealer([
  { id: 'k2', key: randomBytes(32) },
  { id: 'k1', key: randomBytes(32) },
]);

both('redis, encrypted at rest', {
  async reset() {
    await admin.flushall();
  },
  async handle(epoch) {
    return new RedisStore({ url: server.url, cluster: 'contract', epoch, sealer });
  },
});

describe('Redis behind Sentinel', () => {
  let sentinel: TestSentinel;
  let primary: Redis;
  beforeAll(async () => {
    sentinel = await startSentinel();
    primary = new Redis(sentinel.primary.url);
  });
  afterAll(async () => {
    await primary?.quit();
    await sentinel?.stop();
  });

  both('redis sentinel', {
    async reset() {
      await primary.flushall();
    },
    async handle(epoch) {
      return new RedisStore({ sentinels: [{ host: '127.0.0.1', port: sentinel.port }], name: sentinel.name, cluster: 'contract', epoch });
    },
  });
});

describe('Redis Cluster', () => {
  let cluster: TestCluster;
  let client: Cluster;
  beforeAll(async () => {
    cluster = await startCluster();
    client = new Cluster(cluster.nodes);
  });
  afterAll(async () => {
    await client?.quit();
    await cluster?.stop();
  });

  both('redis cluster', {
    async reset() {
      await Promise.all(client.nodes('master').map((n) => n.flushall()));
    },
    async handle(epoch) {
      return new RedisStore({ nodes: cluster.nodes, cluster: 'contract', epoch });
    },
  });

  it("spreads one stream's shards over the cluster's nodes, away from the broker's own slot", async () => {
    const store = new RedisStore({ nodes: cluster.nodes, cluster: 'spread', epoch: 1 });
    try {
      await store.open();
      const shards = Array.from({ length: 8 }, (_, i) => `shardId-${String(i).padStart(12, '0')}`);
      await store.streams.claimShards('telemetry', shards);
      for (const shard of shards) await store.streams.append('telemetry', shard, [{ key: shard, data: Buffer.from(shard) }]);
      const perNode = await Promise.all(client.nodes('master').map((n) => n.keys('{junction:spread:stream:telemetry:*}:log')));
      expect(perNode.flat().sort()).toEqual(shards.map((s) => `{junction:spread:stream:telemetry:${s}}:log`).sort());
      expect(perNode.filter((keys) => keys.length > 0).length).toBeGreaterThanOrEqual(2);
    } finally {
      await store.close();
      await Promise.all(client.nodes('master').map((n) => n.flushall()));
    }
  });
});
