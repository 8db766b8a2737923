// Authorization for fleets, over every protocol: one rule per fleet (`devices.%u.>` by user,
// `clients.%c.>` by client id) instead of one per device. A device may publish only under its own
// subtree; a wildcard subscription wider than its rights is granted but delivers only its own
// topics (as Mosquitto's pattern ACLs do), also after a broker restart for a persistent MQTT
// session; a filter that shares nothing with its rights is refused (MQTT 3.1.1 SUBACK 0x80, MQTT 5
// 0x87). Clients: mqtt.js (3.1.1 and 5), mosquitto_sub/pub, raw STOMP frames and rhea.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { MqttClient } from 'mqtt';
import type { EventContext } from 'rhea';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/security/password.ts';
import type { JunctionServer } from '../../src/server.ts';
import { MemoryData, MemoryStore } from '../../src/store/memory-store.ts';
import { AmqpClient } from '../helpers/amqp.ts';
import { connectMqtt, endMqtt, type Got } from '../helpers/mqtt.ts';
import type { Collector } from '../helpers/collector.ts';
import { startAllProtocols } from '../helpers/server.ts';
import { RawStomp } from '../helpers/stomp.ts';

const run = promisify(execFile);
const PASSWORD = 'fleet-pw';
let security: Record<string, unknown>;
let server: JunctionServer | undefined;
const mqttClients: MqttClient[] = [];
const closers: Array<{ close(): void }> = [];

beforeAll(async () => {
  const hash = await hashPassword(PASSWORD);
  security = {
    users: [
      { username: 'u1', passwordHash: hash, groups: ['devices'] },
      { username: 'u2', passwordHash: hash, groups: ['devices'] },
      { username: 'ops', passwordHash: hash, groups: ['ops'] },
    ],
    authorization: [
      { topic: 'devices.%u.>', read: ['devices'], write: ['devices'], admin: ['devices'] },
      { topic: 'clients.%c.>', read: ['devices'], write: ['devices'], admin: ['devices'] },
      { topic: '>', read: ['ops'], write: ['ops'], admin: ['ops'] },
    ],
  };
});

afterEach(async () => {
  for (const c of mqttClients.splice(0)) c.end(true);
  for (const c of closers.splice(0)) c.close();
  await server?.stop();
  server = undefined;
});

async function start(store?: MemoryStore): Promise<JunctionServer> {
  ({ server } = await startAllProtocols({ security }, store));
  return server;
}

const port = (s: JunctionServer, protocol: string): number => s.listeners.port(protocol, 'tcp') as number;

async function mqttAs(
  s: JunctionServer,
  username: string,
  opts: Record<string, unknown> = {},
): Promise<{ client: MqttClient; got: Collector<Got> }> {
  const c = await connectMqtt(`mqtt://127.0.0.1:${port(s, 'mqtt')}`, { username, password: PASSWORD, ...opts });
  mqttClients.push(c.client);
  return c;
}

/** The SUBACK's codes for these filters (mqtt.js rejects a SUBACK with any refusal in it, and carries it on the error). */
function granted(client: MqttClient, filters: string[]): Promise<number[]> {
  return new Promise((resolve, reject) =>
    client.subscribe(filters, { qos: 1 }, (err, grants) => {
      const suback = (err as { packet?: { granted: Array<number | { qos: number }> } } | null)?.packet;
      if (suback) resolve(suback.granted.map((g) => (typeof g === 'number' ? g : g.qos)));
      else if (err) reject(err);
      else resolve((grants ?? []).map((g) => g.qos));
    }),
  );
}

/** ops publishes to another device's topic, then to the subscriber's: what arrives first tells whether the other was routed. */
async function publishBoth(s: JunctionServer, own: string, other: string): Promise<void> {
  const ops = await mqttAs(s, 'ops');
  await ops.client.publishAsync(other, 'not yours', { qos: 1 });
  await ops.client.publishAsync(own, 'yours', { qos: 1 });
}

