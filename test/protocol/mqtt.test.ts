// MQTT adapter, end to end over real sockets with mqtt.js and a raw packet client: QoS 0/1/2,
// topic mapping across protocols, shared subscriptions, persistent sessions, retained messages,
// wills, keep-alive, authentication and authorization, limits and bad input.
import type { MqttClient } from 'mqtt';
import type { IConnackPacket, IPublishPacket, ISubackPacket } from 'mqtt-packet';
import { once } from 'node:events';
import mqttPacket from 'mqtt-packet';
import rhea from 'rhea';
import { WebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/security/password.ts';
import { AmqpClient } from '../helpers/amqp.ts';
import { Collector } from '../helpers/collector.ts';
import { connectMqtt, endMqtt, RawMqtt, startMqttServer, type MqttTestServer } from '../helpers/mqtt.ts';
import { RawStomp } from '../helpers/stomp.ts';
import { CapturedLog } from '../helpers/log.ts';

let s: MqttTestServer;
const clients: MqttClient[] = [];
const raws: RawMqtt[] = [];
const url = (): string => `mqtt://127.0.0.1:${s.port}`;

async function client(opts: Parameters<typeof connectMqtt>[1] = {}, at = url()): ReturnType<typeof connectMqtt> {
  const c = await connectMqtt(at, opts);
  clients.push(c.client);
  return c;
}

async function raw(connect: Parameters<typeof RawMqtt.connect>[1] = {}, port = s.port): Promise<{ raw: RawMqtt; connack: IConnackPacket }> {
  const r = await RawMqtt.connect(port, connect);
  raws.push(r.raw);
  return r;
}

/** A message published after `first` arrives: proof that nothing else came in between. */
async function marker(c: MqttClient, topic: string): Promise<void> {
  await c.publishAsync(topic, 'marker', { qos: 1 });
}

beforeAll(async () => {
  s = await startMqttServer({ mqtt: { maxQueuedMessages: 3 } });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => endMqtt(c)));
  for (const r of raws.splice(0)) r.close();
});
afterAll(async () => {
  await s.stop();
});

