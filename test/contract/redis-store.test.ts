// The Redis store against the Store contract, on a real redis-server.
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { RedisStore } from '../../src/store/redis/redis-store.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
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
