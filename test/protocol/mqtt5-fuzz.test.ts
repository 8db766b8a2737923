// The MQTT 5 engine under arbitrary input (fast-check): valid packets cut, corrupted and followed by
// noise, written after a CONNECT. Whatever comes, the broker answers or closes that connection
// only: it never throws, and a well-behaved client on another connection keeps publishing and
// receiving, with every acknowledged message delivered.
import fc from 'fast-check';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, endMqtt, RawMqtt, startMqttServer, type MqttTestServer } from '../helpers/mqtt.ts';

let s: MqttTestServer;
beforeAll(async () => {
  s = await startMqttServer({ mqtt: { topicAliasMaximum: 4, maxPacketBytes: 8192 } });
});
afterAll(async () => {
  await s.stop();
});

const v5 = (p: Record<string, unknown>): Buffer => mqttPacket.generate(p as unknown as Packet, { protocolVersion: 5 });

/** Valid MQTT 5 packets a client may send after CONNECT, with properties of every kind. */
const packets = fc.constantFrom(
  v5({
    cmd: 'publish',
    topic: 'fuzz/a',
    payload: Buffer.from('x'),
    qos: 1,
    messageId: 1,
    properties: { topicAlias: 2, userProperties: { a: ['1', '2'] } },
  }),
  v5({ cmd: 'publish', topic: '', payload: Buffer.from('y'), qos: 0, properties: { topicAlias: 2 } }),
  v5({
    cmd: 'publish',
    topic: 'fuzz/b',
    payload: Buffer.from('z'),
    qos: 2,
    messageId: 2,
    properties: { payloadFormatIndicator: true, contentType: 'text/plain', correlationData: Buffer.from([0]) },
  }),
  v5({ cmd: 'pubrel', messageId: 2, reasonCode: 0 }),
  v5({
    cmd: 'subscribe',
    messageId: 3,
    subscriptions: [{ topic: 'fuzz/#', qos: 1, nl: true, rap: true, rh: 1 }],
    properties: { subscriptionIdentifier: 9 },
  }),
  v5({ cmd: 'unsubscribe', messageId: 4, unsubscriptions: ['fuzz/#', 'nope'] }),
  v5({ cmd: 'puback', messageId: 5, reasonCode: 0x80 }),
  v5({ cmd: 'pubrec', messageId: 6, reasonCode: 0 }),
  v5({ cmd: 'pingreq' }),
  v5({ cmd: 'disconnect', reasonCode: 4, properties: { sessionExpiryInterval: 0 } }),
);

/** A sequence of valid packets with some bytes overwritten, cut short, and noise appended. */
const input = fc
  .tuple(
    fc.array(packets, { minLength: 1, maxLength: 6 }),
    fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 4 }),
    fc.nat(),
    fc.uint8Array({ maxLength: 24 }),
  )
  .map(([list, flips, cut, noise]) => {
    const bytes = Buffer.concat(list);
    for (const [at, value] of flips) bytes[at % bytes.length] = value;
    return Buffer.concat([bytes.subarray(0, 1 + (cut % bytes.length)), Buffer.from(noise)]);
  });

describe('MQTT 5 engine under arbitrary input', () => {
  it('closes or answers only the connection that sent it; the broker carries on', async () => {
    const sub = await connectMqtt(`mqtt://127.0.0.1:${s.port}`, { protocolVersion: 5 });
    const pub = await connectMqtt(`mqtt://127.0.0.1:${s.port}`, { protocolVersion: 5 });
    try {
      await sub.client.subscribeAsync('healthy/#', { qos: 1 });
      let sent = 0;
      await fc.assert(
        fc.asyncProperty(input, async (bytes) => {
          const { raw } = await RawMqtt.connect(s.port, { protocolVersion: 5, clientId: `fuzz-${sent}` });
          try {
            raw.write(bytes);
            await pub.client.publishAsync('healthy/x', String(sent), { qos: 1 });
            sent++;
            await sub.got.nth(sent);
          } finally {
            raw.close();
          }
        }),
        { numRuns: 200 },
      );
      expect(sub.got.items.map((g) => g.payload.toString())).toEqual(Array.from({ length: sent }, (_, i) => String(i)));
    } finally {
      await endMqtt(sub.client);
      await endMqtt(pub.client);
    }
  });
});
