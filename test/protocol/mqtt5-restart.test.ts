// MQTT 5 state across a broker restart on the Redis store: a session lives as long as its own
// expiry interval says, restart or not; a message's expiry keeps counting while the broker is down;
// a delayed will left by a broker that stopped is published by the next one after the delay. And
// while Redis is down: no PUBACK for what cannot be stored (DISCONNECT 0x89), CONNACK 0x88.
import type { IConnackPacket, IDisconnectPacket, IPublishPacket } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, endMqtt, RawMqtt, startMqttServer, type MqttTestServer } from '../helpers/mqtt.ts';
import { failFastStore, startRedis, type TestRedis } from '../helpers/redis-server.ts';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const onRedis = (cluster: string): Record<string, unknown> => ({ cluster, store: { type: 'redis', redis: { url: redis.url } } });
const at = (srv: MqttTestServer): string => `mqtt://127.0.0.1:${srv.port}`;

/** Time passing is the subject of these tests: the broker is down while it passes. */
const elapse = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('MQTT 5 on Redis across a restart', () => {
  it('keeps a session within its expiry interval with its messages, minus those whose message expiry passed', async () => {
    let srv = await startMqttServer(onRedis('mqtt5-restart-a'));
    try {
      const dev = await connectMqtt(at(srv), { protocolVersion: 5, clientId: 'v5-sensor', properties: { sessionExpiryInterval: 300 } });
      await dev.client.subscribeAsync('v5cmd/#', { qos: 1 });
      await endMqtt(dev.client);
      const pub = await connectMqtt(at(srv), { protocolVersion: 5 });
      await pub.client.publishAsync('v5cmd/short', 'expires', { qos: 1, properties: { messageExpiryInterval: 1 } });
      await pub.client.publishAsync('v5cmd/long', 'stays', {
        qos: 1,
        properties: { messageExpiryInterval: 600, contentType: 'text/plain' },
      });
      await endMqtt(pub.client);
      await srv.stop();
      await elapse(1100);

      srv = await startMqttServer(onRedis('mqtt5-restart-a'));
      const back = await RawMqtt.connect(srv.port, {
        protocolVersion: 5,
        clientId: 'v5-sensor',
        clean: false,
        properties: { sessionExpiryInterval: 300 },
      });
      try {
        expect(back.connack.sessionPresent).toBe(true);
        const p = (await back.raw.next('publish')) as IPublishPacket;
        expect([p.topic, p.payload.toString(), p.properties?.contentType]).toEqual(['v5cmd/long', 'stays', 'text/plain']);
        expect(p.properties?.messageExpiryInterval).toBeLessThan(600);
        back.raw.send({ cmd: 'puback', messageId: p.messageId, reasonCode: 0 });
        back.raw.send({ cmd: 'pingreq' });
        await back.raw.next('pingresp');
        expect(back.raw.packets.items.filter((x) => x.cmd === 'publish')).toHaveLength(1);
      } finally {
        back.raw.close();
      }
    } finally {
      await srv.stop();
    }
  });

  it('discards a session whose expiry interval passed while the broker was down', async () => {
    let srv = await startMqttServer(onRedis('mqtt5-restart-b'));
    try {
      const dev = await connectMqtt(at(srv), { protocolVersion: 5, clientId: 'v5-brief', properties: { sessionExpiryInterval: 1 } });
      await dev.client.subscribeAsync('brief/#', { qos: 1 });
      await endMqtt(dev.client);
      const keeper = await connectMqtt(at(srv), { protocolVersion: 5, clientId: 'v5-keeper', properties: { sessionExpiryInterval: 300 } });
      await keeper.client.subscribeAsync('keep/#', { qos: 1 });
      await endMqtt(keeper.client);
      await srv.stop();
      await elapse(1100);

      srv = await startMqttServer(onRedis('mqtt5-restart-b'));
      const brief = await RawMqtt.connect(srv.port, {
        protocolVersion: 5,
        clientId: 'v5-brief',
        clean: false,
        properties: { sessionExpiryInterval: 1 },
      });
      expect(brief.connack.sessionPresent).toBe(false);
      brief.raw.close();
      const kept = await RawMqtt.connect(srv.port, {
        protocolVersion: 5,
        clientId: 'v5-keeper',
        clean: false,
        properties: { sessionExpiryInterval: 300 },
      });
      expect(kept.connack.sessionPresent).toBe(true);
      kept.raw.close();
    } finally {
      await srv.stop();
    }
  });

  it('publishes a delayed will the stopped broker left, after the delay, from the next broker', async () => {
    let srv = await startMqttServer(onRedis('mqtt5-restart-c'));
    try {
      const mortal = await connectMqtt(at(srv), {
        protocolVersion: 5,
        clientId: 'v5-mortal',
        properties: { sessionExpiryInterval: 300 },
        will: { topic: 'graves/v5-mortal', payload: Buffer.from('gone'), qos: 1, retain: false, properties: { willDelayInterval: 1 } },
      });
      await srv.stop();
      mortal.client.end(true);

      srv = await startMqttServer(onRedis('mqtt5-restart-c'));
      const watcher = await connectMqtt(at(srv), { protocolVersion: 5 });
      await watcher.client.subscribeAsync('graves/#', { qos: 1 });
      const got = await watcher.got.nth(1, 5000);
      expect([got.topic, got.payload.toString()]).toEqual(['graves/v5-mortal', 'gone']);
      await endMqtt(watcher.client);
    } finally {
      await srv.stop();
    }
  });
});

describe('MQTT 5 on Redis when Redis is down', () => {
  it('a QoS 1 publish that cannot be stored gets DISCONNECT 0x89 and no PUBACK; a session cannot open (CONNACK 0x88)', async () => {
    const own = await startRedis();
    const srv = await startMqttServer({}, failFastStore(own.url, 'mqtt5-down'));
    try {
      const dev = await RawMqtt.connect(srv.port, {
        protocolVersion: 5,
        clientId: 'v5-keeps-it',
        properties: { sessionExpiryInterval: 300 },
      });
      dev.raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'down5/t', qos: 1 }] });
      await dev.raw.next('suback');
      const pub = await RawMqtt.connect(srv.port, { protocolVersion: 5, clientId: 'v5-publisher' });
      await own.stop();
      pub.raw.send({ cmd: 'publish', topic: 'down5/t', payload: Buffer.from('not stored'), qos: 1, messageId: 9 });
      const d = (await pub.raw.next('disconnect')) as IDisconnectPacket;
      expect(d.reasonCode).toBe(0x89);
      await pub.raw.closed;
      expect(pub.raw.packets.items.some((p) => p.cmd === 'puback')).toBe(false);
      dev.raw.close();
      const later = await RawMqtt.connect(srv.port, {
        protocolVersion: 5,
        clientId: 'v5-keeps-it',
        clean: false,
        properties: { sessionExpiryInterval: 300 },
      });
      expect((later.connack as IConnackPacket).reasonCode).toBe(0x88);
      await later.raw.closed;
    } finally {
      await srv.stop();
      await own.stop();
    }
  });
});