describe('MQTT: publish and subscribe', () => {
  it('delivers at the lower of the published and the granted QoS, for QoS 0, 1 and 2', async () => {
    const sub = await client({ clientId: 'qos-sub' });
    const granted = await sub.client.subscribeAsync({ 'q/zero': { qos: 0 }, 'q/one': { qos: 1 }, 'q/two': { qos: 2 } });
    expect(granted.map((g) => g.qos)).toEqual([0, 1, 2]);
    const pub = await client();
    await pub.client.publishAsync('q/two', 'two at 2', { qos: 2 });
    await pub.client.publishAsync('q/two', 'one at 2', { qos: 1 });
    await pub.client.publishAsync('q/one', 'two at 1', { qos: 2 });
    await pub.client.publishAsync('q/zero', 'two at 0', { qos: 2 });
    await sub.got.nth(4);
    expect(sub.got.items.map((g) => [g.payload.toString(), g.packet.qos])).toEqual([
      ['two at 2', 2],
      ['one at 2', 1],
      ['two at 1', 1],
      ['two at 0', 0],
    ]);
  });

  it('maps levels to dotted core names: + and # match as in MQTT, including empty levels and the parent of #', async () => {
    const sub = await client();
    await sub.client.subscribeAsync(['home/+/temp', 'tree/#', 'gap/+/end'], { qos: 1 });
    const pub = await client();
    for (const t of ['home/kitchen/temp', 'home/kitchen/humidity', 'tree', 'tree/a/b', 'gap//end', 'gap/x/y/end']) {
      await pub.client.publishAsync(t, t, { qos: 1 });
    }
    await marker(pub.client, 'tree/done');
    await sub.got.nth(5);
    expect(sub.got.items.map((g) => g.topic)).toEqual(['home/kitchen/temp', 'tree', 'tree/a/b', 'gap//end', 'tree/done']);
  });

  it('carries identical bytes from MQTT to STOMP and back (a dot inside a level becomes a slash)', async () => {
    const bytes = Buffer.from([0, 1, 2, 255, 254, 0x0a, 0x00, 0x7f]);
    const stomp = await RawStomp.connect(s.stompPort);
    try {
      stomp.send('SUBSCRIBE', { id: '1', destination: '/topic/site.v1/2.temp', receipt: 'r' });
      await stomp.expect('RECEIPT');
      const mq = await client();
      await mq.client.subscribeAsync('from/stomp', { qos: 1 });
      await mq.client.publishAsync('site/v1.2/temp', bytes, { qos: 1 });
      const msg = await stomp.expect('MESSAGE');
      expect(Buffer.compare(msg.body, bytes)).toBe(0);
      expect(msg.headers.get('destination')).toBe('/topic/site.v1/2.temp');
      expect(msg.headers.get('persistent')).toBe('true');
      stomp.send('SEND', { destination: '/topic/from.stomp', persistent: 'true', receipt: 's' }, bytes);
      await stomp.expect('RECEIPT');
      const got = await mq.got.nth(1);
      expect(got.topic).toBe('from/stomp');
      expect(Buffer.compare(got.payload, bytes)).toBe(0);
      expect(got.packet.qos).toBe(1);
    } finally {
      stomp.close();
    }
  });

  it('delivers an MQTT publish to an AMQP receiver with the body bytes unchanged', async () => {
    const amqp = await AmqpClient.connect(s.amqpPort);
    try {
      const { got } = await amqp.receiver({ source: { address: 'topic://sensors.t1' }, credit_window: 10 });
      const mq = await client();
      const bytes = Buffer.from('{"t":21.5}\u0000binary');
      await mq.client.publishAsync('sensors/t1', bytes, { qos: 1 });
      const r = await got.nth(1);
      const body = r.message.body as { content?: Buffer; typecode?: number } | Buffer;
      const content = Buffer.isBuffer(body) ? body : (body.content as Buffer);
      expect(Buffer.compare(content, bytes)).toBe(0);
      expect(r.message.durable).toBe(true);
    } finally {
      amqp.conn.close();
    }
  });

  it('delivers an AMQP durable message to an MQTT subscriber with the body bytes unchanged', async () => {
    const mq = await client();
    await mq.client.subscribeAsync('cmd/+', { qos: 2 });
    const amqp = await AmqpClient.connect(s.amqpPort);
    try {
      const bytes = Buffer.from([0xde, 0xad, 0x00, 0xbe, 0xef]);
      const snd = await amqp.sender({ target: { address: 'topic://cmd.pump' } });
      expect(await amqp.send(snd, { body: rhea.message.data_section(bytes), durable: true })).toMatchObject({ outcome: 'accepted' });
      const got = await mq.got.nth(1);
      expect([got.topic, got.packet.qos]).toEqual(['cmd/pump', 2]);
      expect(Buffer.compare(got.payload, bytes)).toBe(0);
    } finally {
      amqp.conn.close();
    }
  });

  it('splits a $share/G/F shared subscription between its members, each message once', async () => {
    const a = await client({ clientId: 'worker-a' });
    const b = await client({ clientId: 'worker-b' });
    await a.client.subscribeAsync('$share/workers/jobs/#', { qos: 1 });
    await b.client.subscribeAsync('$share/workers/jobs/#', { qos: 1 });
    const both = new Collector<string>();
    a.client.on('message', (_t, p: Buffer) => both.push(p.toString()));
    b.client.on('message', (_t, p: Buffer) => both.push(p.toString()));
    const pub = await client();
    for (let i = 0; i < 10; i++) await pub.client.publishAsync(`jobs/${i}`, `job-${i}`, { qos: 1 });
    await both.nth(10);
    await marker(pub.client, 'jobs/end');
    await both.nth(11);
    expect(both.items.slice(0, 10).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `job-${i}`).sort());
    expect(both.items[10]).toBe('marker');
    expect(a.got.items.length).toBeGreaterThan(0);
    expect(b.got.items.length).toBeGreaterThan(0);
  });

  it('serves MQTT over TLS and over WebSocket (subprotocol mqtt)', async () => {
    const sub = await client({ ca: s.cert.cert, servername: 'localhost', rejectUnauthorized: true }, `mqtts://127.0.0.1:${s.tlsPort}`);
    await sub.client.subscribeAsync('secure/#', { qos: 1 });
    const ws = await client({}, `ws://127.0.0.1:${s.wsPort}/mqtt`);
    await ws.client.publishAsync('secure/ws', 'over websocket', { qos: 1 });
    expect((await sub.got.nth(1)).payload.toString()).toBe('over websocket');
  });

  it('picks MQTT on the shared WebSocket port by the subprotocols mqtt and mqttv3.1', async () => {
    for (const protocol of ['mqtt', 'mqttv3.1']) {
      const ws = new WebSocket(`ws://127.0.0.1:${s.wsPort}/`, [protocol]);
      try {
        await once(ws, 'open');
        expect(ws.protocol).toBe(protocol);
        ws.send(
          mqttPacket.generate({
            cmd: 'connect',
            protocolId: 'MQTT',
            protocolVersion: 4,
            clean: true,
            clientId: `ws-${protocol}`,
            keepalive: 0,
          }),
        );
        // MQTT packets need not align with WebSocket messages: collect the 4 bytes of the CONNACK.
        let data = Buffer.alloc(0);
        while (data.length < 4) data = Buffer.concat([data, ((await once(ws, 'message')) as [Buffer])[0]]);
        // CONNACK: packet type 2, remaining length 2, no session, return code 0.
        expect([...data]).toEqual([0x20, 0x02, 0x00, 0x00]);
      } finally {
        ws.terminate();
      }
    }
  });
});

