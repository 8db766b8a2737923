// A hung active (SIGSTOP past its lease, its connections still open) is replaced when the lease
// expires; when it runs again (SIGCONT) it acknowledges and writes nothing and steps down to
// standby without exiting, telling MQTT 5 clients so (DISCONNECT 0x8B). Short leases (2 s,
// renewed every 0.5 s) keep the test quick.
import type { IDisconnectPacket } from 'mqtt-packet';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keys } from '../../src/store/redis/keys.ts';
import { BrokerProcess, portRefused as refused } from '../helpers/broker-process.ts';
import { RawMqtt } from '../helpers/mqtt.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { RawStomp } from '../helpers/stomp.ts';

let redis: TestRedis;
const brokers: BrokerProcess[] = [];
const HA = 'leaseMs: 2000, renewMs: 500';

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await Promise.all(brokers.map((b) => b.stop()));
  await redis?.stop();
});

describe('a hung active', () => {
  it('is replaced when its lease expires, then on SIGCONT acknowledges nothing, writes nothing and returns to standby', async () => {
    const a = await BrokerProcess.start('hung', redis.url, { cluster: 'stop', ha: HA });
    brokers.push(a);
    await a.waitActive();
    const b = await BrokerProcess.start('spare', redis.url, { cluster: 'stop', ha: HA });
    brokers.push(b);
    await expect.poll(async () => (await b.health()).body.holder, { timeout: 5000 }).toMatchObject({ node: 'hung' });

    const client = await RawStomp.connect(a.ports.stomp, { 'accept-version': '1.2', host: '/' });
    const device = await RawMqtt.connect(a.ports.mqtt, { protocolVersion: 5, clientId: 'hung-v5' });
    a.signal('SIGSTOP');
    // Written while the active is stopped: they sit in the sockets until SIGCONT.
    client.send('SEND', { destination: '/queue/late', persistent: 'true', receipt: 'r-late' }, 'written while stopped');
    device.raw.send({ cmd: 'publish', topic: 'late/v5', payload: Buffer.from('written while stopped'), qos: 1, messageId: 1 });
    const from = b.lines.length;
    const stoppedAt = Date.now();
    const took = await b.waitActive(15_000, from);
    // Not before the lease ran out: the hung broker's connection to Redis was still open.
    expect(Number(took.time) - stoppedAt).toBeGreaterThanOrEqual(1000);

    const resumedFrom = a.lines.length;
    a.signal('SIGCONT');
    const fenced = await a.waitFor((l) => l.msg?.startsWith('fencing') === true, 10_000, resumedFrom);
    expect(String(fenced.reason)).toMatch(/lapsed|no longer ours|fenced/);
    await a.waitStandby(10_000, resumedFrom);
    await client.closed;
    expect(client.frames.map((f) => f.command)).not.toContain('RECEIPT');
    await device.raw.closed;
    const said = device.raw.packets.items.map((p) => p.cmd);
    expect(said).not.toContain('puback');
    expect((device.raw.packets.items.find((p) => p.cmd === 'disconnect') as IDisconnectPacket | undefined)?.reasonCode).toBe(0x8b);
    expect(a.lines.slice(resumedFrom).some((l) => l.msg === 'broker stopped')).toBe(false);

    const r = new Redis(redis.url);
    try {
      expect(await r.zcard(new Keys('stop').queue('late'))).toBe(0);
    } finally {
      r.disconnect();
    }
    expect(await a.health()).toMatchObject({ status: 503, body: { role: 'standby' } });
    await expect.poll(async () => (await a.health()).body.holder, { timeout: 5000 }).toMatchObject({ node: 'spare' });
    expect(await refused(a.ports.stomp)).toBe(true);
    expect(await b.health()).toMatchObject({ status: 200, body: { role: 'active', node: 'spare' } });
  });
});

describe('a Redis that comes back without its data', () => {
  it('makes the active step down, dropping its connections, and take a new lease on what Redis now holds', async () => {
    let own = await startRedis();
    const a = await BrokerProcess.start('alone', own.url, { cluster: 'lost', ha: HA });
    brokers.push(a);
    await a.waitActive();
    const client = await RawStomp.connect(a.ports.stomp, { 'accept-version': '1.2', host: '/' });
    client.send('SEND', { destination: '/queue/kept', persistent: 'true', receipt: 'r1' }, 'before');
    await client.expect('RECEIPT');
    const from = a.lines.length;
    await own.stop();
    own = await startRedis(own.port);
    try {
      const fenced = await a.waitFor((l) => l.msg?.startsWith('fencing') === true, 15_000, from);
      expect(String(fenced.reason)).toMatch(/lost this cluster's data|no longer ours|fenced/);
      // It says what went: the message it had stored, in its queue.
      const lost = await a.waitFor((l) => l.msg?.startsWith("the store lost this cluster's data:") === true, 15_000, from);
      expect(lost.lost).toMatchObject({ messages: 1, queues: 1 });
      await a.waitActive(15_000, from);
      await client.closed;
      expect((await a.health()).body).toMatchObject({ role: 'active', status: 'ok' });
    } finally {
      await a.stop();
      await own.stop();
    }
  });
});

describe('a Redis flushed under an active broker and its standby', () => {
  it('the active says what was lost (messages, queues, durable subscriptions), counted in /metrics; the standby knows its epoch went back', async () => {
    const own = await startRedis();
    const a = await BrokerProcess.start('flushed', own.url, { cluster: 'flush', ha: HA });
    brokers.push(a);
    await a.waitActive();
    const b = await BrokerProcess.start('flush-spare', own.url, { cluster: 'flush', ha: HA });
    brokers.push(b);
    await expect.poll(async () => (await b.health()).body.holder, { timeout: 5000 }).toMatchObject({ node: 'flushed' });
    try {
      const client = await RawStomp.connect(a.ports.stomp, { 'accept-version': '1.2', host: '/' });
      for (let i = 0; i < 3; i++) {
        client.send('SEND', { destination: '/queue/flushed', persistent: 'true', receipt: `r${i}` }, `m${i}`);
        await client.expect('RECEIPT');
      }
      const durable = await RawStomp.connect(a.ports.stomp, { 'accept-version': '1.2', host: '/', 'client-id': 'reader' });
      durable.send('SUBSCRIBE', { id: 'd', destination: '/topic/news', 'activemq.subscriptionName': 'keep', receipt: 's' });
      await durable.expect('RECEIPT');
      const [fromA, fromB] = [a.lines.length, b.lines.length];
      const admin = new Redis(own.url);
      await admin.flushall();
      admin.disconnect();
      const lost = await a.waitFor((l) => l.msg?.startsWith("the store lost this cluster's data:") === true, 15_000, fromA);
      expect(lost.lost).toMatchObject({ messages: 3, subscriptions: 1 });
      expect(lost.level).toBe(50);
      // Whoever serves next starts on the empty store; the standby, if it is the one, says its epoch went back.
      await expect
        .poll(async () => [(await a.health()).body.role, (await b.health()).body.role].includes('active'), { timeout: 15_000 })
        .toBe(true);
      const active = (await a.health()).body.role === 'active' ? a : b;
      if (active === b)
        expect(
          b.lines.slice(fromB).some((l) => l.msg?.startsWith("the store lost this cluster's data before this activation") === true),
        ).toBe(true);
      const metrics = await fetch(`http://127.0.0.1:${a.ports.admin}/metrics`).then((r) => r.text());
      expect(metrics).toMatch(/^junction_store_data_lost_total 1$/m);
      expect(metrics).toMatch(/^junction_store_lost_messages_total 3$/m);
    } finally {
      await own.stop();
    }
  });
});
