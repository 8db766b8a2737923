// Encryption at rest in the Redis store itself: with a keyring no message body, property, entry
// annotation, retained message or session record (a will's payload) is readable anywhere in Redis,
// while without one the same scan finds them all; a value altered, truncated or moved to another
// message is refused and reported, never returned, and stays in Redis; a broker whose keyring
// lacks or mistakes a key that sealed stored values is stopped at start with what to fix.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMessage, type Message } from '../../src/core/message.ts';
import { queue, topic } from '../../src/core/destination.ts';
import type { RefusedRecord } from '../../src/store/redis/codec.ts';
import { RedisStore } from '../../src/store/redis/redis-store.ts';
import { Sealer } from '../../src/store/sealer.ts';
import type { StoreOp } from '../../src/store/store.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { dumpRedis } from '../helpers/redis-dump.ts';

let server: TestRedis;
let admin: Redis;
const stores: RedisStore[] = [];
const k1 = { id: 'k1', key: randomBytes(32) };
const k2 = { id: 'k2', key: randomBytes(32) };

beforeAll(async () => {
  server = await startRedis();
  admin = new Redis(server.url);
});
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  await admin.flushall();
});
afterAll(async () => {
  await admin?.quit();
  await server?.stop();
});

async function open(sealer?: Sealer, refused: RefusedRecord[] = []): Promise<RedisStore> {
  const s = new RedisStore({
    url: server.url,
    cluster: 'sealing',
    epoch: 1,
    onRefused: (r) => refused.push(r),
    ...(sealer ? { sealer } : {}),
  });
  stores.push(s);
  await s.open();
  return s;
}

function message(dest: string, body: string, properties: Record<string, string> = {}): Message {
  return createMessage({ destination: queue(dest), body: Buffer.from(body), persistent: true, properties }, 'user', 1000);
}

/** Everything a broker stores about a message, each holding a marker. */
function secrets(): StoreOp[] {
  const retained = createMessage(
    { destination: topic('devices.d1.config'), body: Buffer.from('MARK-RETAINED'), persistent: true },
    'u',
    1000,
  );
  return [
    {
      type: 'enqueue',
      queue: 'orders',
      message: message('orders', 'MARK-BODY', { card: 'MARK-PROPERTY' }),
      state: { deliveryCount: 0, deliverAt: 0, delivered: false },
    },
    {
      type: 'enqueue',
      queue: 'DLQ',
      message: message('DLQ', 'MARK-DLQ'),
      state: { deliveryCount: 2, deliverAt: 0, delivered: false, annotations: { reason: 'MARK-ANNOTATION' } },
    },
    { type: 'putRetained', topic: 'devices.d1.config', message: retained },
    { type: 'putSession', session: { id: 'mqtt-will:d1', data: { payload: 'MARK-WILL' }, updatedAt: 1, expiresAt: 0 } },
    {
      type: 'putSecurity',
      record: {
        users: [
          {
            username: 'u',
            passwordHash: 'scrypt$MARK-HASH',
            groups: [],
            accessKeys: [{ id: 'AKIA', secret: 'MARK-SECRET', createdAt: 1 }],
          },
        ],
        authorization: [],
        updatedAt: 1,
      },
    },
  ];
}

const MARKERS = /MARK-(BODY|PROPERTY|DLQ|ANNOTATION|RETAINED|WILL|HASH|SECRET)/g;