describe('MQTT: flow control under load', () => {
  it('20,000 QoS 1 messages published as fast as PUBACKs come all reach an online subscriber (maxQueuedMessages 3)', async () => {
    const total = 20_000;
    const sub = await client({ clientId: 'load-sub' });
    await sub.client.subscribeAsync('load/t', { qos: 1 });
    const seen = new Set<string>();
    const allIn = new Promise<void>((resolve) => {
      sub.client.on('message', (_t, payload) => {
        seen.add(payload.toString());
        if (seen.size === total) resolve();
      });
    });
    const pub = await client({ clientId: 'load-pub' });
    // Every publish at once: the broker's PUBACKs pace the publisher.
    await Promise.all(Array.from({ length: total }, (_, i) => pub.client.publishAsync('load/t', `m${i}`, { qos: 1 })));
    // Every PUBACK is in: the messages follow within a bound (lost ones would never come).
    await new Promise<void>((resolve) => {
      const bound = setTimeout(resolve, 15_000);
      void allIn.then(() => {
        clearTimeout(bound);
        resolve();
      });
    });
    expect(seen.size).toBe(total);
    const name = s.server.broker.listSubscriptions().find((r) => r.pattern === 'load.t')!.name;
    expect(s.server.broker.getQueue(name)?.stats).toMatchObject({ dropped: 0, rejected: 0 });
  }, 60_000);
});

