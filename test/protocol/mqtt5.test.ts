// MQTT 5, end to end over real sockets with mqtt.js (protocolVersion 5) and a raw packet client
// (mqtt-packet) for what mqtt.js checks or hides: CONNACK and its properties, reason codes on every
// acknowledgement and DISCONNECT, PUBLISH properties, topic aliases, flow control both ways,
// maximum packet size both ways, subscription options, sessions and their expiry, wills and will
// delay, AUTH, and bad input (duplicate and malformed properties, aliases beyond the maximum).
import type { MqttClient } from 'mqtt';
import type {
  IConnackPacket,
  IDisconnectPacket,
  IPubackPacket,
  IPublishPacket,
  IPubcompPacket,
  IPubrecPacket,
  ISubackPacket,
  IUnsubackPacket,
  Packet,
} from 'mqtt-packet';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/security/password.ts';
import { CapturedLog } from '../helpers/log.ts';
import { connectMqtt, endMqtt, RawMqtt, startMqttServer, type MqttTestServer } from '../helpers/mqtt.ts';

let s: MqttTestServer;
const clients: MqttClient[] = [];
const raws: RawMqtt[] = [];
const url = (): string => `mqtt://127.0.0.1:${s.port}`;

async function v5(opts: Parameters<typeof connectMqtt>[1] = {}, at = url()): ReturnType<typeof connectMqtt> {
  const c = await connectMqtt(at, { protocolVersion: 5, ...opts });
  clients.push(c.client);
  return c;
}

async function raw5(
  connect: Parameters<typeof RawMqtt.connect>[1] = {},
  port = s.port,
): Promise<{ raw: RawMqtt; connack: IConnackPacket }> {
  const r = await RawMqtt.connect(port, { protocolVersion: 5, ...connect });
  raws.push(r.raw);
  return r;
}

function publishes(r: RawMqtt): IPublishPacket[] {
  return r.packets.items.filter((p): p is IPublishPacket => p.cmd === 'publish');
}

/** A CONNECT for protocol level 5 with `props` as its raw property bytes (for what no encoder writes). */
function connectWithProperties(props: number[], clientId = 'v5'): Buffer {
  const id = Buffer.from(clientId);
  const body = Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x05, 0x02, 0x00, 0x00, props.length, ...props, 0x00, id.length, ...id]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

/** A QoS 1 PUBLISH to `topic` with `props` as raw property bytes. */
function publishWithProperties(topic: string, props: number[], payload = 'x', packetId = 1): Buffer {
  const t = Buffer.from(topic);
  const body = Buffer.from([0x00, t.length, ...t, packetId >> 8, packetId & 0xff, props.length, ...props, ...Buffer.from(payload)]);
  return Buffer.concat([Buffer.from([0x32, body.length]), body]);
}

/** `p`, or a failure after `ms`. */
function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(t));
}

beforeAll(async () => {
  s = await startMqttServer({ mqtt: { topicAliasMaximum: 4 } });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => endMqtt(c)));
  for (const r of raws.splice(0)) r.close();
});
afterAll(async () => {
  await s.stop();
});

