// A Redis outage in the middle of a stream: redis-server (its append-only file synced on every
// write) is killed with SIGKILL while a STOMP consumer acknowledges messages, and started again on
// the same port and directory. Sends during the outage are refused at once with an ERROR, /health
// answers 503, acknowledgements made meanwhile reach Redis once it is back, and a broker started
// afterwards on the same Redis finds nothing that was acknowledged.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { boundPort } from '../../src/admin/admin-server.ts';
import { RedisStore } from '../../src/store/redis/redis-store.ts';
import { AmqpClient } from '../helpers/amqp.ts';
import { CapturedLog } from '../helpers/log.ts';
import { connectMqtt } from '../helpers/mqtt.ts';
import { startAllProtocols } from '../helpers/server.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { RawStomp, startStompServer, type StompTestServer } from '../helpers/stomp.ts';

const cluster = 'outage';
let redis: TestRedis | undefined;
let broker: StompTestServer | undefined;
const clients: RawStomp[] = [];
const mqttClients: MqttClient[] = [];
const amqpClients: AmqpClient[] = [];
let stopServer: (() => Promise<void>) | undefined;
let dir = '';

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const c of mqttClients.splice(0)) c.end(true);
  for (const c of amqpClients.splice(0)) c.close();
  await stopServer?.();
  stopServer = undefined;
  await broker?.stop();
  broker = undefined;
  await redis?.stop();
  redis = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function startBroker(url: string, log: CapturedLog): Promise<StompTestServer> {
  const store = new RedisStore({ url, cluster, epoch: await RedisStore.claimEpoch({ url }, cluster) });
  return startStompServer({ admin: { enabled: true, host: '127.0.0.1', port: 0 } }, store, log.log);
}

async function health(s: StompTestServer): Promise<{ code: number; body: Record<string, unknown> }> {
  const r = await fetch(`http://127.0.0.1:${boundPort(s.server.admin!)}/health`);
  return { code: r.status, body: (await r.json()) as Record<string, unknown> };
}