describe('MQTT: persistent sessions', () => {
  it('queues QoS 1 messages while a persistent session is away and delivers them on reconnect', async () => {
    const dev = await client({ clientId: 'dev-offline', clean: false });
    await dev.client.subscribeAsync('cmd/dev-offline/#', { qos: 1 });
    await endMqtt(dev.client);
    const pub = await client();
    // Three fit the test server's maxQueuedMessages: 3. QoS 0 ones wait in memory, not in the store.
    await pub.client.publishAsync('cmd/dev-offline/1', 'command 1', { qos: 1 });
    await pub.client.publishAsync('cmd/dev-offline/0', 'at most once', { qos: 0 });
    await pub.client.publishAsync('cmd/dev-offline/2', 'command 2', { qos: 2 });
    const back = await client({ clientId: 'dev-offline', clean: false });
    await back.got.nth(3);
    expect(back.got.items.map((g) => [g.payload.toString(), g.packet.qos])).toEqual([
      ['command 1', 1],
      ['at most once', 0],
      ['command 2', 1],
    ]);
  });

  it('a PUBACK followed at once by DISCONNECT is applied: the message is not sent again on reconnect', async () => {
    const first = await raw({ clientId: 'dev-acker', clean: false });
    first.raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'acker/cmd', qos: 1 }] });
    await first.raw.next('suback');
    const pub = await client();
    await pub.client.publishAsync('acker/cmd', 'do it once', { qos: 1 });
    const p = (await first.raw.next('publish')) as IPublishPacket;
    expect(p.payload.toString()).toBe('do it once');
    // Both packets in one write: the PUBACK must be applied before the DISCONNECT ends the session's link.
    first.raw.write(
      Buffer.concat([mqttPacket.generate({ cmd: 'puback', messageId: p.messageId! }), mqttPacket.generate({ cmd: 'disconnect' })]),
    );
    await first.raw.closed;
    const back = await raw({ clientId: 'dev-acker', clean: false });
    expect(back.connack.sessionPresent).toBe(true);
    await marker(pub.client, 'acker/cmd');
    expect(((await back.raw.next('publish')) as IPublishPacket).payload.toString()).toBe('marker');
    const sub = s.server.broker.listSubscriptions().find((r) => r.clientId === 'dev-acker')!;
    expect(s.server.broker.getQueue(sub.name)?.stats).toMatchObject({ acked: 1, redelivered: 0 });
  });

  it('reports session present, and a clean connect discards the stored session', async () => {
    const first = await raw({ clientId: 'dev-present', clean: false });
    expect(first.connack.sessionPresent).toBe(false);
    first.raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'present/#', qos: 1 }] });
    await first.raw.next('suback');
    first.raw.send({ cmd: 'disconnect' });
    await first.raw.closed;
    const again = await raw({ clientId: 'dev-present', clean: false });
    expect(again.connack.sessionPresent).toBe(true);
    again.raw.send({ cmd: 'disconnect' });
    await again.raw.closed;
    const clean = await raw({ clientId: 'dev-present', clean: true });
    expect(clean.connack.sessionPresent).toBe(false);
    clean.raw.send({ cmd: 'disconnect' });
    await clean.raw.closed;
    const pub = await client();
    await pub.client.publishAsync('present/x', 'not queued', { qos: 1 });
    const last = await raw({ clientId: 'dev-present', clean: false });
    expect(last.connack.sessionPresent).toBe(false);
    expect(s.server.broker.listSubscriptions().filter((r) => r.clientId === 'dev-present')).toEqual([]);
  });

  it('resends an unacknowledged QoS 1 delivery with DUP after a reconnect', async () => {
    const first = await raw({ clientId: 'dev-dup', clean: false });
    first.raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'dup/t', qos: 1 }] });
    await first.raw.next('suback');
    const pub = await client();
    await pub.client.publishAsync('dup/t', 'needs ack', { qos: 1 });
    const p1 = (await first.raw.next('publish')) as IPublishPacket;
    expect([p1.payload.toString(), p1.dup]).toEqual(['needs ack', false]);
    first.raw.close(); // no PUBACK
    await first.raw.closed;
    const second = await raw({ clientId: 'dev-dup', clean: false });
    const p2 = (await second.raw.next('publish')) as IPublishPacket;
    expect([p2.payload.toString(), p2.dup, p2.qos]).toEqual(['needs ack', true, 1]);
    second.raw.send({ cmd: 'puback', messageId: p2.messageId });
    second.raw.send({ cmd: 'disconnect' });
    await second.raw.closed;
    const third = await raw({ clientId: 'dev-dup', clean: false });
    await marker(pub.client, 'dup/t');
    expect(((await third.raw.next('publish')) as IPublishPacket).payload.toString()).toBe('marker');
  });

  it('a second connection with the same client id takes the session over', async () => {
    const first = await raw({ clientId: 'dev-twice', clean: false });
    first.raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'twice/t', qos: 1 }] });
    await first.raw.next('suback');
    const second = await raw({ clientId: 'dev-twice', clean: false });
    expect(second.connack.sessionPresent).toBe(true);
    await first.raw.closed;
    const pub = await client();
    await pub.client.publishAsync('twice/t', 'to the new one', { qos: 1 });
    expect(((await second.raw.next('publish')) as IPublishPacket).payload.toString()).toBe('to the new one');
  });

  it('UNSUBSCRIBE ends the durable subscription: nothing is queued for it afterwards', async () => {
    const dev = await client({ clientId: 'dev-unsub', clean: false });
    await dev.client.subscribeAsync(['unsub/a', 'unsub/b'], { qos: 1 });
    await dev.client.unsubscribeAsync('unsub/a');
    await endMqtt(dev.client);
    const pub = await client();
    await pub.client.publishAsync('unsub/a', 'dropped', { qos: 1 });
    await pub.client.publishAsync('unsub/b', 'kept', { qos: 1 });
    const back = await client({ clientId: 'dev-unsub', clean: false });
    expect((await back.got.nth(1)).payload.toString()).toBe('kept');
    await marker(pub.client, 'unsub/b');
    expect((await back.got.nth(2)).payload.toString()).toBe('marker');
  });

  it('bounds an offline session queue: past maxQueuedMessages the oldest go, counted', async () => {
    const dev = await client({ clientId: 'dev-limit', clean: false });
    await dev.client.subscribeAsync('limit/t', { qos: 1 });
    await endMqtt(dev.client);
    const pub = await client();
    for (let i = 1; i <= 5; i++) await pub.client.publishAsync('limit/t', `m${i}`, { qos: 1 });
    const q = s.server.broker.listQueues().find((x) => x.label === 'topic://limit.t');
    expect(q?.messages).toBe(3);
    expect(q?.stats.dropped).toBe(2);
    const back = await client({ clientId: 'dev-limit', clean: false });
    await back.got.nth(3);
    expect(back.got.items.map((g) => g.payload.toString())).toEqual(['m3', 'm4', 'm5']);
  });

  it('refuses a persistent session without a client id (CONNACK 2)', async () => {
    const r = await RawMqtt.open(s.port);
    raws.push(r);
    // By hand: mqtt-packet refuses to encode this CONNECT (clean session 0, empty client id).
    r.write(Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00]));
    expect(((await r.next('connack')) as IConnackPacket).returnCode).toBe(2);
    await r.closed;
  });

  it('answers an unknown protocol level with CONNACK 0x01 and closes (MQTT 3.1.1 §3.1.2.2)', async () => {
    for (const level of [2, 6, 9]) {
      const r = await RawMqtt.open(s.port);
      raws.push(r);
      r.write(Buffer.from([0x10, 0x0f, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, level, 0x02, 0x00, 0x3c, 0x00, 0x03, 0x61, 0x62, 0x63]));
      expect(((await r.next('connack')) as IConnackPacket).returnCode).toBe(1);
      await r.closed;
    }
  });

  it('takes a CONNECT that arrives a byte at a time', async () => {
    const r = await RawMqtt.open(s.port);
    raws.push(r);
    const connect = Buffer.from([0x10, 0x0f, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x03, 0x61, 0x62, 0x63]);
    for (const byte of connect) {
      r.write(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(((await r.next('connack')) as IConnackPacket).returnCode).toBe(0);
  });
});