describe('MQTT 5: CONNECT and CONNACK', () => {
  it('announces what the broker supports and allows', async () => {
    const { connack } = await raw5({ clientId: 'caps' });
    expect(connack.reasonCode).toBe(0);
    expect(connack.sessionPresent).toBe(false);
    expect(connack.properties).toMatchObject({
      receiveMaximum: 1000,
      maximumPacketSize: 16 * 1024 * 1024,
      topicAliasMaximum: 4,
      retainAvailable: true,
      wildcardSubscriptionAvailable: true,
      subscriptionIdentifiersAvailable: true,
      sharedSubscriptionAvailable: true,
    });
  });

  it('assigns a client id to a client that sent none, and that id can be used again', async () => {
    const { raw, connack } = await raw5({ clientId: '', properties: { sessionExpiryInterval: 60 } });
    const assigned = connack.properties?.assignedClientIdentifier;
    expect(assigned).toMatch(/^auto-/);
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'assigned/#', qos: 1 }] });
    await raw.next('suback');
    raw.send({ cmd: 'disconnect', reasonCode: 0 });
    await raw.closed;
    const again = await raw5({ clientId: assigned, clean: false, properties: { sessionExpiryInterval: 60 } });
    expect(again.connack.sessionPresent).toBe(true);
  });

  it('refuses enhanced authentication with 0x8C, a duplicate property with 0x82, a will not in its format with 0x99, a malformed property with 0x81', async () => {
    const auth = await RawMqtt.open(s.port, 5);
    raws.push(auth);
    auth.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clean: true,
      clientId: 'scram',
      keepalive: 0,
      properties: { authenticationMethod: 'SCRAM-SHA-1' },
    });
    const refused = (await auth.next('connack')) as IConnackPacket;
    expect([refused.reasonCode, refused.properties?.reasonString]).toEqual([0x8c, expect.stringContaining('SCRAM-SHA-1')]);
    await auth.closed;

    const dup = await RawMqtt.open(s.port, 5);
    raws.push(dup);
    // Session Expiry Interval (0x11) twice.
    dup.write(connectWithProperties([0x11, 0, 0, 0, 10, 0x11, 0, 0, 0, 20]));
    const dupAck = (await dup.next('connack')) as IConnackPacket;
    expect([dupAck.reasonCode, dupAck.properties?.reasonString]).toEqual([0x82, expect.stringContaining('sessionExpiryInterval')]);
    await dup.closed;

    const badWill = await RawMqtt.open(s.port, 5);
    raws.push(badWill);
    badWill.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clean: true,
      clientId: 'bad-will',
      keepalive: 0,
      will: { topic: 'wills/x', payload: Buffer.from([0xff, 0xfe]), qos: 0, retain: false, properties: { payloadFormatIndicator: true } },
    });
    expect(((await badWill.next('connack')) as IConnackPacket).reasonCode).toBe(0x99);
    await badWill.closed;

    const bad = await RawMqtt.open(s.port, 5);
    raws.push(bad);
    // Property identifier 0x7F does not exist.
    bad.write(connectWithProperties([0x7f, 0x01]));
    expect(((await bad.next('connack')) as IConnackPacket).reasonCode).toBe(0x81);
    await bad.closed;

    const fine = await v5();
    await fine.client.subscribeAsync('after/bad', { qos: 1 });
    await fine.client.publishAsync('after/bad', 'fine', { qos: 1 });
    expect((await fine.got.nth(1)).payload.toString()).toBe('fine');
  });

  it('answers a second connection with the same client id by DISCONNECT 0x8E to the first, from either version', async () => {
    const first = await raw5({ clientId: 'twin' });
    await v5({ clientId: 'twin' });
    const d = (await first.raw.next('disconnect')) as IDisconnectPacket;
    expect(d.reasonCode).toBe(0x8e);
    await first.raw.closed;

    const again = await raw5({ clientId: 'twin-2' });
    const v311 = await connectMqtt(url(), { clientId: 'twin-2' });
    clients.push(v311.client);
    expect(((await again.raw.next('disconnect')) as IDisconnectPacket).reasonCode).toBe(0x8e);
  });

  it('speaks MQTT 5 over TLS and over WebSocket (subprotocol mqtt), to each other', async () => {
    const tls = await v5({ ca: s.cert.cert, servername: 'localhost', rejectUnauthorized: true }, `mqtts://127.0.0.1:${s.tlsPort}`);
    const ws = await v5({}, `ws://127.0.0.1:${s.wsPort}/mqtt`);
    await tls.client.subscribeAsync('over/tls', { qos: 1 });
    await ws.client.publishAsync('over/tls', 'from ws', { qos: 1, properties: { userProperties: { via: 'ws' } } });
    const got = await tls.got.nth(1);
    expect([got.payload.toString(), got.packet.properties?.userProperties]).toEqual(['from ws', { via: 'ws' }]);
  });

  it('leaves reason strings out of acknowledgements when the client asks for no problem information', async () => {
    const { raw } = await raw5({ properties: { requestProblemInformation: false } });
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'bad/#/filter', qos: 1 }] });
    const suback = (await raw.next('suback')) as ISubackPacket;
    expect([suback.granted, suback.properties?.reasonString]).toEqual([[0x8f], undefined]);
    raw.send({ cmd: 'publish', topic: '$SYS/x', payload: Buffer.from('x'), qos: 1, messageId: 2 });
    const puback = (await raw.next('puback')) as IPubackPacket;
    expect([puback.reasonCode, puback.properties?.reasonString]).toEqual([0x90, undefined]);
  });

  it('answers a second CONNECT with DISCONNECT 0x82, and an administrator closing the connection with 0x98', async () => {
    const { raw } = await raw5({ clientId: 'twice' });
    raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, clientId: 'twice', keepalive: 0 });
    expect(((await raw.next('disconnect')) as IDisconnectPacket).reasonCode).toBe(0x82);
    await raw.closed;

    const { raw: listed } = await raw5({ clientId: 'listed' });
    const record = s.server.broker.connections.list().find((c) => c.clientId === 'listed');
    expect([record?.protocol, record?.protocolVersion]).toEqual(['mqtt', '5']);
    s.server.broker.connections.close(record?.id ?? '', 'test');
    const d = (await listed.next('disconnect')) as IDisconnectPacket;
    expect([d.reasonCode, d.properties?.reasonString]).toEqual([0x98, expect.stringContaining('administrator')]);
  });

  it('sends DISCONNECT 0x8B when the broker shuts down', async () => {
    const own = await startMqttServer();
    try {
      const { raw } = await raw5({ clientId: 'to-be-stopped' }, own.port);
      const stopped = own.stop();
      expect(((await raw.next('disconnect')) as IDisconnectPacket).reasonCode).toBe(0x8b);
      await stopped;
    } finally {
      await own.stop();
    }
  });

  it('imposes mqtt.maxKeepAliveSeconds on a client asking for no keep-alive, and holds it to it', async () => {
    const own = await startMqttServer({ mqtt: { maxKeepAliveSeconds: 1 } });
    try {
      const { raw, connack } = await raw5({ clientId: 'sleepy', keepalive: 0 }, own.port);
      expect(connack.properties?.serverKeepAlive).toBe(1);
      expect(((await raw.next('disconnect')) as IDisconnectPacket).reasonCode).toBe(0x8d);
      await raw.closed;
    } finally {
      await own.stop();
    }
  });
});

