// Key rotation without downtime: messages sealed with k1 wait in a queue; the broker restarts with
// k2 first in its keyring, and `junction keys rotate` runs while a STOMP producer and an AMQP
// consumer keep working. Every message arrives, the CLI reports k1 as no longer needed, and the
// broker then starts with k2 alone.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JunctionServer } from '../../src/server.ts';
import { AmqpClient } from '../helpers/amqp.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { startAllProtocols } from '../helpers/server.ts';
import { runJunction, type CliRun } from '../helpers/junction-cli.ts';
import { RawStomp } from '../helpers/stomp.ts';

const dir = mkdtempSync(join(tmpdir(), 'junction-rotate-'));
const k1 = { id: 'k1', file: join(dir, 'k1.key') };
const k2 = { id: 'k2', file: join(dir, 'k2.key') };
writeFileSync(k1.file, randomBytes(32));
writeFileSync(k2.file, `${randomBytes(32).toString('base64')}\n`);
const QUEUE = 'rotation.orders';
const BEFORE = 3000;

let redis: TestRedis;
let admin: Redis;
let server: JunctionServer | undefined;

function start(keys: Array<{ id: string; file: string }>): Promise<{ server: JunctionServer }> {
  return startAllProtocols({
    store: { type: 'redis', redis: { url: redis.url } },
    admin: { enabled: true, host: '127.0.0.1', port: 0 },
    security: { encryption: { keys } },
  });
}

const cli = (args: string[]): Promise<CliRun> => runJunction(args, { timeoutMs: 30_000 });

/** A STOMP body without a content type reaches AMQP as a data section. */
function text(body: unknown): string {
  return typeof body === 'string' ? body : Buffer.from((body as { content: Buffer }).content).toString();
}

async function send(stomp: RawStomp, body: string): Promise<void> {
  stomp.send('SEND', { destination: `/queue/${QUEUE}`, persistent: 'true', receipt: body }, body);
  const receipt = await stomp.expect('RECEIPT');
  expect(receipt.headers.get('receipt-id')).toBe(body);
}

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
});

afterAll(async () => {
  await server?.stop();
  await admin?.quit();
  await redis?.stop();
});

describe('key rotation', () => {
  it('re-seals everything while clients work, loses nothing, and retires the old key', async () => {
    ({ server } = await start([k1]));
    const first = await RawStomp.connect(server.listeners.port('stomp', 'tcp') as number);
    for (let i = 0; i < BEFORE; i++) await send(first, `before-${i}`);
    first.close();
    await server.stop();

    ({ server } = await start([k2, k1]));
    const url = `http://${server.adminAddress}`;
    const stomp = await RawStomp.connect(server.listeners.port('stomp', 'tcp') as number);
    let producing = true;
    let sent = 0;
    const producer = (async () => {
      while (producing) await send(stomp, `during-${sent++}`);
    })();
    const rotation = cli(['keys', 'rotate', '--url', url]);
    // The consumer takes the backlog while it is being sealed anew.
    const amqp = await AmqpClient.connect(server.listeners.port('amqp', 'tcp') as number);
    const { got } = await amqp.receiver({ source: { address: QUEUE }, autoaccept: true, credit_window: 10 });
    const rotated = await rotation;
    producing = false;
    await producer;
    expect(rotated.stderr).toBe('');
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(
      /key rotation done: \d+ of \d+ values looked at, \d+ sealed anew, 0 refused; no stored value needs k1 any more/,
    );
    const status = await cli(['keys', 'status', '--url', url, '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'done', report: { remaining: 0, retired: ['k1'] } });

    const expected = new Set([
      ...Array.from({ length: BEFORE }, (_, i) => `before-${i}`),
      ...Array.from({ length: sent }, (_, i) => `during-${i}`),
    ]);
    const seen = new Set<string>();
    for (let n = 1; seen.size < expected.size; n++) seen.add(text((await got.nth(n)).message.body));
    expect(seen).toEqual(expected);
    stomp.close();
    amqp.close();
    await server.stop();
    server = undefined;

    expect(await admin.hkeys('{junction:junction}:sealing-keys')).toEqual(['k2']);
    ({ server } = await start([k2]));
    expect(server.health().status).toBe('ok');
  });
});
