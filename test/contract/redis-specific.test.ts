// What the Redis store adds beyond the contract: the broker core recovering from Redis, scripts
// surviving SCRIPT FLUSH, a readable error while Redis is down, epochs handed out to new brokers,
// and the hash-tagged key layout.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Broker } from '../../src/core/broker.ts';
import { queue } from '../../src/core/destination.ts';
import { FencedError, StoreDataLostError, StoreUnavailableError } from '../../src/shared/errors.ts';
import { DEFAULT_POLICY, PolicyResolver } from '../../src/core/policy.ts';
import { RedisStore, redactUrl } from '../../src/store/redis/redis-store.ts';
import { Inbox, ctx, msgTo } from '../helpers/core.ts';
import { startRedis, startTlsRedis, type TestRedis } from '../helpers/redis-server.ts';
import { makeTestCert } from '../helpers/tls.ts';
import { createMessage } from '../../src/core/message.ts';

const fixture = join(import.meta.dirname, '../fixtures/redis-broker-process.ts');
let server: TestRedis;
let admin: Redis;
const brokers: Broker[] = [];
beforeAll(async () => {
  server = await startRedis();
  admin = new Redis(server.url);
});
afterEach(async () => {
  for (const b of brokers.splice(0)) await b.close().catch(() => {});
  await admin.flushall();
});
afterAll(async () => {
  await admin?.quit();
  await server?.stop();
});

async function broker(epoch: number, url = server.url): Promise<Broker> {
  const b = new Broker({
    store: new RedisStore({ url, cluster: 'it', epoch, redis: { maxRetriesPerRequest: 1, retryStrategy: () => 100 } }),
    log: pino({ level: 'silent' }),
    policies: new PolicyResolver({ ...DEFAULT_POLICY, redeliveryDelayMs: 0 }),
    expirySweepMs: 0,
  });
  await b.start();
  brokers.push(b);
  return b;
}

