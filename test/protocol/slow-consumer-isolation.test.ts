// One stalled subscriber may cost only itself. A raw MQTT client subscribes to `#` at QoS 1 and then
// stops reading its socket (it never sends a PUBACK); a healthy mqtt.js publisher and subscriber on
// `ok/x` carry on: every publish is acknowledged, the healthy subscriber gets everything in order,
// and the stalled subscription drops its oldest messages (counted, logged) once it has held the
// publisher back for mqtt.slowConsumerHoldMs, or, under `slowConsumer: disconnect`, is disconnected
// (MQTT 5: DISCONNECT 0x97) and its persistent session keeps the newest messages within its bound.
// STOMP's topic subscriptions follow the same rule when their policy would block publishers.
import { afterEach, describe, expect, it } from 'vitest';
import type { IDisconnectPacket, ISubackPacket } from 'mqtt-packet';
import { CapturedLog } from '../helpers/log.ts';
import { RawMqtt, connectMqtt, endMqtt, startMqttServer, type MqttTestServer } from '../helpers/mqtt.ts';
import { RawStomp, startStompServer, type StompTestServer } from '../helpers/stomp.ts';
import type { MqttClient } from 'mqtt';

let server: MqttTestServer | StompTestServer | undefined;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await server?.stop();
  server = undefined;
});

const TOTAL = 2000;

/** Publishes TOTAL QoS 1 messages to ok/x with at most 20 unacknowledged. */
async function publishAll(client: MqttClient): Promise<void> {
  for (let i = 0; i < TOTAL; i += 20) {
    await Promise.all(Array.from({ length: 20 }, (_, k) => client.publishAsync('ok/x', `m${i + k}`, { qos: 1 })));
  }
}

async function stalledSubscriber(port: number, version: 4 | 5, clientId: string, clean: boolean): Promise<RawMqtt> {
  const props = version === 5 && !clean ? { properties: { sessionExpiryInterval: 300 } } : {};
  const { raw } = await RawMqtt.connect(port, { protocolVersion: version, clientId, clean, ...props });
  cleanups.push(() => raw.close());
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 1 }] });
  expect(((await raw.next('suback')) as ISubackPacket).granted).toEqual([1]);
  raw.socket.pause(); // reads nothing more, so it never acknowledges a delivery
  return raw;
}