describe('Redis store, sealed at rest', () => {
  it('leaves no marker readable in Redis with a keyring, and every one without', async () => {
    const plain = await open();
    await plain.apply(secrets());
    expect(new Set((await dumpRedis(admin)).toString('latin1').match(MARKERS))).toEqual(
      new Set(['MARK-BODY', 'MARK-PROPERTY', 'MARK-DLQ', 'MARK-ANNOTATION', 'MARK-RETAINED', 'MARK-WILL', 'MARK-HASH', 'MARK-SECRET']),
    );
    await plain.close();
    await admin.flushall();

    const sealed = await open(new Sealer([k1]));
    await sealed.apply(secrets());
    expect((await dumpRedis(admin)).toString('latin1').match(MARKERS)).toBeNull();
    const page = await sealed.readQueue('orders', undefined, 10);
    expect(page.entries.map((e) => [Buffer.from(e.message.body).toString(), e.message.properties.card])).toEqual([
      ['MARK-BODY', 'MARK-PROPERTY'],
    ]);
    expect((await sealed.readQueue('DLQ', undefined, 10)).entries[0]?.state.annotations).toEqual({ reason: 'MARK-ANNOTATION' });
    expect((await sealed.loadRetained()).map((m) => Buffer.from(m.body).toString())).toEqual(['MARK-RETAINED']);
    expect((await sealed.getSession('mqtt-will:d1'))?.data).toEqual({ payload: 'MARK-WILL' });
    expect((await sealed.loadSecurity())?.users[0]?.accessKeys?.[0]?.secret).toBe('MARK-SECRET');
  });

  it('still reads values stored before encryption was turned on', async () => {
    const plain = await open();
    await plain.apply(secrets());
    await plain.close();
    const sealed = await open(new Sealer([k1]));
    expect((await sealed.readQueue('orders', undefined, 10)).entries).toHaveLength(1);
    expect((await sealed.getSession('mqtt-will:d1'))?.data).toEqual({ payload: 'MARK-WILL' });
  });

  it('refuses an altered, a truncated and a moved value, reports each, and leaves them in Redis', async () => {
    const refused: RefusedRecord[] = [];
    const s = await open(new Sealer([k1]), refused);
    const [a, b, c, d] = ['A', 'B', 'C', 'D'].map((x) => message('q', `body-${x}`));
    const ready = { deliveryCount: 0, deliverAt: 0, delivered: false };
    await s.apply([a, b, c, d].map((m) => ({ type: 'enqueue', queue: 'q', message: m as Message, state: ready })));
    const bodies = '{junction:sealing}:bodies';
    const altered = (await admin.hgetBuffer(bodies, (a as Message).id)) as Buffer;
    altered.writeUInt8((altered.at(-1) as number) ^ 1, altered.length - 1);
    await admin.hset(bodies, (a as Message).id, altered);
    const truncated = (await admin.hgetBuffer(bodies, (b as Message).id)) as Buffer;
    await admin.hset(bodies, (b as Message).id, truncated.subarray(0, 40));
    await admin.hset(bodies, (c as Message).id, (await admin.hgetBuffer(bodies, (d as Message).id)) as Buffer);

    const page = await s.readQueue('q', undefined, 10);
    expect(page.entries.map((e) => Buffer.from(e.message.body).toString())).toEqual(['body-D']);
    expect(refused.map((r) => [r.what, r.where])).toEqual([
      ['message', `queue q, message ${(a as Message).id}`],
      ['message', `queue q, message ${(b as Message).id}`],
      ['message', `queue q, message ${(c as Message).id}`],
    ]);
    expect(refused.map((r) => r.error.message)).toEqual([
      expect.stringMatching(/altered, or key 'k1' is not the key that sealed it/),
      expect.stringMatching(/truncated/),
      expect.stringMatching(/does not belong where it was found/),
    ]);
    expect(await admin.hlen(bodies)).toBe(4);
  });

  it('a rotation seals every value anew with the active key, plain ones included, then retires the old key', async () => {
    const plain = await open();
    await plain.apply([{ type: 'putSession', session: { id: 'legacy', data: { payload: 'MARK-LEGACY' }, updatedAt: 1, expiresAt: 0 } }]);
    await plain.close();
    const old = await open(new Sealer([k1]));
    await old.apply(secrets());
    await old.close();
    const s = await open(new Sealer([k2, k1]));
    const seen: number[] = [];
    const report = await s.reseal((p) => seen.push(p.scanned));
    expect(report).toMatchObject({ remaining: 0, retired: ['k1'], refused: 0, total: 7, scanned: 7, resealed: 7 });
    expect(seen.at(-1)).toBe(7);
    expect((await dumpRedis(admin)).toString('latin1')).not.toMatch(/MARK-/);
    await expect(RedisStore.checkKeys({ url: server.url }, 'sealing', new Sealer([k2]))).resolves.toBeUndefined();
    await s.close();
    const after = await open(new Sealer([k2]));
    expect((await after.readQueue('DLQ', undefined, 10)).entries[0]?.state.annotations).toEqual({ reason: 'MARK-ANNOTATION' });
    expect((await after.getSession('legacy'))?.data).toEqual({ payload: 'MARK-LEGACY' });
    expect((await after.loadRetained()).map((m) => Buffer.from(m.body).toString())).toEqual(['MARK-RETAINED']);
  });

  it('stops a start whose keyring lacks or mistakes a key that sealed stored values', async () => {
    const first = await open(new Sealer([k1]));
    await first.apply(secrets());
    await first.close();
    const conn = { url: server.url };
    await expect(RedisStore.checkKeys(conn, 'sealing', new Sealer([k2]))).rejects.toThrow(
      /sealed with key 'k1', which security\.encryption\.keys lacks/,
    );
    await expect(RedisStore.checkKeys(conn, 'sealing', new Sealer([{ id: 'k1', key: randomBytes(32) }]))).rejects.toThrow(
      /Key 'k1' in security\.encryption\.keys is not the key that sealed the stored values/,
    );
    await expect(RedisStore.checkKeys(conn, 'sealing', undefined)).rejects.toThrow(/configure them in security\.encryption\.keys/);
    await expect(RedisStore.checkKeys(conn, 'sealing', new Sealer([k2, k1]))).resolves.toBeUndefined();
    const rotated = await open(new Sealer([k2, k1]));
    expect(await admin.hkeys('{junction:sealing}:sealing-keys')).toEqual(expect.arrayContaining(['k1', 'k2']));
    expect((await rotated.readQueue('orders', undefined, 10)).entries).toHaveLength(1);
  });
});