describe('MQTT 5: PUBLISH', () => {
  it('answers PUBACK 0x10 when nothing subscribes and 0x00 when something does', async () => {
    const { raw } = await raw5();
    raw.send({ cmd: 'publish', topic: 'nobody/here', payload: Buffer.from('x'), qos: 1, messageId: 1 });
    expect(((await raw.next('puback')) as IPubackPacket).reasonCode).toBe(0x10);
    const sub = await v5();
    await sub.client.subscribeAsync('somebody/#', { qos: 1 });
    raw.send({ cmd: 'publish', topic: 'somebody/here', payload: Buffer.from('x'), qos: 1, messageId: 2 });
    expect(((await raw.next('puback')) as IPubackPacket).reasonCode).toBe(0);
  });

  it('refuses a reserved topic with 0x90 and a payload that is not the UTF-8 it claims with 0x99, and keeps the connection', async () => {
    const sub = await v5();
    await sub.client.subscribeAsync('utf/#', { qos: 1 });
    const { raw } = await raw5();
    raw.send({ cmd: 'publish', topic: '$SYS/x', payload: Buffer.from('x'), qos: 1, messageId: 1 });
    const reserved = (await raw.next('puback')) as IPubackPacket;
    expect([reserved.reasonCode, reserved.properties?.reasonString]).toEqual([0x90, expect.stringContaining('reserved')]);
    raw.send({
      cmd: 'publish',
      topic: 'utf/bad',
      payload: Buffer.from([0xc3, 0x28]),
      qos: 2,
      messageId: 2,
      properties: { payloadFormatIndicator: true },
    });
    expect(((await raw.next('pubrec')) as IPubrecPacket).reasonCode).toBe(0x99);
    raw.send({
      cmd: 'publish',
      topic: 'utf/good',
      payload: Buffer.from('grüße'),
      qos: 1,
      messageId: 3,
      properties: { payloadFormatIndicator: true },
    });
    expect(((await raw.next('puback')) as IPubackPacket).reasonCode).toBe(0);
    const got = await sub.got.nth(1);
    expect([got.topic, got.payload.toString(), got.packet.properties?.payloadFormatIndicator]).toEqual(['utf/good', 'grüße', true]);
    expect(sub.got.items).toHaveLength(1);
  });

  it('carries user properties (order and repeats), content type, response topic, correlation data and message expiry', async () => {
    const sub = await v5();
    await sub.client.subscribeAsync('props/#', { qos: 1 });
    const pub = await v5();
    const correlation = Buffer.from([0x00, 0xff, 0x10]);
    await pub.client.publishAsync('props/a', '{"t":21.5}', {
      qos: 1,
      properties: {
        userProperties: { zone: 'north', tag: ['a', 'b'], unit: 'C' },
        contentType: 'application/json',
        responseTopic: 'replies/sensor-1',
        correlationData: correlation,
        messageExpiryInterval: 120,
      },
    });
    const got = await sub.got.nth(1);
    const p = got.packet.properties ?? {};
    expect(Object.entries(p.userProperties ?? {})).toEqual([
      ['zone', 'north'],
      ['tag', ['a', 'b']],
      ['unit', 'C'],
    ]);
    expect(p.contentType).toBe('application/json');
    expect(p.responseTopic).toBe('replies/sensor-1');
    expect(Buffer.compare(p.correlationData as Buffer, correlation)).toBe(0);
    expect(p.messageExpiryInterval).toBeGreaterThan(0);
    expect(p.messageExpiryInterval).toBeLessThanOrEqual(120);
  });

  it('never delivers a message whose expiry passed while it waited', async () => {
    const log = new CapturedLog();
    const own = await startMqttServer({}, undefined, log.log);
    try {
      const dev = await connectMqtt(`mqtt://127.0.0.1:${own.port}`, {
        protocolVersion: 5,
        clientId: 'exp-dev',
        clean: true,
        properties: { sessionExpiryInterval: 60 },
      });
      await dev.client.subscribeAsync('exp/#', { qos: 1 });
      await endMqtt(dev.client);
      const pub = await connectMqtt(`mqtt://127.0.0.1:${own.port}`, { protocolVersion: 5 });
      await pub.client.publishAsync('exp/short', 'gone', { qos: 1, properties: { messageExpiryInterval: 1 } });
      await pub.client.publishAsync('exp/long', 'kept', { qos: 1, properties: { messageExpiryInterval: 600 } });
      await endMqtt(pub.client);
      // The short one's second passes while nobody is connected (a sleep is the subject here).
      await new Promise((r) => setTimeout(r, 1100));
      const back = await connectMqtt(`mqtt://127.0.0.1:${own.port}`, {
        protocolVersion: 5,
        clientId: 'exp-dev',
        clean: false,
        properties: { sessionExpiryInterval: 60 },
      });
      const got = await back.got.nth(1);
      expect([got.topic, got.payload.toString()]).toEqual(['exp/long', 'kept']);
      expect(got.packet.properties?.messageExpiryInterval).toBeLessThan(600);
      await back.client.publishAsync('exp/marker', 'marker', { qos: 1 });
      expect((await back.got.nth(2)).topic).toBe('exp/marker');
      await endMqtt(back.client);
    } finally {
      await own.stop();
    }
  });

  it('resolves topic aliases up to the maximum; an alias beyond it gets DISCONNECT 0x94, an unknown one 0x82', async () => {
    const sub = await v5();
    await sub.client.subscribeAsync('alias/#', { qos: 1 });
    const { raw } = await raw5();
    raw.send({
      cmd: 'publish',
      topic: 'alias/long/topic/name',
      payload: Buffer.from('1'),
      qos: 1,
      messageId: 1,
      properties: { topicAlias: 4 },
    });
    raw.send({ cmd: 'publish', topic: '', payload: Buffer.from('2'), qos: 1, messageId: 2, properties: { topicAlias: 4 } });
    await raw.next('puback');
    await raw.next('puback');
    expect((await sub.got.nth(2)).topic).toBe('alias/long/topic/name');
    expect(sub.got.items.map((g) => g.payload.toString())).toEqual(['1', '2']);
    raw.send({ cmd: 'publish', topic: 'alias/x', payload: Buffer.from('3'), qos: 1, messageId: 3, properties: { topicAlias: 5 } });
    const beyond = (await raw.next('disconnect')) as IDisconnectPacket;
    expect([beyond.reasonCode, beyond.properties?.reasonString]).toEqual([0x94, expect.stringContaining('maximum of 4')]);
    await raw.closed;

    const { raw: other } = await raw5();
    other.send({ cmd: 'publish', topic: '', payload: Buffer.from('4'), qos: 1, messageId: 1, properties: { topicAlias: 2 } });
    expect(((await other.next('disconnect')) as IDisconnectPacket).reasonCode).toBe(0x82);
    await other.closed;
    expect(sub.got.items).toHaveLength(2);
  });

  it('uses topic aliases toward a client that allows them, within its maximum, reassigning them in turn', async () => {
    const { raw } = await raw5({ properties: { topicAliasMaximum: 1 } });
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'out-alias/#', qos: 1 }] });
    await raw.next('suback');
    const pub = await v5();
    for (const t of ['a', 'a', 'b', 'a']) await pub.client.publishAsync(`out-alias/${t}`, t, { qos: 1 });
    const got: Array<[string, number | undefined, string]> = [];
    for (let i = 0; i < 4; i++) {
      const p = (await raw.next('publish')) as IPublishPacket;
      got.push([p.topic, p.properties?.topicAlias, p.payload.toString()]);
      raw.send({ cmd: 'puback', messageId: p.messageId, reasonCode: 0 });
    }
    expect(got).toEqual([
      ['out-alias/a', 1, 'a'],
      ['', 1, 'a'],
      ['out-alias/b', 1, 'b'],
      ['out-alias/a', 1, 'a'],
    ]);
    // mqtt.js resolves them back to topics.
    const js = await v5({ properties: { topicAliasMaximum: 5 } });
    await js.client.subscribeAsync('out-alias/#', { qos: 1 });
    for (const t of ['c', 'c']) await pub.client.publishAsync(`out-alias/${t}`, t, { qos: 1 });
    await js.got.nth(2);
    expect(js.got.items.map((g) => g.topic)).toEqual(['out-alias/c', 'out-alias/c']);
  });

  it('closes with 0x82 for a duplicate property and 0x81 for a malformed one in a PUBLISH; the message is not routed', async () => {
    const sub = await v5();
    await sub.client.subscribeAsync('bad5/#', { qos: 1 });
    const { raw } = await raw5();
    // Content Type (0x03) twice.
    raw.write(publishWithProperties('bad5/dup', [0x03, 0x00, 0x01, 0x61, 0x03, 0x00, 0x01, 0x62]));
    const d = (await raw.next('disconnect')) as IDisconnectPacket;
    expect([d.reasonCode, d.properties?.reasonString]).toEqual([0x82, expect.stringContaining('contentType')]);
    await raw.closed;
    const { raw: worse } = await raw5();
    // A property length running past the packet.
    worse.write(publishWithProperties('bad5/len', [0x03, 0x00, 0x09, 0x61]));
    expect(((await worse.next('disconnect')) as IDisconnectPacket).reasonCode).toBe(0x81);
    await worse.closed;
    for (const userProperty of [
      [0x26, 0x00, 0x01, 0x61, 0x00, 0x30, 0x62], // a value longer than what follows
      [0x26, 0x00, 0x01, 0x61], // a key without its value
      [0x26, 0x00, 0x30, 0x61, 0x00, 0x01, 0x62], // a key longer than what follows
    ]) {
      const { raw: cut } = await raw5();
      cut.write(publishWithProperties('bad5/user', userProperty, 'payload bytes that follow'));
      expect(((await cut.next('disconnect')) as IDisconnectPacket).reasonCode).toBe(0x81);
      await cut.closed;
    }
    const pub = await v5();
    await pub.client.publishAsync('bad5/ok', 'ok', { qos: 1 });
    expect((await sub.got.nth(1)).topic).toBe('bad5/ok');
    expect(sub.got.items).toHaveLength(1);
  });

  it('answers a packet over mqtt.maxPacketBytes with DISCONNECT 0x95 before reading its body', async () => {
    const own = await startMqttServer({ mqtt: { maxPacketBytes: 4096 } });
    try {
      const { raw, connack } = await raw5({}, own.port);
      expect(connack.properties?.maximumPacketSize).toBe(4096);
      raw.send({ cmd: 'publish', topic: 'big', payload: Buffer.alloc(5000, 1), qos: 1, messageId: 1 });
      expect(((await raw.next('disconnect')) as IDisconnectPacket).reasonCode).toBe(0x95);
      await raw.closed;
    } finally {
      await own.stop();
    }
  });

  it('completes QoS 2 with PUBCOMP, and answers PUBREL for an unknown packet id with 0x92', async () => {
    const { raw } = await raw5();
    raw.send({ cmd: 'publish', topic: 'q2/x', payload: Buffer.from('x'), qos: 2, messageId: 7 });
    expect((await raw.next('pubrec')).messageId).toBe(7);
    raw.send({ cmd: 'pubrel', messageId: 7 });
    expect(((await raw.next('pubcomp')) as IPubcompPacket).reasonCode).toBe(0);
    raw.send({ cmd: 'pubrel', messageId: 8 });
    const unknown = (await raw.next('pubcomp')) as IPubcompPacket;
    expect([unknown.messageId, unknown.reasonCode]).toEqual([8, 0x92]);
  });

  it('refuses a QoS 1 PUBLISH a user may not send with PUBACK 0x87, and a filter he may not read with SUBACK 0x87', async () => {
    const secure = await startMqttServer({
      security: {
        users: [{ username: 'device', passwordHash: await hashPassword('device-pw'), groups: ['devices'] }],
        authorization: [{ topic: 'telemetry.>', read: [], write: ['devices'], admin: ['devices'] }],
      },
    });
    try {
      const wrong = await RawMqtt.open(secure.port, 5);
      raws.push(wrong);
      wrong.send({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 5,
        clean: true,
        clientId: 'd1',
        keepalive: 0,
        username: 'device',
        password: Buffer.from('nope'),
      });
      expect(((await wrong.next('connack')) as IConnackPacket).reasonCode).toBe(0x86);
      const anonymous = await RawMqtt.open(secure.port, 5);
      raws.push(anonymous);
      anonymous.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, clientId: 'd2', keepalive: 0 });
      expect(((await anonymous.next('connack')) as IConnackPacket).reasonCode).toBe(0x87);

      const { raw } = await raw5({ clientId: 'd3', username: 'device', password: Buffer.from('device-pw') }, secure.port);
      raw.send({ cmd: 'publish', topic: 'commands/x', payload: Buffer.from('x'), qos: 1, messageId: 1 });
      expect(((await raw.next('puback')) as IPubackPacket).reasonCode).toBe(0x87);
      raw.send({ cmd: 'publish', topic: 'telemetry/x', payload: Buffer.from('x'), qos: 1, messageId: 2 });
      expect(((await raw.next('puback')) as IPubackPacket).reasonCode).toBe(0x10);
      raw.send({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'telemetry/#', qos: 1 }] });
      expect(((await raw.next('suback')) as ISubackPacket).granted).toEqual([0x87]);
    } finally {
      await secure.stop();
    }
  });
});