/** Polls /health until it answers `code`; fails after `timeoutMs`. */
async function healthBecomes(s: StompTestServer, code: number, timeoutMs = 10_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const h = await health(s);
    if (h.code === code) return h.body;
    if (Date.now() > deadline) throw new Error(`/health still ${h.code} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function connect(port: number): Promise<RawStomp> {
  const c = await RawStomp.connect(port);
  clients.push(c);
  return c;
}

describe('a Redis outage mid-stream', () => {
  it('refuses sends fast, reports 503, and writes the acknowledgements made meanwhile once Redis is back', async () => {
    dir = mkdtempSync(join(tmpdir(), 'junction-outage-'));
    redis = await startRedis(undefined, { dataDir: dir });
    const port = redis.port;
    const log = new CapturedLog();
    broker = await startBroker(redis.url, log);

    const producer = await connect(broker.port);
    const total = 60;
    for (let i = 0; i < total; i++) {
      producer.send('SEND', { destination: '/queue/work', persistent: 'true', receipt: `r${i}` }, `m${i}`);
    }
    for (let i = 0; i < total; i++) expect((await producer.expect('RECEIPT')).headers.get('receipt-id')).toBe(`r${i}`);

    const consumer = await connect(broker.port);
    consumer.send('SUBSCRIBE', { id: 's', destination: '/queue/work', ack: 'client-individual', 'activemq.prefetchSize': '5' });
    const acked: string[] = [];
    const takeAndAck = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const m = await consumer.expect('MESSAGE');
        acked.push(m.body.toString());
        consumer.send('ACK', { id: m.headers.get('ack')! });
      }
    };
    await takeAndAck(20);

    await redis.kill();
    expect((await healthBecomes(broker, 503)).store).toBe('unavailable');

    // Deliveries go on from memory; their acknowledgements cannot reach Redis now.
    await takeAndAck(20);
    producer.send('SEND', { destination: '/queue/work', persistent: 'true', receipt: 'during' }, 'during-outage');
    const refused = await producer.expect('ERROR', 3000);
    expect(refused.headers.get('receipt-id')).toBe('during');
    expect(refused.headers.get('message')).toMatch(/unavailable/i);
    expect(await health(broker)).toMatchObject({ code: 503 });

    redis = await startRedis(port, { dataDir: dir });
    await log.waitFor((l) => l.msg === 'store available again: held writes are in');
    await healthBecomes(broker, 200);

    await takeAndAck(total - 40);
    expect(new Set(acked).size).toBe(total);
    consumer.send('DISCONNECT', { receipt: 'bye' });
    await consumer.expect('RECEIPT');
    await broker.stop();
    broker = undefined;

    // Nothing acknowledged is left in Redis for the next broker to deliver again.
    const check = new RedisStore({ url: redis.url, cluster, epoch: 0 });
    await check.open().catch(() => {}); // fenced (epoch 0): it only reads
    expect(await check.stats()).toMatchObject({ messages: 0, entries: 0 });
    await check.close();

    broker = await startBroker(redis.url, new CapturedLog());
    const next = await connect(broker.port);
    next.send('SUBSCRIBE', { id: 's', destination: '/queue/work', receipt: 'sub' });
    await next.expect('RECEIPT');
    const probe = await connect(broker.port);
    probe.send('SEND', { destination: '/queue/work', persistent: 'true' }, 'after-restart');
    expect((await next.expect('MESSAGE')).body.toString()).toBe('after-restart');
  }, 60_000);
});

describe('publishes during a Redis outage, per protocol', () => {
  it('MQTT QoS 1 is refused by closing the connection (3.1.1), AMQP with rejected; non-persistent traffic goes on', async () => {
    redis = await startRedis();
    const url = redis.url;
    const store = new RedisStore({ url, cluster, epoch: await RedisStore.claimEpoch({ url }, cluster) });
    const { server } = await startAllProtocols({}, store);
    stopServer = () => server.stop();
    const listener = await connectMqtt(`mqtt://127.0.0.1:${server.listeners.port('mqtt', 'tcp')!}`, { clientId: 'listener' });
    await listener.client.subscribeAsync('live/#', { qos: 0 });
    // A persistent session's subscription is durable: QoS 1 messages for it must be stored.
    const archiver = await connectMqtt(`mqtt://127.0.0.1:${server.listeners.port('mqtt', 'tcp')!}`, { clientId: 'archiver', clean: false });
    await archiver.client.subscribeAsync('sensors/#', { qos: 1 });
    mqttClients.push(archiver.client);
    const { client: device } = await connectMqtt(`mqtt://127.0.0.1:${server.listeners.port('mqtt', 'tcp')!}`, { clientId: 'device' });
    const amqp = await AmqpClient.connect(server.listeners.port('amqp', 'tcp')!);
    const sender = await amqp.sender({ target: { address: 'queue://orders' } });
    mqttClients.push(listener.client, device);
    amqpClients.push(amqp);

    await redis.kill();
    await vi.waitFor(() => expect(server.broker.storeAvailable).toBe(false), { timeout: 5000, interval: 20 });

    const refused = await amqp.send(sender, { body: 'order', durable: true });
    expect(refused).toMatchObject({ outcome: 'rejected', error: { condition: 'amqp:internal-error' } });
    expect(refused.error?.description).toMatch(/^Redis is unavailable/);

    // A QoS 0 publish to a subscriber's non-durable subscription needs no store.
    device.publish('live/temp', '21', { qos: 0 });
    expect((await listener.got.nth(1)).payload.toString()).toBe('21');

    const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));
    device.publish('sensors/temp', '22', { qos: 1 });
    await closed;
    expect(archiver.got.items).toEqual([]);
    expect(server.broker.getQueue('orders')?.messages ?? 0).toBe(0);
  }, 30_000);
});
