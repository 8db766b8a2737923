// The Redis store against the Store contract on real Redis deployments: one redis-server (plain,
// and with security.encryption sealing every value), a primary found through Sentinel, and a
// three-node Redis Cluster.
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe } from 'vitest';
import { randomBytes } from 'node:crypto';
import { RedisStore } from '../../src/store/redis/redis-store.ts';
import { Sealer } from '../../src/store/sealer.ts';
import { startCluster, startRedis, startSentinel, type TestCluster, type TestRedis, type TestSentinel } from '../helpers/redis-server.ts';
import { describeStoreContract } from './store-contract.ts';

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

describeStoreContract('redis', {
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

describeStoreContract('redis, encrypted at rest', {
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

  describeStoreContract('redis sentinel', {
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

  describeStoreContract('redis cluster', {
    async reset() {
      await Promise.all(client.nodes('master').map((n) => n.flushall()));
    },
    async handle(epoch) {
      return new RedisStore({ nodes: cluster.nodes, cluster: 'contract', epoch });
    },
  });
});