describe('MQTT: session expiry', () => {
  let expiring: MqttTestServer;
  const captured = new CapturedLog();
  beforeAll(async () => {
    expiring = await startMqttServer({ mqtt: { sessionExpirySeconds: 0.3 } }, undefined, captured.log);
  });
  afterAll(async () => {
    await expiring?.stop();
  });

  it('discards a persistent session unused for sessionExpirySeconds, and keeps a connected one', async () => {
    const subsOf = (id: string) => expiring.server.broker.listSubscriptions().filter((r) => r.clientId === id);
    const gone = await raw({ clientId: 'sleepy', clean: false }, expiring.port);
    gone.raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'sleepy/cmd', qos: 1 }] });
    await gone.raw.next('suback');
    const stays = await raw({ clientId: 'awake', clean: false }, expiring.port);
    stays.raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'awake/cmd', qos: 1 }] });
    await stays.raw.next('suback');
    gone.raw.send({ cmd: 'disconnect' });
    await gone.raw.closed;
    expect(subsOf('sleepy')).toHaveLength(1);
    // Nothing a client sees marks the expiry: its log line does.
    await captured.waitFor((l) => l.msg === 'mqtt persistent session expired' && l.clientId === 'sleepy');
    expect(subsOf('sleepy')).toEqual([]);
    expect(await expiring.server.broker.getSession('mqtt:sleepy')).toBeUndefined();
    expect(subsOf('awake')).toHaveLength(1);
    const back = await raw({ clientId: 'sleepy', clean: false }, expiring.port);
    expect(back.connack.sessionPresent).toBe(false);
  });
});