describe('Redis store', () => {
  it('knows when the data it opened is lost (flushed, even when opened anew with the same epoch), not when only taken over', async () => {
    const one = await broker(3);
    await one.publish(msgTo('kept', 'x', { persistent: true }), ctx);
    expect(await one.store.dataLost?.()).toBe(false);
    // A newer broker taking the same data over fences this one; the data is not lost.
    const newer = await broker(4);
    expect(await one.store.dataLost?.()).toBe(false);
    await admin.flushall();
    expect(await one.store.dataLost?.()).toBe(true);
    await expect(newer.publish(msgTo('kept', 'y', { persistent: true }), ctx)).rejects.toThrow(StoreDataLostError);
    // The epoch counter went with the data: a broker opening it again may take the same epoch.
    const again = await broker(4);
    expect(await newer.store.dataLost?.()).toBe(true);
    expect(await one.store.dataLost?.()).toBe(true);
    expect(await again.store.dataLost?.()).toBe(false);
  });

  it('a broker restarted on Redis gets back queued, in-flight and durable-subscription messages', async () => {
    const first = await broker(1);
    const inbox = new Inbox();
    await first.subscribe({ destination: queue('jobs'), prefetch: 1, onMessage: inbox.onMessage }, ctx);
    for (let i = 0; i < 3; i++) await first.publish(msgTo('jobs', `p${i}`, { persistent: true }), ctx);
    const body = Buffer.from([0, 255, 0, 10, 13]);
    await first.publish({ destination: queue('bin'), body, persistent: true, properties: { n: 1.5, b: true } }, ctx);
    await first.close();

    const second = await broker(2);
    const again = new Inbox();
    await second.subscribe({ destination: queue('jobs'), onMessage: again.onMessage }, ctx);
    expect(again.texts).toEqual(['p0', 'p1', 'p2']);
    expect(again.items[0]).toMatchObject({ redelivered: true, deliveryCount: 1 });
    const bin = new Inbox();
    await second.subscribe({ destination: queue('bin'), onMessage: bin.onMessage }, ctx);
    expect(Buffer.from(bin.items[0]!.message.body)).toEqual(body);
    expect(bin.items[0]!.message.properties).toEqual({ n: 1.5, b: true });
  });

  it('keeps working after SCRIPT FLUSH (scripts are re-sent)', async () => {
    const b = await broker(1);
    await admin.script('FLUSH');
    await b.publish(msgTo('after-flush', 'x', { persistent: true }), ctx);
    expect(await admin.hlen('{junction:it}:bodies')).toBe(1);
  });

  it('keeps every key under the cluster hash tag', async () => {
    const b = await broker(1);
    await b.publish(msgTo('tagged', 'x', { persistent: true }), ctx);
    const keys = await admin.keys('*');
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect(k.startsWith('{junction:it}:')).toBe(true);
  });

  it('hands out increasing epochs; the older broker is fenced', async () => {
    const e1 = await RedisStore.claimEpoch({ url: server.url }, 'it');
    const e2 = await RedisStore.claimEpoch({ url: server.url }, 'it');
    expect(e2).toBe(e1 + 1);
    const old = await broker(e1);
    await broker(e2);
    await expect(old.publish(msgTo('q', 'late', { persistent: true }), ctx)).rejects.toThrow(FencedError);
  });

  it('a persistent send while Redis is unreachable fails with a readable error; nothing is accepted', async () => {
    const down = await startRedis();
    const b = await broker(1, down.url);
    await down.stop();
    const err = await b.publish(msgTo('q', 'x', { persistent: true }), ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as StoreUnavailableError).code).toBe('store-unavailable');
    expect((err as Error).message).toMatch(/^Redis is unavailable \(redis redis:\/\/127.0.0.1:\d+\): /);
    expect(b.getQueue('q')?.messages).toBe(0);
  });

  it('reconnects by itself: once Redis is back, persistent sends succeed again', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'junction-redis-'));
    let redis = await startRedis(undefined, { dataDir });
    const b = await broker(1, redis.url);
    await b.publish(msgTo('q', 'before', { persistent: true }), ctx);
    await redis.stop();
    await expect(b.publish(msgTo('q', 'during', { persistent: true }), ctx)).rejects.toThrow(StoreUnavailableError);
    expect(b.storeAvailable).toBe(false);
    redis = await startRedis(redis.port, { dataDir });
    try {
      // The client reconnects on its own schedule (every 100 ms here); sends are refused at once until then.
      await vi.waitFor(() => expect(b.storeAvailable).toBe(true), { timeout: 10_000, interval: 50 });
      await b.publish(msgTo('q', 'after', { persistent: true }), ctx);
      expect(b.getQueue('q')?.messages).toBe(2);
      const check = new Redis(redis.url);
      expect(await check.zcard('{junction:it}:q:q')).toBe(2);
      await check.quit();
    } finally {
      await b.close();
      brokers.splice(brokers.indexOf(b), 1);
      await redis.stop();
    }
  });

  it('refuses to write on a Redis that came back without its data (the broker then steps down)', async () => {
    let redis = await startRedis();
    const b = await broker(1, redis.url);
    await b.publish(msgTo('q', 'before', { persistent: true }), ctx);
    await redis.stop();
    redis = await startRedis(redis.port);
    try {
      await vi.waitFor(() => expect(b.storeAvailable).toBe(true), { timeout: 10_000, interval: 50 });
      await expect(b.publish(msgTo('q', 'after', { persistent: true }), ctx)).rejects.toThrow(/Redis lost this cluster's data/);
      const check = new Redis(redis.url);
      expect(await check.zcard('{junction:it}:q:q')).toBe(0);
      await check.quit();
    } finally {
      await b.close();
      brokers.splice(brokers.indexOf(b), 1);
      await redis.stop();
    }
  });

  it('a broker cannot start on an unreachable Redis, and says so', async () => {
    const down = await startRedis();
    await down.stop();
    const store = new RedisStore({ url: down.url, cluster: 'it', epoch: 1, redis: { retryStrategy: () => null } });
    await expect(store.open()).rejects.toThrow(StoreUnavailableError);
    await store.close();
  });

  it('speaks TLS (rediss://) with an ACL user, trusting the CA named by caFile', async () => {
    const cert = makeTestCert();
    const tls = await startTlsRedis(cert);
    const store = new RedisStore({ url: tls.url, caFile: cert.certFile, cluster: 'tls', epoch: 1 });
    try {
      await store.open();
      const m = createMessage({ destination: queue('secure'), body: Buffer.from('over tls'), persistent: true }, 'app', 1);
      await store.apply([{ type: 'enqueue', queue: 'secure', message: m, state: { deliveryCount: 0, deliverAt: 0, delivered: false } }]);
      const page = await store.readQueue('secure', undefined, 10);
      expect(Buffer.from(page.entries[0]!.message.body).toString()).toBe('over tls');
      // Without the CA the certificate is refused, and the error says where it tried.
      await expect(RedisStore.claimEpoch({ url: tls.url }, 'tls', { retryStrategy: () => null })).rejects.toThrow(
        /Cannot reach redis rediss:\/\/app:\*\*\*@127\.0\.0\.1:\d+: .*certificate/,
      );
      await expect(
        RedisStore.claimEpoch({ url: tls.url.replace('s3cret', 'wrong'), caFile: cert.certFile }, 'tls', { retryStrategy: () => null }),
      ).rejects.toThrow(StoreUnavailableError);
    } finally {
      await store.close();
      await tls.stop();
    }
  });

  it('never shows a password in what it logs', () => {
    expect(redactUrl('redis://app:s3cret@host:6379/0')).toBe('redis://app:***@host:6379/0');
    expect(redactUrl('rediss://host:6380')).toBe('rediss://host:6380');
  });
});

describe('Redis store across broker processes', () => {
  /** Runs the broker fixture; resolves with its first line of output. */
  function phase(name: 'fill' | 'drain'): { line: Promise<string>; child: ChildProcess } {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, name, server.url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const line = new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`broker process (${name}) gave no answer: ${err}`)), 15_000);
      createInterface({ input: child.stdout! }).once('line', (l) => {
        clearTimeout(t);
        resolve(l);
      });
      child.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`broker process (${name}) exited with ${code}: ${err}`));
      });
    });
    return { line, child };
  }

  it('a killed broker loses nothing: in-flight redelivered; paged backlog, scheduled, durable subscriptions kept', async () => {
    const fill = phase('fill');
    expect(await fill.line).toBe('ready ["job-0","job-1","job-2"]');
    const gone = once(fill.child, 'exit');
    fill.child.kill('SIGKILL');
    await gone;

    const drain = phase('drain');
    const out = JSON.parse(await drain.line) as Record<string, Array<[string, boolean, number]>>;
    await once(drain.child, 'exit');
    expect(out.jobs).toEqual([['job-1', true, 1], ['job-2', true, 1], ...Array.from({ length: 17 }, (_, i) => [`job-${i + 3}`, false, 0])]);
    expect(out.events).toEqual([0, 1, 2].map((i) => [`event-${i}`, false, 0]));
    expect(out.later?.map(([t]) => t).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `later-${i}`).sort());
  });
});
