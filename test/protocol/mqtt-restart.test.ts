// MQTT state across broker restarts on the Redis store: a graceful restart, and a broker process
// killed with SIGKILL. Persistent sessions keep their subscriptions and offline messages, retained
// messages stay, a QoS 2 exchange in progress stays exactly-once, and the will of a client whose
// broker died is published by the next broker.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { IConnackPacket, IPublishPacket } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, endMqtt, RawMqtt, startMqttServer } from '../helpers/mqtt.ts';
import { failFastStore, startRedis, type TestRedis } from '../helpers/redis-server.ts';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const onRedis = (cluster: string): Record<string, unknown> => ({ cluster, store: { type: 'redis', redis: { url: redis.url } } });

describe('MQTT on Redis across a graceful restart', () => {
  it('keeps persistent sessions, their offline QoS 1 messages and the retained messages', async () => {
    let srv = await startMqttServer(onRedis('mqtt-graceful'));
    try {
      const dev = await connectMqtt(`mqtt://127.0.0.1:${srv.port}`, { clientId: 'sensor-9', clean: false });
      await dev.client.subscribeAsync('cmd/sensor-9/#', { qos: 1 });
      await endMqtt(dev.client);
      const pub = await connectMqtt(`mqtt://127.0.0.1:${srv.port}`);
      await pub.client.publishAsync('cmd/sensor-9/reboot', 'reboot', { qos: 1 });
      await pub.client.publishAsync('cmd/sensor-9/config', 'interval=5', { qos: 1 });
      await pub.client.publishAsync('fw/latest', '2.4.1', { qos: 1, retain: true });
      await endMqtt(pub.client);
      await srv.stop();

      srv = await startMqttServer(onRedis('mqtt-graceful'));
      const back = await connectMqtt(`mqtt://127.0.0.1:${srv.port}`, { clientId: 'sensor-9', clean: false });
      await back.got.nth(2);
      expect(back.got.items.map((g) => [g.topic, g.payload.toString()])).toEqual([
        ['cmd/sensor-9/reboot', 'reboot'],
        ['cmd/sensor-9/config', 'interval=5'],
      ]);
      await back.client.subscribeAsync('fw/+', { qos: 1 });
      const fw = await back.got.nth(3);
      expect([fw.topic, fw.payload.toString(), fw.packet.retain]).toEqual(['fw/latest', '2.4.1', true]);
      await endMqtt(back.client);
    } finally {
      await srv.stop();
    }
  });
});

describe('MQTT on Redis when Redis is down', () => {
  it('a QoS 1 publish that cannot be stored gets no PUBACK (the client keeps it), and a new session gets CONNACK 3', async () => {
    const own = await startRedis();
    const srv = await startMqttServer({}, failFastStore(own.url, 'mqtt-down'));
    try {
      // A persistent session makes the topic's messages durable, so they must reach Redis.
      const dev = await RawMqtt.connect(srv.port, { clientId: 'keeps-it', clean: false });
      dev.raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'down/t', qos: 1 }] });
      await dev.raw.next('suback');
      const pub = await RawMqtt.connect(srv.port, { clientId: 'publisher' });
      await own.stop();
      pub.raw.send({ cmd: 'publish', topic: 'down/t', payload: Buffer.from('not stored'), qos: 1, messageId: 9 });
      await pub.raw.closed;
      expect(pub.raw.packets.items.some((p) => p.cmd === 'puback')).toBe(false);
      dev.raw.close();
      // A session cannot be loaded either: CONNACK 3, server unavailable.
      const later = await RawMqtt.connect(srv.port, { clientId: 'keeps-it', clean: false });
      expect(later.connack.returnCode).toBe(3);
      await later.raw.closed;
    } finally {
      await srv.stop();
      await own.stop();
    }
  });
});

describe('MQTT on Redis when the broker process is killed', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
  });

  async function startChild(cluster: string): Promise<number> {
    child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, '../fixtures/mqtt-broker-process.ts'), redis.url, cluster],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const line = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`broker process gave no port: ${err}`)), 15_000);
      createInterface({ input: child!.stdout! }).once('line', (l) => {
        clearTimeout(t);
        resolve(l);
      });
      child!.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`broker process exited with ${code}: ${err}`));
      });
    });
    return Number(line);
  }

  async function kill(): Promise<void> {
    const c = child!;
    const gone = once(c, 'exit');
    c.kill('SIGKILL');
    await gone;
    child = undefined;
  }

  it('the next broker publishes the wills, delivers the offline backlog and finishes a QoS 2 exchange once', async () => {
    const port = await startChild('mqtt-crash');
    // A persistent subscriber that goes away, a client with a will that stays connected, and a
    // QoS 2 publisher that has its PUBREC but has not sent PUBREL.
    const dev = await RawMqtt.connect(port, { clientId: 'meter-1', clean: false });
    dev.raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'alerts/#', qos: 1 }] });
    await dev.raw.next('suback');
    dev.raw.send({ cmd: 'disconnect' });
    await dev.raw.closed;
    const withWill = await RawMqtt.connect(port, {
      clientId: 'gateway-7',
      will: { topic: 'alerts/gateway-7', payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    const q2 = await RawMqtt.connect(port, { clientId: 'qos2-pub', clean: false });
    const publish = {
      cmd: 'publish',
      topic: 'alerts/qos2',
      payload: Buffer.from('exactly once'),
      qos: 2,
      messageId: 42,
      retain: false,
      dup: false,
    };
    q2.raw.send(publish);
    await q2.raw.next('pubrec');
    const pub = await RawMqtt.connect(port, { clientId: 'alerter' });
    pub.raw.send({ cmd: 'publish', topic: 'alerts/fire', payload: Buffer.from('fire in hall 2'), qos: 1, messageId: 5 });
    await pub.raw.next('puback');
    await kill();
    for (const c of [withWill.raw, q2.raw, pub.raw]) c.close();

    const srv = await startMqttServer(onRedis('mqtt-crash'));
    try {
      const again = await RawMqtt.connect(srv.port, { clientId: 'qos2-pub', clean: false });
      expect(again.connack.returnCode).toBe(0);
      again.raw.send({ ...publish, dup: true });
      await again.raw.next('pubrec');
      again.raw.send({ cmd: 'pubrel', messageId: 42 });
      await again.raw.next('pubcomp');
      const back = await RawMqtt.connect(srv.port, { clientId: 'meter-1', clean: false });
      expect((back.connack as IConnackPacket).sessionPresent).toBe(true);
      const got: string[] = [];
      for (let i = 0; i < 3; i++) {
        const p = (await back.raw.next('publish')) as IPublishPacket;
        got.push(`${p.topic}=${p.payload.toString()}`);
        back.raw.send({ cmd: 'puback', messageId: p.messageId });
      }
      // The will is published at start, the others were stored before the crash: all three, once.
      expect(got.sort()).toEqual(['alerts/fire=fire in hall 2', 'alerts/gateway-7=offline', 'alerts/qos2=exactly once']);
      const late = await connectMqtt(`mqtt://127.0.0.1:${srv.port}`);
      await late.client.subscribeAsync('alerts/gateway-7', { qos: 1 });
      expect((await late.got.nth(1)).packet.retain).toBe(true);
      late.client.publish('alerts/end', 'marker', { qos: 1 });
      const end = (await back.raw.next('publish')) as IPublishPacket;
      expect(end.topic).toBe('alerts/end');
      expect(await srv.server.broker.listSessions('mqtt-will:')).toEqual([]);
      await endMqtt(late.client);
      for (const c of [again.raw, back.raw]) c.close();
    } finally {
      await srv.stop();
    }
  });
});