describe('MQTT 5: subscriptions', () => {
  it('answers SUBACK 0x8F for an invalid filter beside granted ones, and UNSUBACK 0x11 for a filter never subscribed', async () => {
    const { raw } = await raw5();
    raw.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        { topic: 'good/+', qos: 1 },
        { topic: 'bad/#/more', qos: 1 },
        { topic: 'also/good', qos: 2 },
      ],
    });
    const suback = (await raw.next('suback')) as ISubackPacket;
    expect(suback.granted).toEqual([1, 0x8f, 2]);
    expect(suback.properties?.reasonString).toContain('bad/#/more');
    raw.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['good/+', 'never/subscribed'] });
    expect(((await raw.next('unsuback')) as IUnsubackPacket).granted).toEqual([0, 0x11]);
  });

  it('sends a message matching overlapping subscriptions once, at their highest QoS, with every Subscription Identifier', async () => {
    const sub = await v5();
    await sub.client.subscribeAsync('ids/#', { qos: 1, properties: { subscriptionIdentifier: 7 } });
    await sub.client.subscribeAsync('ids/+/temp', { qos: 2, properties: { subscriptionIdentifier: 9 } });
    await sub.client.subscribeAsync('ids/a/+', { qos: 0 });
    const pub = await v5();
    await pub.client.publishAsync('ids/a/temp', 'both', { qos: 2 });
    await pub.client.publishAsync('ids/b/temp', 'two', { qos: 2 });
    await pub.client.publishAsync('ids/a/other', 'two again', { qos: 2 });
    await pub.client.publishAsync('ids/marker', 'marker', { qos: 1 });
    await sub.got.nth(4);
    expect(
      sub.got.items.map((g) => [g.payload.toString(), g.packet.qos, [g.packet.properties?.subscriptionIdentifier ?? []].flat().sort()]),
    ).toEqual([
      ['both', 2, [7, 9]],
      ['two', 2, [7, 9]],
      ['two again', 1, [7]],
      ['marker', 1, [7]],
    ]);
  });

  it('No Local: a client does not get back what it published, others do', async () => {
    const me = await v5({ clientId: 'no-local' });
    await me.client.subscribeAsync('chat/room', { qos: 1, nl: true });
    await me.client.publishAsync('chat/room', 'mine', { qos: 1 });
    const other = await v5();
    await other.client.publishAsync('chat/room', 'theirs', { qos: 1 });
    expect((await me.got.nth(1)).payload.toString()).toBe('theirs');
    expect(me.got.items).toHaveLength(1);
  });

  it('Retain As Published keeps the retain flag on live messages; without it the flag is 0', async () => {
    const rap = await v5();
    await rap.client.subscribeAsync('rap/x', { qos: 1, rap: true });
    const plain = await v5();
    await plain.client.subscribeAsync('rap/x', { qos: 1 });
    const pub = await v5();
    await pub.client.publishAsync('rap/x', 'state', { qos: 1, retain: true });
    expect((await rap.got.nth(1)).packet.retain).toBe(true);
    expect((await plain.got.nth(1)).packet.retain).toBe(false);
    await pub.client.publishAsync('rap/x', '', { qos: 1, retain: true });
  });

  it('Retain Handling 0 sends retained messages on every SUBSCRIBE, 1 only on a new subscription, 2 never', async () => {
    const pub = await v5();
    await pub.client.publishAsync('rh/state', 'on', { qos: 1, retain: true });
    const c = await v5();
    await c.client.subscribeAsync('rh/+', { qos: 1, rh: 0 });
    await c.client.subscribeAsync('rh/+', { qos: 1, rh: 0 });
    await c.client.subscribeAsync('rh/#', { qos: 1, rh: 1 });
    await c.client.subscribeAsync('rh/#', { qos: 1, rh: 1 });
    await c.client.subscribeAsync('rh/state', { qos: 1, rh: 2 });
    await pub.client.publishAsync('rh/marker', 'marker', { qos: 1 });
    // rh/+ twice, rh/# once, then the marker, once for rh/+ and rh/# together.
    await c.got.nth(4);
    expect(c.got.items.map((g) => g.payload.toString())).toEqual(['on', 'on', 'on', 'marker']);
    await pub.client.publishAsync('rh/state', '', { qos: 1, retain: true });
  });

  it('shares $share/G/F between MQTT 5 clients, each message once; No Local on it is a protocol error', async () => {
    const a = await v5();
    const b = await v5();
    await a.client.subscribeAsync('$share/workers/jobs/#', { qos: 1 });
    await b.client.subscribeAsync('$share/workers/jobs/#', { qos: 1 });
    let total = 0;
    const arrived = new Promise<void>((resolve) => {
      for (const c of [a, b]) c.client.on('message', () => ++total === 20 && resolve());
    });
    const pub = await v5();
    for (let i = 0; i < 20; i++) await pub.client.publishAsync('jobs/x', String(i), { qos: 1 });
    await within(5000, arrived, 'all 20 jobs');
    const all = [...a.got.items, ...b.got.items].map((g) => Number(g.payload.toString())).sort((x, y) => x - y);
    expect(all).toEqual([...Array(20).keys()]);

    const { raw } = await raw5();
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g/nl', qos: 1, nl: true }] });
    expect(((await raw.next('disconnect')) as IDisconnectPacket).reasonCode).toBe(0x82);
  });
});