describe('MQTT: QoS 2', () => {
  it('publishes an inbound QoS 2 message once however often it is retransmitted before PUBREL', async () => {
    const sub = await client();
    await sub.client.subscribeAsync('once/t', { qos: 2 });
    const { raw: r } = await raw({ clientId: 'qos2-pub' });
    const publish = {
      cmd: 'publish',
      topic: 'once/t',
      payload: Buffer.from('exactly once'),
      qos: 2,
      messageId: 7,
      retain: false,
      dup: false,
    };
    r.send(publish);
    expect((await r.next('pubrec')).messageId).toBe(7);
    r.send({ ...publish, dup: true });
    expect((await r.next('pubrec')).messageId).toBe(7);
    r.send({ cmd: 'pubrel', messageId: 7 });
    expect((await r.next('pubcomp')).messageId).toBe(7);
    // The id is free again: a new message under it is a new message.
    r.send({ ...publish, payload: Buffer.from('second') });
    await r.next('pubrec');
    r.send({ cmd: 'pubrel', messageId: 7 });
    await r.next('pubcomp');
    await sub.got.nth(2);
    expect(sub.got.items.map((g) => g.payload.toString())).toEqual(['exactly once', 'second']);
  });

  it('after PUBREC, a reconnecting persistent session gets PUBREL again, not the message', async () => {
    const first = await raw({ clientId: 'qos2-sub', clean: false });
    first.raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'rel/t', qos: 2 }] });
    await first.raw.next('suback');
    const pub = await client();
    await pub.client.publishAsync('rel/t', 'once', { qos: 2 });
    const p = (await first.raw.next('publish')) as IPublishPacket;
    first.raw.send({ cmd: 'pubrec', messageId: p.messageId });
    expect((await first.raw.next('pubrel')).messageId).toBe(p.messageId);
    first.raw.close(); // before PUBCOMP
    await first.raw.closed;
    const second = await raw({ clientId: 'qos2-sub', clean: false });
    expect((await second.raw.next('pubrel')).messageId).toBe(p.messageId);
    second.raw.send({ cmd: 'pubcomp', messageId: p.messageId });
    await marker(pub.client, 'rel/t');
    const next = (await second.raw.next('publish')) as IPublishPacket;
    expect(next.payload.toString()).toBe('marker');
  });

  it('resends an unreceived QoS 2 delivery under the same packet id, with DUP', async () => {
    const first = await raw({ clientId: 'qos2-same', clean: false });
    first.raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'same/t', qos: 2 }] });
    await first.raw.next('suback');
    const pub = await client();
    await pub.client.publishAsync('same/t', 'keep my id', { qos: 2 });
    const p1 = (await first.raw.next('publish')) as IPublishPacket;
    first.raw.close();
    await first.raw.closed;
    const second = await raw({ clientId: 'qos2-same', clean: false });
    const p2 = (await second.raw.next('publish')) as IPublishPacket;
    expect([p2.messageId, p2.dup, p2.payload.toString()]).toEqual([p1.messageId, true, 'keep my id']);
  });
});

