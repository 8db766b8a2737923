// A fleet of 1,000 MQTT devices under one authorization rule (`clients.%c.>`): each subscribes to
// the whole fleet's tree and publishes to its own topic, and each receives exactly its own
// message and no other device's. The devices are raw MQTT 3.1.1 clients (mqtt-packet on plain
// sockets), so the thousand fit in one test process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JunctionServer } from '../../src/server.ts';
import { RawMqtt } from '../helpers/mqtt.ts';
import { startAllProtocols } from '../helpers/server.ts';

const DEVICES = 1000;
let server: JunctionServer;
const devices: RawMqtt[] = [];

beforeAll(async () => {
  ({ server } = await startAllProtocols({
    security: {
      allowAnonymous: true,
      anonymousGroups: ['devices'],
      authorization: [{ topic: 'clients.%c.>', read: ['devices'], write: ['devices'], admin: ['devices'] }],
    },
  }));
});

afterAll(async () => {
  for (const d of devices) d.close();
  await server?.stop();
});

describe('a fleet under one pattern', () => {
  it('1,000 devices on clients/# each receive only their own message', { timeout: 120_000 }, async () => {
    const port = server.listeners.port('mqtt', 'tcp') as number;
    for (let i = 0; i < DEVICES; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, DEVICES - i) }, async (_, j) => {
          const { raw, connack } = await RawMqtt.connect(port, { clientId: `dev-${i + j}` });
          expect(connack.returnCode).toBe(0);
          raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'clients/#', qos: 1 }] });
          expect(((await raw.next('suback', 20_000)) as { granted: number[] }).granted).toEqual([1]);
          return raw;
        }),
      );
      devices.push(...batch);
    }
    const publishAll = (suffix: string, firstId: number): void =>
      devices.forEach((d, i) =>
        d.send({
          cmd: 'publish',
          topic: `clients/dev-${i}/${suffix}`,
          payload: `${suffix}-${i}`,
          qos: 1,
          messageId: firstId + i,
          retain: false,
          dup: false,
        }),
      );
    const nextPublish = async (d: RawMqtt): Promise<string> => {
      const p = (await d.next('publish', 30_000)) as { topic: string; payload: Buffer; qos: number; messageId?: number };
      if (p.qos > 0) d.send({ cmd: 'puback', messageId: p.messageId });
      return `${p.topic} ${p.payload.toString()}`;
    };
    publishAll('state', 1);
    expect(await Promise.all(devices.map(nextPublish))).toEqual(devices.map((_, i) => `clients/dev-${i}/state state-${i}`));
    // Nothing from another device came between: each one's next message is its own second one.
    publishAll('end', 2);
    expect(await Promise.all(devices.map(nextPublish))).toEqual(devices.map((_, i) => `clients/dev-${i}/end end-${i}`));
  });
});