describe('MQTT 5: flow control and packet size', () => {
  it("keeps no more QoS 1 messages in flight than the client's Receive Maximum", async () => {
    const { raw } = await raw5({ properties: { receiveMaximum: 2 } });
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'rmax/#', qos: 1 }] });
    await raw.next('suback');
    const pub = await v5();
    for (let i = 1; i <= 6; i++) await pub.client.publishAsync('rmax/x', String(i), { qos: 1 });
    let acked = 0;
    for (let n = 1; n <= 6; n++) {
      await raw.next('publish');
      const arrived = publishes(raw);
      expect(arrived.length - acked).toBeLessThanOrEqual(2);
      if (arrived.length - acked === 2 || n === 6) {
        const p = arrived[acked] as IPublishPacket;
        raw.send({ cmd: 'puback', messageId: p.messageId, reasonCode: 0 });
        acked++;
      }
    }
    expect(publishes(raw).map((p) => p.payload.toString())).toEqual(['1', '2', '3', '4', '5', '6']);
  });

  it('never sends a client a packet over its Maximum Packet Size: that message is dropped and counted', async () => {
    const { raw } = await raw5({ properties: { maximumPacketSize: 300 } });
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'mps/#', qos: 1 }] });
    await raw.next('suback');
    const before = s.server.broker.connections.tooLarge.get('mqtt') ?? 0;
    const pub = await v5();
    await pub.client.publishAsync('mps/big', Buffer.alloc(1000, 1), { qos: 1 });
    await pub.client.publishAsync('mps/small', 'small', { qos: 1 });
    const p = (await raw.next('publish')) as IPublishPacket;
    expect([p.topic, p.payload.toString()]).toEqual(['mps/small', 'small']);
    expect(s.server.broker.connections.tooLarge.get('mqtt')).toBe(before + 1);
  });

  it('holds back a client that sends more than the Receive Maximum at once, and acknowledges every PUBLISH in order', async () => {
    const own = await startMqttServer({ mqtt: { receiveMaximum: 5 } });
    try {
      const { raw, connack } = await raw5({}, own.port);
      expect(connack.properties?.receiveMaximum).toBe(5);
      raw.write(Buffer.concat(Array.from({ length: 50 }, (_, i) => publishWithProperties('burst/x', [], String(i), i + 1))));
      const ids: number[] = [];
      for (let i = 0; i < 50; i++) ids.push((await raw.next('puback')).messageId as number);
      expect(ids).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      raw.send({ cmd: 'pingreq' });
      await raw.next('pingresp');
    } finally {
      await own.stop();
    }
  });
});