describe('MQTT: retained messages and wills', () => {
  it('keeps, replaces and clears the retained message; wildcard subscribers get it flagged retain', async () => {
    const pub = await client();
    await pub.client.publishAsync('status/dev1', 'online', { qos: 1, retain: true });
    await pub.client.publishAsync('status/dev2', 'booting', { qos: 1, retain: true });
    await pub.client.publishAsync('status/dev2', 'online', { qos: 1, retain: true });
    const sub = await client();
    await sub.client.subscribeAsync('status/+', { qos: 1 });
    await sub.got.nth(2);
    expect(sub.got.items.map((g) => [g.topic, g.payload.toString(), g.packet.retain]).sort()).toEqual([
      ['status/dev1', 'online', true],
      ['status/dev2', 'online', true],
    ]);
    await pub.client.publishAsync('status/dev1', '', { qos: 1, retain: true });
    const cleared = await sub.got.nth(3);
    expect([cleared.topic, cleared.payload.length, cleared.packet.retain]).toEqual(['status/dev1', 0, false]);
    const later = await client();
    await later.client.subscribeAsync('status/#', { qos: 0 });
    const only = await later.got.nth(1);
    expect([only.topic, only.payload.toString(), only.packet.retain]).toEqual(['status/dev2', 'online', true]);
    await marker(pub.client, 'status/zz');
    expect((await later.got.nth(2)).topic).toBe('status/zz');
  });

  it('publishes the will when the socket dies, not after DISCONNECT', async () => {
    const watcher = await client();
    await watcher.client.subscribeAsync('wills/#', { qos: 1 });
    const polite = await raw({ clientId: 'polite', will: { topic: 'wills/polite', payload: Buffer.from('gone'), qos: 1, retain: false } });
    polite.raw.send({ cmd: 'disconnect' });
    await polite.raw.closed;
    const killed = await raw({ clientId: 'killed', will: { topic: 'wills/killed', payload: Buffer.from('lost'), qos: 1, retain: true } });
    killed.raw.socket.destroy();
    const w = await watcher.got.nth(1);
    expect([w.topic, w.payload.toString()]).toEqual(['wills/killed', 'lost']);
    const late = await client();
    await late.client.subscribeAsync('wills/killed', { qos: 1 });
    expect((await late.got.nth(1)).packet.retain).toBe(true);
    await marker(late.client, 'wills/end');
    expect((await watcher.got.nth(2)).topic).toBe('wills/end');
  });
});

describe('MQTT: connection rules and bad input', () => {
  it('closes a connection silent for 1.5 x its keep-alive', async () => {
    const { raw: r } = await raw({ keepalive: 1 });
    const t0 = Date.now();
    await Promise.race([r.closed, new Promise((_, rej) => setTimeout(() => rej(new Error('still open after 4 s')), 4000))]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
  });

  it('keeps a connection that pings within its keep-alive', async () => {
    const { raw: r } = await raw({ keepalive: 1 });
    for (let i = 0; i < 4; i++) {
      await new Promise((res) => setTimeout(res, 600));
      r.send({ cmd: 'pingreq' });
      await r.next('pingresp');
    }
    expect(r.socket.destroyed).toBe(false);
  });

  it('closes a connection whose packet header declares more than mqtt.maxPacketBytes, before the body; others carry on', async () => {
    const small = await startMqttServer({ mqtt: { maxPacketBytes: 4096 } });
    const opened: MqttClient[] = [];
    const connect = async (): Promise<Awaited<ReturnType<typeof connectMqtt>>> => {
      const c = await connectMqtt(`mqtt://127.0.0.1:${small.port}`);
      opened.push(c.client);
      return c;
    };
    try {
      const sub = await connect();
      await sub.client.subscribeAsync('sized/#', { qos: 1 });
      const { raw: huge } = await raw({}, small.port);
      // A PUBLISH whose fixed header announces 100,663,296 bytes, of which 5 are sent: refused on its header.
      huge.write(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x30, 0x00, 0x03, 0x61, 0x2f, 0x62]));
      await huge.closed;
      const pub = await connect();
      const closed = new Promise<void>((resolve) => pub.client.once('close', () => resolve()));
      pub.client.publish('sized/big', Buffer.alloc(5000, 1), { qos: 1 });
      await closed;
      const ok = await connect();
      await ok.client.publishAsync('sized/fits', Buffer.alloc(3000, 2), { qos: 1 });
      const got = await sub.got.nth(1);
      expect([got.topic, got.payload.length]).toEqual(['sized/fits', 3000]);
    } finally {
      for (const c of opened) c.end(true);
      await small.stop();
    }
  });

  it('closes a connection that sends a malformed packet; other clients carry on', async () => {
    const sub = await client();
    await sub.client.subscribeAsync('after/bad', { qos: 1 });
    const bad = await raw();
    bad.raw.write(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])); // remaining length over 4 bytes
    await bad.raw.closed;
    const wild = await raw();
    wild.raw.send({ cmd: 'publish', topic: 'bad/+', payload: Buffer.from('x'), qos: 1, messageId: 1 });
    await wild.raw.closed;
    const pub = await client();
    await pub.client.publishAsync('after/bad', 'still fine', { qos: 1 });
    expect((await sub.got.nth(1)).payload.toString()).toBe('still fine');
  });
});

