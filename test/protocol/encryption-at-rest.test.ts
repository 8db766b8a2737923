// Encryption at rest through the whole broker: markers sent over every protocol (STOMP body and
// header, AMQP body and application property, MQTT queued for an absent persistent session,
// retained by mosquitto_pub, and a will) are nowhere in Redis, neither in what it holds nor in its
// append-only file, in plain text or base64; and every message comes back intact, to consumers
// and after a broker restart. A keyring missing the key stops the next start with what to fix.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JunctionServer } from '../../src/server.ts';
import { AmqpClient } from '../helpers/amqp.ts';
import { connectMqtt } from '../helpers/mqtt.ts';
import { dumpRedis } from '../helpers/redis-dump.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { startAllProtocols } from '../helpers/server.ts';
import { RawStomp } from '../helpers/stomp.ts';

const run = promisify(execFile);
const MARKERS = [
  'MARK-STOMP-BODY',
  'MARK-STOMP-HEADER',
  'MARK-AMQP-BODY',
  'MARK-AMQP-PROPERTY',
  'MARK-MQTT-QUEUED',
  'MARK-MQTT-RETAINED',
  'MARK-MQTT-WILL',
];

const dir = mkdtempSync(join(tmpdir(), 'junction-sealed-'));
const keyFile = join(dir, 'k1.key');
writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`);
const redisDir = mkdtempSync(join(tmpdir(), 'junction-sealed-redis-'));
let redis: TestRedis;
let admin: Redis;
let server: JunctionServer | undefined;
const closers: Array<() => void> = [];

function start(keys: Array<{ id: string; file: string }> = [{ id: 'k1', file: keyFile }]): Promise<{ server: JunctionServer }> {
  return startAllProtocols({ store: { type: 'redis', redis: { url: redis.url } }, security: { encryption: { keys } } });
}

beforeAll(async () => {
  redis = await startRedis(undefined, { dataDir: redisDir });
  admin = new Redis(redis.url);
});

afterAll(async () => {
  for (const c of closers.splice(0)) c();
  await server?.stop();
  await admin?.quit();
  await redis?.stop();
});

const port = (protocol: string): number => (server as JunctionServer).listeners.port(protocol, 'tcp') as number;

/** What Redis holds and its append-only files, as text to search. */
async function atRest(): Promise<string> {
  const aofDir = join(redisDir, 'appendonlydir');
  const files = readdirSync(aofDir).map((f) => readFileSync(join(aofDir, f)));
  return Buffer.concat([await dumpRedis(admin), ...files]).toString('latin1');
}

describe('encryption at rest', () => {
  it('keeps every marker out of Redis and its files, and hands every message back intact', async () => {
    ({ server } = await start());
    const mqttUrl = `mqtt://127.0.0.1:${port('mqtt')}`;
    const device = await connectMqtt(mqttUrl, { clientId: 'sealed-device', clean: false });
    await device.client.subscribeAsync('fleet/d1/#', { qos: 1 });
    await device.client.endAsync();
    const publisher = await connectMqtt(mqttUrl, { clientId: 'sealed-publisher' });
    await publisher.client.publishAsync('fleet/d1/cmd', 'MARK-MQTT-QUEUED', { qos: 1 });
    await publisher.client.endAsync();
    await run('mosquitto_pub', ['-p', String(port('mqtt')), '-t', 'fleet/d1/config', '-m', 'MARK-MQTT-RETAINED', '-r', '-q', '1']);
    const willing: { client: MqttClient } = await connectMqtt(mqttUrl, {
      clientId: 'sealed-will',
      will: { topic: 'fleet/d1/gone', payload: Buffer.from('MARK-MQTT-WILL'), qos: 1, retain: false },
    });
    closers.push(() => willing.client.end(true));

    const stomp = await RawStomp.connect(port('stomp'));
    closers.push(() => stomp.close());
    stomp.send(
      'SEND',
      { destination: '/queue/sealed.orders', persistent: 'true', card: 'MARK-STOMP-HEADER', receipt: 's' },
      'MARK-STOMP-BODY',
    );
    await stomp.expect('RECEIPT');

    const amqp = await AmqpClient.connect(port('amqp'));
    closers.push(() => amqp.close());
    const sender = await amqp.sender('sealed.amqp');
    expect(
      (await amqp.send(sender, { body: 'MARK-AMQP-BODY', durable: true, application_properties: { secret: 'MARK-AMQP-PROPERTY' } }))
        .outcome,
    ).toBe('accepted');

    const text = await atRest();
    for (const m of MARKERS) {
      expect(text.includes(m), m).toBe(false);
      expect(text.includes(Buffer.from(m).toString('base64').slice(0, 16)), `${m} in base64`).toBe(false);
    }
    expect(text).toContain('sealed.orders'); // the scan reads what Redis holds: names are there, contents are not

    // A restart reads everything back through the keyring.
    await server.stop();
    ({ server } = await start());
    const back = await connectMqtt(`mqtt://127.0.0.1:${port('mqtt')}`, { clientId: 'sealed-device', clean: false });
    closers.push(() => back.client.end(true));
    const queued = await back.got.nth(1);
    expect([queued.topic, queued.payload.toString()]).toEqual(['fleet/d1/cmd', 'MARK-MQTT-QUEUED']);
    const fresh = await connectMqtt(`mqtt://127.0.0.1:${port('mqtt')}`, { clientId: 'sealed-reader' });
    closers.push(() => fresh.client.end(true));
    await fresh.client.subscribeAsync('fleet/d1/config', { qos: 1 });
    expect((await fresh.got.nth(1)).payload.toString()).toBe('MARK-MQTT-RETAINED');

    const reader = await RawStomp.connect(port('stomp'));
    closers.push(() => reader.close());
    reader.send('SUBSCRIBE', { id: '1', destination: '/queue/sealed.orders' });
    const frame = await reader.expect('MESSAGE');
    expect([frame.body.toString(), frame.headers.get('card')]).toEqual(['MARK-STOMP-BODY', 'MARK-STOMP-HEADER']);

    const consumer = await AmqpClient.connect(port('amqp'));
    closers.push(() => consumer.close());
    const { got } = await consumer.receiver({ source: { address: 'sealed.amqp' } });
    const received = (await got.nth(1)).message;
    expect([received.body, received.application_properties?.secret]).toEqual(['MARK-AMQP-BODY', 'MARK-AMQP-PROPERTY']);
  });

  it('refuses to start without the key that sealed the stored values, saying which', async () => {
    await server?.stop();
    server = undefined;
    const other = join(dir, 'k2.key');
    writeFileSync(other, randomBytes(32));
    await expect(start([{ id: 'k2', file: other }])).rejects.toThrow(/sealed with key 'k1', which security\.encryption\.keys lacks/);
    await expect(start([{ id: 'k1', file: other }])).rejects.toThrow(/Key 'k1' in security\.encryption\.keys is not the key that sealed/);
    await expect(startAllProtocols({ store: { type: 'redis', redis: { url: redis.url } } })).rejects.toThrow(
      /values sealed with key\(s\) 'k1': configure them/,
    );
  });
});
