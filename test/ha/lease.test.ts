// The Redis lease lock on a real redis-server: one holder at a time, renewal and release by the
// holder only, an epoch above every epoch before (so the old holder's store handle is fenced), a
// takeover at once when the holder's connection is gone, and only after expiry while it stays.
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FencedError } from '../../src/shared/errors.ts';
import { RedisLease, type RedisLeaseOptions } from '../../src/store/redis/redis-lease.ts';
import { RedisStore } from '../../src/store/redis/redis-store.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';

let redis: TestRedis;
let admin: Redis;
const opened: RedisLease[] = [];

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
});
afterAll(async () => {
  admin?.disconnect();
  await redis?.stop();
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((l) => l.close()));
});

function lease(cluster: string, node: string, extra: Partial<RedisLeaseOptions> = {}): RedisLease {
  const l = new RedisLease({
    url: redis.url,
    cluster,
    node,
    admin: `${node}:8161`,
    leaseMs: 5000,
    minReplicas: 0,
    replicaTimeoutMs: 100,
    commandTimeoutMs: 1000,
    ...extra,
  });
  opened.push(l);
  return l;
}

describe('Redis lease lock', () => {
  it('has one holder; only the holder renews or releases; a release frees it at once', async () => {
    const a = lease('one', 'a');
    const b = lease('one', 'b');
    const first = await a.acquire();
    expect(first.epoch).toBeGreaterThan(0);
    expect(await b.acquire()).toEqual({ holder: { node: 'a', epoch: first.epoch, since: expect.any(Number), admin: 'a:8161' } });
    expect(await a.renew()).toBe(true);
    expect(await b.renew()).toBe(false);
    await b.release(); // not b's: nothing happens
    expect((await b.acquire()).epoch).toBeUndefined();
    await a.release();
    const second = await b.acquire();
    expect(second.epoch).toBe(first.epoch! + 1);
    expect(await a.renew()).toBe(false);
  });

  it('raises the epoch above those handed out before, so the old holder cannot write', async () => {
    const claimed = await RedisStore.claimEpoch({ url: redis.url }, 'epochs');
    const a = lease('epochs', 'a');
    const ea = (await a.acquire()).epoch!;
    expect(ea).toBeGreaterThan(claimed);
    const oldStore = new RedisStore({ url: redis.url, cluster: 'epochs', epoch: ea });
    await oldStore.open();
    // The holder's process dies (its connection closes, nothing released): b takes over on its
    // second check, without waiting for the lease to expire.
    const b = lease('epochs', 'b');
    await a.close();
    expect((await b.acquire()).holder?.node).toBe('a');
    const eb = (await b.acquire()).epoch!;
    expect(eb).toBe(ea + 1);
    await expect(oldStore.apply([{ type: 'declareQueue', queue: { name: 'late', createdAt: 1 } }])).rejects.toThrow(FencedError);
    await oldStore.close();
  });

  it('keeps the lease with a holder whose connection only dropped: it re-registers on reconnecting', async () => {
    const a = lease('blip', 'a');
    expect((await a.acquire()).epoch).toBeDefined();
    const b = lease('blip', 'b');
    const holderId = async () => admin.hget('{junction:blip}:lease-holder', 'clientId');
    const before = await holderId();
    await admin.client('KILL', 'ID', before!);
    expect((await b.acquire()).holder?.node).toBe('a');
    await expect.poll(holderId, { timeout: 5000 }).not.toBe(before);
    expect((await b.acquire()).holder?.node).toBe('a');
    expect((await b.acquire()).holder?.node).toBe('a');
    expect(await a.renew()).toBe(true);
  });

  it('takes over from a holder registered on an earlier run of Redis, whose connection id a live client now has', async () => {
    const a = lease('rerun', 'a');
    const ea = (await a.acquire()).epoch!;
    await a.close();
    // After a Redis restart client ids start again: the dead holder's id may be a live connection's.
    const live = String(await admin.client('ID'));
    await admin.hset('{junction:rerun}:lease-holder', 'clientId', live, 'runId', 'an-earlier-run');
    const b = lease('rerun', 'b');
    expect(await b.acquire()).toMatchObject({ holder: { node: 'a' }, suspect: true });
    expect((await b.acquire()).epoch).toBe(ea + 1);
  });

  it('while the holder stays connected but silent, is taken only once it expires', async () => {
    const a = lease('expiry', 'a', { leaseMs: 600 });
    const b = lease('expiry', 'b', { leaseMs: 600 });
    expect((await a.acquire()).epoch).toBeDefined();
    const taken = Date.now();
    expect((await b.acquire()).holder?.node).toBe('a');
    await expect.poll(async () => (await b.acquire()).epoch, { timeout: 5000, interval: 50 }).toBeDefined();
    expect(Date.now() - taken).toBeGreaterThanOrEqual(500);
  });

  it('a store handle whose lease may have lapsed refuses writes before Redis sees them', async () => {
    let held = true;
    const store = new RedisStore({ url: redis.url, cluster: 'guard', epoch: 1, leaseHeld: () => held });
    await store.open();
    await store.apply([{ type: 'declareQueue', queue: { name: 'q', createdAt: 1 } }]);
    held = false;
    await expect(store.apply([{ type: 'declareQueue', queue: { name: 'r', createdAt: 1 } }])).rejects.toThrow(/no longer holds the lease/);
    expect((await store.loadQueues()).map((q) => q.name)).toEqual(['q']);
    await store.close();
  });
});