describe('a stalled MQTT subscriber', () => {
  it('holds publishers back at most slowConsumerHoldMs; then only its own oldest messages are dropped, counted', async () => {
    const log = new CapturedLog();
    const s = await startMqttServer({ mqtt: { maxQueuedMessages: 100, slowConsumerHoldMs: 300 } }, undefined, log.log);
    server = s;
    await stalledSubscriber(s.port, 4, 'stalled', true);
    const { client: healthy, got } = await connectMqtt(`mqtt://127.0.0.1:${s.port}`, { clientId: 'healthy' });
    cleanups.push(() => endMqtt(healthy));
    await healthy.subscribeAsync('ok/x', { qos: 1 });
    const { client: publisher } = await connectMqtt(`mqtt://127.0.0.1:${s.port}`, { clientId: 'publisher' });
    cleanups.push(() => endMqtt(publisher));

    await publishAll(publisher);
    await got.nth(TOTAL, 20_000);
    expect(got.items.map((g) => g.payload.toString())).toEqual(Array.from({ length: TOTAL }, (_, i) => `m${i}`));

    const stalled = s.server.broker.listQueues().find((q) => q.label === 'topic://>')!;
    // 100 in flight (maxInflight) and 100 queued (maxQueuedMessages, plus what the publisher had under
    // way at once) are kept; the rest went, counted.
    expect(stalled.inflight).toBe(100);
    expect(stalled.ready).toBeGreaterThanOrEqual(100);
    expect(stalled.ready).toBeLessThanOrEqual(120);
    expect(stalled.stats).toMatchObject({ slowConsumers: 1, dropped: TOTAL - 100 - stalled.ready });
    const warned = await log.waitFor(
      (l) => typeof l.msg === 'string' && l.msg.startsWith('slow consumer: it settled nothing for slowConsumerHoldMs'),
    );
    expect(warned).toMatchObject({ holdMs: 300, policy: 'drop-oldest' });
    // It stays connected: under drop-oldest only its messages pay.
    expect(s.server.broker.connections.list().map((c) => c.clientId)).toContain('stalled');
  }, 30_000);

  it('slowConsumer disconnect: an MQTT 5 subscriber gets DISCONNECT 0x97; its session keeps the newest messages within its bound', async () => {
    const s = await startMqttServer({ mqtt: { maxQueuedMessages: 50, slowConsumerHoldMs: 300, slowConsumer: 'disconnect' } });
    server = s;
    const raw = await stalledSubscriber(s.port, 5, 'device-7', false);
    const { client: publisher } = await connectMqtt(`mqtt://127.0.0.1:${s.port}`, { clientId: 'publisher' });
    cleanups.push(() => endMqtt(publisher));
    await publishAll(publisher);

    raw.socket.resume();
    const bye = (await raw.next('disconnect', 10_000)) as IDisconnectPacket;
    expect(bye.reasonCode).toBe(0x97);
    expect(String(bye.properties?.reasonString)).toMatch(/slow consumer/);
    await raw.closed;

    const { raw: back } = await RawMqtt.connect(s.port, {
      protocolVersion: 5,
      clientId: 'device-7',
      clean: false,
      properties: { sessionExpiryInterval: 300 },
    });
    cleanups.push(() => back.close());
    const payloads: string[] = [];
    for (;;) {
      const p = await back.next('publish', 5000);
      if (p.cmd !== 'publish') continue;
      payloads.push(p.payload.toString());
      back.send({ cmd: 'puback', messageId: p.messageId, reasonCode: 0 });
      if (payloads.at(-1) === `m${TOTAL - 1}`) break;
    }
    // The newest messages, in order: maxQueuedMessages, plus those the publisher had under way at
    // once (the bound counts messages waiting, not those being published); the older ones, the 100
    // it held unacknowledged included, were dropped as its session's overflow policy says, counted.
    const kept = payloads.length;
    expect(kept).toBeGreaterThanOrEqual(50);
    expect(kept).toBeLessThanOrEqual(50 + 20);
    expect(payloads).toEqual(Array.from({ length: kept }, (_, i) => `m${TOTAL - kept + i}`));
    const sub = s.server.broker.listQueues().find((q) => q.label === 'topic://>')!;
    expect(sub.stats).toMatchObject({ slowConsumers: 1, dropped: TOTAL - kept });
  }, 30_000);
});

describe('a stalled STOMP topic subscriber under a blocking policy', () => {
  it('slowConsumer disconnect: it gets an ERROR and is closed; the publisher and the other subscriber carry on', async () => {
    const s = await startStompServer({
      destinations: {
        policies: [
          { match: 'topic://>', transientMaxMessages: 50, transientOverflow: 'block', slowConsumerHoldMs: 300, slowConsumer: 'disconnect' },
        ],
      },
    });
    server = s;
    const connect = async (): Promise<RawStomp> => {
      const c = await RawStomp.connect(s.port);
      cleanups.push(() => c.close());
      return c;
    };
    const stalled = await connect();
    stalled.send('SUBSCRIBE', {
      id: 's',
      destination: '/topic/ok.x',
      ack: 'client-individual',
      'activemq.prefetchSize': '5',
      receipt: 's',
    });
    await stalled.expect('RECEIPT');
    const healthy = await connect();
    healthy.send('SUBSCRIBE', { id: 'h', destination: '/topic/ok.x', ack: 'auto', receipt: 'h' });
    await healthy.expect('RECEIPT');
    const producer = await connect();
    for (let i = 0; i < 500; i++) producer.send('SEND', { destination: '/topic/ok.x', ...(i === 499 ? { receipt: 'last' } : {}) }, `p${i}`);
    await producer.expect('RECEIPT', 20_000);
    const got: string[] = [];
    while (got.length < 500) got.push((await healthy.expect('MESSAGE')).body.toString());
    expect(got.at(-1)).toBe('p499');
    // It received its prefetch (5), never acknowledged them, then was told and closed.
    let f = await stalled.next(10_000);
    const held: string[] = [];
    for (; f.command === 'MESSAGE'; f = await stalled.next(10_000)) held.push(f.body.toString());
    expect(held).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
    expect(f.command).toBe('ERROR');
    expect(f.headers.get('message')).toMatch(/^Subscription s: slow consumer: settled no message for 300 ms/);
  }, 30_000);
});