describe('MQTT 5: sessions', () => {
  it('resumes a session within its expiry interval (Session Present), and Clean Start discards it', async () => {
    const dev = await v5({ clientId: 'sess-1', clean: true, properties: { sessionExpiryInterval: 60 } });
    await dev.client.subscribeAsync('sess1/#', { qos: 1 });
    await endMqtt(dev.client);
    const pub = await v5();
    await pub.client.publishAsync('sess1/a', 'while away', { qos: 1 });
    const back = await raw5({ clientId: 'sess-1', clean: false, properties: { sessionExpiryInterval: 60 } });
    expect(back.connack.sessionPresent).toBe(true);
    const p = (await back.raw.next('publish')) as IPublishPacket;
    expect(p.payload.toString()).toBe('while away');
    back.raw.send({ cmd: 'puback', messageId: p.messageId, reasonCode: 0 });
    back.raw.send({ cmd: 'disconnect', reasonCode: 0 });
    await back.raw.closed;
    const fresh = await raw5({ clientId: 'sess-1', clean: true, properties: { sessionExpiryInterval: 60 } });
    expect(fresh.connack.sessionPresent).toBe(false);
  });

  it('ends a session with expiry 0 at disconnect, and when DISCONNECT sets it to 0', async () => {
    const zero = await raw5({ clientId: 'sess-0' });
    zero.raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'sess0/#', qos: 1 }] });
    await zero.raw.next('suback');
    zero.raw.send({ cmd: 'disconnect', reasonCode: 0 });
    await zero.raw.closed;
    expect((await raw5({ clientId: 'sess-0', clean: false })).connack.sessionPresent).toBe(false);

    const later = await raw5({ clientId: 'sess-d', properties: { sessionExpiryInterval: 600 } });
    later.raw.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
    await later.raw.closed;
    expect((await raw5({ clientId: 'sess-d', clean: false })).connack.sessionPresent).toBe(false);

    // From 0 a DISCONNECT may not raise it.
    const { raw } = await raw5({ clientId: 'sess-z' });
    raw.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 30 } });
    expect(((await raw.next('disconnect')) as IDisconnectPacket).reasonCode).toBe(0x82);
  });

  it('discards a session once its expiry interval has passed, with its queued messages', async () => {
    const log = new CapturedLog();
    const own = await startMqttServer({}, undefined, log.log);
    try {
      const dev = await connectMqtt(`mqtt://127.0.0.1:${own.port}`, {
        protocolVersion: 5,
        clientId: 'short',
        properties: { sessionExpiryInterval: 1 },
      });
      await dev.client.subscribeAsync('short/#', { qos: 1 });
      await endMqtt(dev.client);
      const pub = await connectMqtt(`mqtt://127.0.0.1:${own.port}`, { protocolVersion: 5 });
      await pub.client.publishAsync('short/a', 'queued', { qos: 1 });
      await endMqtt(pub.client);
      await log.waitFor((l) => l.msg === 'mqtt session expired' && l.clientId === 'short');
      const back = await RawMqtt.connect(own.port, {
        protocolVersion: 5,
        clientId: 'short',
        clean: false,
        properties: { sessionExpiryInterval: 1 },
      });
      expect(back.connack.sessionPresent).toBe(false);
      back.raw.send({ cmd: 'pingreq' });
      await back.raw.next('pingresp');
      expect(publishes(back.raw)).toHaveLength(0);
      back.raw.close();
    } finally {
      await own.stop();
    }
  });
});