describe('MQTT: authentication and authorization', () => {
  let secure: MqttTestServer;
  beforeAll(async () => {
    secure = await startMqttServer({
      security: {
        users: [
          { username: 'device', passwordHash: await hashPassword('device-pw'), groups: ['devices'] },
          { username: 'ops', passwordHash: await hashPassword('ops-pw'), groups: ['ops'] },
        ],
        authorization: [
          { topic: 'telemetry.>', read: ['ops'], write: ['devices'], admin: ['ops', 'devices'] },
          { topic: 'commands.>', read: ['devices'], write: ['ops'], admin: ['ops', 'devices'] },
        ],
      },
    });
  });
  afterAll(async () => {
    await secure?.stop();
  });

  it('answers CONNACK 4 to a bad password and 5 to a client without credentials', async () => {
    const bad = await RawMqtt.open(secure.port);
    raws.push(bad);
    bad.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      clientId: 'b',
      keepalive: 0,
      username: 'device',
      password: Buffer.from('nope'),
    });
    expect(((await bad.next('connack')) as IConnackPacket).returnCode).toBe(4);
    await bad.closed;
    const anon = await RawMqtt.open(secure.port);
    raws.push(anon);
    anon.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'a', keepalive: 0 });
    expect(((await anon.next('connack')) as IConnackPacket).returnCode).toBe(5);
    await anon.closed;
  });

  it('grants only the filters a user may read (SUBACK 0x80 for the others)', async () => {
    const { raw: r, connack } = await raw({ clientId: 'dev-a', username: 'device', password: Buffer.from('device-pw') }, secure.port);
    expect(connack.returnCode).toBe(0);
    r.send({
      cmd: 'subscribe',
      messageId: 3,
      subscriptions: [
        { topic: 'commands/dev-a', qos: 1 },
        { topic: 'telemetry/#', qos: 1 },
      ],
    });
    expect(((await r.next('suback')) as ISubackPacket).granted).toEqual([1, 128]);
  });

  it('closes a connection publishing where it may not, without routing the message', async () => {
    const ops = await client({ username: 'ops', password: 'ops-pw' }, `mqtt://127.0.0.1:${secure.port}`);
    await ops.client.subscribeAsync('telemetry/#', { qos: 1 });
    const { raw: dev } = await raw({ clientId: 'dev-b', username: 'device', password: Buffer.from('device-pw') }, secure.port);
    dev.send({ cmd: 'publish', topic: 'commands/all', payload: Buffer.from('forged'), qos: 1, messageId: 1 });
    await dev.closed;
    const ok = await client({ username: 'device', password: 'device-pw' }, `mqtt://127.0.0.1:${secure.port}`);
    await ok.client.publishAsync('telemetry/dev-c', '21.5', { qos: 1 });
    expect((await ops.got.nth(1)).topic).toBe('telemetry/dev-c');
  });
});