describe('fleet authorization patterns', () => {
  it('MQTT 3.1.1: a device publishes and reads under its own subtree only; devices/# brings only its own', async () => {
    const s = await start();
    const u1 = await mqttAs(s, 'u1');
    expect(await granted(u1.client, ['devices/#', 'other/#'])).toEqual([1, 128]);
    await publishBoth(s, 'devices/u1/cmd', 'devices/u2/cmd');
    const first = await u1.got.nth(1);
    expect([first.topic, first.payload.toString()]).toEqual(['devices/u1/cmd', 'yours']);
    await u1.client.publishAsync('devices/u1/temp', '21.5', { qos: 1 });
    // MQTT 3.1.1 has no negative PUBACK: a forbidden publish closes the connection.
    const closed = new Promise<void>((resolve) => u1.client.once('close', () => resolve()));
    u1.client.publish('devices/u2/temp', 'forged', { qos: 1 });
    await closed;
  });

  it('MQTT: retained messages under devices/# come only from the own subtree', async () => {
    const s = await start();
    const ops = await mqttAs(s, 'ops');
    await ops.client.publishAsync('devices/u2/config', 'not yours', { qos: 1, retain: true });
    await ops.client.publishAsync('devices/u1/config', 'yours', { qos: 1, retain: true });
    const u1 = await mqttAs(s, 'u1');
    expect(await granted(u1.client, ['devices/#'])).toEqual([1]);
    await ops.client.publishAsync('devices/u1/after', 'live', { qos: 1 });
    const [first, second] = [await u1.got.nth(1), await u1.got.nth(2)];
    expect([first, second].map((g) => [g.topic, g.payload.toString()])).toEqual([
      ['devices/u1/config', 'yours'],
      ['devices/u1/after', 'live'],
    ]);
  });

  it('MQTT 5: a forbidden publish gets PUBACK 0x87 and a filter sharing nothing SUBACK 0x87; %c names the client', async () => {
    const s = await start();
    const dev = await mqttAs(s, 'u2', { protocolVersion: 5, clientId: 'dev-9' });
    expect(await granted(dev.client, ['clients/dev-9/#', 'clients/dev-8/#', 'devices/#'])).toEqual([1, 135, 1]);
    await expect(dev.client.publishAsync('devices/u1/temp', 'forged', { qos: 1 })).rejects.toMatchObject({ code: 135 });
    await publishBoth(s, 'clients/dev-9/cmd', 'clients/dev-8/cmd');
    expect((await dev.got.nth(1)).topic).toBe('clients/dev-9/cmd');
  });

  it('mosquitto_sub: a persistent session on devices/# queues only its own while away, across a broker restart', async () => {
    const data = new MemoryData();
    let s = await start(new MemoryStore(1, data));
    const sub = (extra: string[]) =>
      run(
        'mosquitto_sub',
        ['-p', String(port(s, 'mqtt')), '-u', 'u1', '-P', PASSWORD, '-t', 'devices/#', '-q', '1', '-c', '-i', 'u1-dev', '-v', ...extra],
        {
          timeout: 10_000,
        },
      );
    await sub(['-E']);
    await s.stop();
    s = await start(new MemoryStore(2, data));
    await publishBoth(s, 'devices/u1/cmd', 'devices/u2/cmd');
    expect((await sub(['-C', '1'])).stdout).toBe('devices/u1/cmd yours\n');
  });

  it('STOMP: SEND outside the subtree is an ERROR; /topic/devices.> delivers only the own subtree', async () => {
    const s = await start();
    const stomp = await RawStomp.connect(port(s, 'stomp'), { login: 'u1', passcode: PASSWORD });
    closers.push({ close: () => stomp.socket.destroy() });
    stomp.send('SUBSCRIBE', { id: '1', destination: '/topic/devices.>', receipt: 'sub' });
    await stomp.expect('RECEIPT');
    await publishBoth(s, 'devices/u1/cmd', 'devices/u2/cmd');
    const m = await stomp.expect('MESSAGE');
    expect([m.headers.get('destination'), m.body.toString()]).toEqual(['/topic/devices.u1.cmd', 'yours']);
    stomp.send('SEND', { destination: '/topic/devices.u2.cmd', receipt: 'send' }, 'forged');
    const error = await stomp.expect('ERROR');
    expect(error.headers.get('message')).toMatch(/User u1 is not authorized to write to topic:\/\/devices\.u2\.cmd/);
  });

  it('AMQP: a receiver on topic://devices.> gets only the own subtree; a sender outside it is refused', async () => {
    const s = await start();
    const amqp = await AmqpClient.connect(port(s, 'amqp'), { username: 'u1', password: PASSWORD });
    closers.push(amqp);
    const { got } = await amqp.receiver({ source: 'topic://devices.>', credit_window: 10 });
    await publishBoth(s, 'devices/u1/cmd', 'devices/u2/cmd');
    const m = await got.nth(1);
    expect(Buffer.from((m.message.body as { content: Buffer }).content).toString()).toBe('yours');
    m.delivery.accept();
    // AMQP authorizes a sending link when it attaches.
    const denied = amqp.conn.open_sender('topic://devices.u2.cmd');
    const condition = await new Promise<string>((resolve) =>
      denied.once('sender_error', (e: EventContext) => resolve(String((e.sender?.error as { condition?: string } | undefined)?.condition))),
    );
    expect(condition).toBe('amqp:unauthorized-access');
  });
});

afterAll(() => {
  for (const c of mqttClients) void endMqtt(c);
});