describe('MQTT 5: wills', () => {
  it('publishes the will with its properties when the connection dies; DISCONNECT 0x00 discards it, 0x04 publishes it', async () => {
    const watcher = await v5();
    await watcher.client.subscribeAsync('wills/#', { qos: 1 });
    const will = { qos: 1 as const, retain: false, properties: { contentType: 'text/plain', userProperties: { why: 'lost' } } };
    const dies = await v5({ clientId: 'w-dies', will: { topic: 'wills/dies', payload: Buffer.from('gone'), ...will } });
    dies.client.stream.destroy();
    const got = await watcher.got.nth(1);
    expect([got.topic, got.payload.toString(), got.packet.properties?.contentType, got.packet.properties?.userProperties]).toEqual([
      'wills/dies',
      'gone',
      'text/plain',
      { why: 'lost' },
    ]);
    const polite = await raw5({ clientId: 'w-polite', will: { topic: 'wills/polite', payload: Buffer.from('x'), qos: 1, retain: false } });
    polite.raw.send({ cmd: 'disconnect', reasonCode: 0 });
    await polite.raw.closed;
    const asks = await raw5({ clientId: 'w-asks', will: { topic: 'wills/asks', payload: Buffer.from('asked'), qos: 1, retain: false } });
    asks.raw.send({ cmd: 'disconnect', reasonCode: 0x04 });
    await asks.raw.closed;
    expect((await watcher.got.nth(2)).topic).toBe('wills/asks');
    expect(watcher.got.items.map((g) => g.topic)).toEqual(['wills/dies', 'wills/asks']);
  });

  it('waits the Will Delay Interval: a client back in time cancels the will, one that stays away gets it published', async () => {
    const watcher = await v5();
    await watcher.client.subscribeAsync('delayed/#', { qos: 1 });
    const connect = { protocolVersion: 5 as const, properties: { sessionExpiryInterval: 60 } };
    const willFor = (
      topic: string,
    ): { will: { topic: string; payload: Buffer; qos: 1; retain: false; properties: { willDelayInterval: number } } } => ({
      will: { topic, payload: Buffer.from(topic), qos: 1, retain: false, properties: { willDelayInterval: 1 } },
    });
    const returns = await connectMqtt(url(), { ...connect, clientId: 'd-returns', ...willFor('delayed/returns') });
    const away = await connectMqtt(url(), { ...connect, clientId: 'd-away', ...willFor('delayed/away') });
    const closedAt = Date.now();
    returns.client.stream.destroy();
    away.client.stream.destroy();
    const back = await v5({ ...connect, clientId: 'd-returns' });
    const got = await watcher.got.nth(1);
    expect(got.topic).toBe('delayed/away');
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(900);
    await back.client.publishAsync('delayed/marker', 'marker', { qos: 1 });
    expect((await watcher.got.nth(2)).topic).toBe('delayed/marker');
  });

  it('does not publish a delayed will when a new connection takes the session over', async () => {
    const log = new CapturedLog();
    const own = await startMqttServer({}, undefined, log.log);
    try {
      const connect = { protocolVersion: 5 as const, clientId: 'taken', properties: { sessionExpiryInterval: 60 } };
      const first = await RawMqtt.connect(own.port, {
        ...connect,
        will: { topic: 'takeover/will', payload: Buffer.from('x'), qos: 1, retain: false, properties: { willDelayInterval: 1 } },
      });
      const second = await RawMqtt.connect(own.port, connect);
      expect(((await first.raw.next('disconnect')) as IDisconnectPacket).reasonCode).toBe(0x8e);
      await log.waitFor((l) => l.msg === 'mqtt client disconnected' && l.clientId === 'taken');
      await first.raw.closed;
      // Its end is handled: the will record is gone and no will was put on a timer.
      await expect.poll(async () => own.server.broker.getSession('mqtt-will:taken'), { timeout: 2000 }).toBeUndefined();
      expect(log.lines.some((l) => l.msg === 'mqtt will delayed')).toBe(false);
      second.raw.close();
    } finally {
      await own.stop();
    }
  });

  it('refuses AUTH after CONNECT (no method was agreed) with DISCONNECT 0x82', async () => {
    const { raw } = await raw5();
    raw.send({ cmd: 'auth', reasonCode: 0x18, properties: {} } as unknown as Packet);
    expect(((await raw.next('disconnect')) as IDisconnectPacket).reasonCode).toBe(0x82);
    await raw.closed;
  });
});
