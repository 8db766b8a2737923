// What clients left with the active survives its SIGKILL on the standby that takes over: MQTT
// persistent sessions with their offline messages, retained messages, the will of a client whose
// broker died and a QoS 2 exchange in progress (exactly once); STOMP and AMQP durable topic
// subscriptions with a backlog.
import type { IConnackPacket, IPublishPacket } from 'mqtt-packet';
import type { EventContext } from 'rhea';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmqpClient } from '../helpers/amqp.ts';
import { BrokerProcess } from '../helpers/broker-process.ts';
import { connectMqtt, endMqtt, RawMqtt } from '../helpers/mqtt.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { RawStomp } from '../helpers/stomp.ts';

let redis: TestRedis;
const brokers: BrokerProcess[] = [];

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await Promise.all(brokers.map((b) => b.stop()));
  await redis?.stop();
});

const STOMP = { 'accept-version': '1.2', host: '/' };
const NEWS = { destination: '/topic/news', id: 'news', ack: 'client-individual', 'activemq.subscriptionName': 'news-sub' };
const WARNINGS_LINK = { name: 'warnings-sub', source: { address: 'topic://warnings', durable: 2, expiry_policy: 'never' } };

describe('state across a failover', () => {
  it('MQTT sessions, retained messages, wills, QoS 2 in progress and STOMP/AMQP durable subscriptions survive a SIGKILL', async () => {
    const a = await BrokerProcess.start('first', redis.url, { cluster: 'state' });
    brokers.push(a);
    await a.waitActive();
    const b = await BrokerProcess.start('second', redis.url, { cluster: 'state' });
    brokers.push(b);

    // MQTT: a persistent subscriber that goes away, a client with a will that stays connected, a
    // QoS 2 publisher that has its PUBREC but has not sent PUBREL, a retained message.
    const dev = await RawMqtt.connect(a.ports.mqtt, { clientId: 'meter-1', clean: false });
    dev.raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'alerts/#', qos: 1 }] });
    await dev.raw.next('suback');
    dev.raw.send({ cmd: 'disconnect' });
    await dev.raw.closed;
    const withWill = await RawMqtt.connect(a.ports.mqtt, {
      clientId: 'gateway-7',
      will: { topic: 'alerts/gateway-7', payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    const q2 = await RawMqtt.connect(a.ports.mqtt, { clientId: 'qos2-pub', clean: false });
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
    const pub = await RawMqtt.connect(a.ports.mqtt, { clientId: 'alerter' });
    pub.raw.send({ cmd: 'publish', topic: 'fw/latest', payload: Buffer.from('2.4.1'), qos: 1, messageId: 5, retain: true });
    await pub.raw.next('puback');

    // STOMP: a durable subscription that goes away, then a backlog of three.
    const reader = await RawStomp.connect(a.ports.stomp, { ...STOMP, 'client-id': 'news-app' });
    reader.send('SUBSCRIBE', { ...NEWS, receipt: 'sub' });
    await reader.expect('RECEIPT');
    reader.send('DISCONNECT', { receipt: 'bye' });
    await reader.expect('RECEIPT');
    const writer = await RawStomp.connect(a.ports.stomp, STOMP);
    for (let i = 1; i <= 3; i++) {
      writer.send('SEND', { destination: '/topic/news', persistent: 'true', receipt: `n${i}` }, `news-${i}`);
      await writer.expect('RECEIPT');
    }

    // AMQP: a durable subscription detached (kept), then a backlog of three.
    const app = await AmqpClient.connect(a.ports.amqp, { container_id: 'warnings-app' });
    const sub = await app.receiver(WARNINGS_LINK);
    sub.link.detach();
    const sender = await app.sender({ target: { address: 'topic://warnings' } });
    for (let i = 1; i <= 3; i++) expect((await app.send(sender, { body: `warning-${i}`, durable: true })).outcome).toBe('accepted');

    const from = b.lines.length;
    await a.kill();
    for (const c of [withWill.raw, q2.raw, pub.raw]) c.close();
    writer.socket.destroy();
    app.close();
    await b.waitActive(15_000, from);

    const again = await RawMqtt.connect(b.ports.mqtt, { clientId: 'qos2-pub', clean: false });
    expect(again.connack.returnCode).toBe(0);
    again.raw.send({ ...publish, dup: true });
    await again.raw.next('pubrec');
    again.raw.send({ cmd: 'pubrel', messageId: 42 });
    await again.raw.next('pubcomp');
    const back = await RawMqtt.connect(b.ports.mqtt, { clientId: 'meter-1', clean: false });
    expect((back.connack as IConnackPacket).sessionPresent).toBe(true);
    const got: string[] = [];
    for (let i = 0; i < 2; i++) {
      const p = (await back.raw.next('publish')) as IPublishPacket;
      got.push(`${p.topic}=${p.payload.toString()}`);
      back.raw.send({ cmd: 'puback', messageId: p.messageId });
    }
    // The will is published when the standby takes over; the QoS 2 message was stored before the kill: both, once.
    expect(got.sort()).toEqual(['alerts/gateway-7=offline', 'alerts/qos2=exactly once']);
    const late = await connectMqtt(`mqtt://127.0.0.1:${b.ports.mqtt}`);
    await late.client.subscribeAsync('fw/+', { qos: 1 });
    const fw = await late.got.nth(1);
    expect([fw.topic, fw.payload.toString(), fw.packet.retain]).toEqual(['fw/latest', '2.4.1', true]);
    late.client.publish('alerts/end', 'marker', { qos: 1 });
    const end = (await back.raw.next('publish')) as IPublishPacket;
    expect(end.topic).toBe('alerts/end');
    await endMqtt(late.client);
    for (const c of [again.raw, back.raw]) c.close();

    const reader2 = await RawStomp.connect(b.ports.stomp, { ...STOMP, 'client-id': 'news-app' });
    reader2.send('SUBSCRIBE', NEWS);
    const news = [await reader2.expect('MESSAGE'), await reader2.expect('MESSAGE'), await reader2.expect('MESSAGE')];
    expect(news.map((f) => f.body.toString())).toEqual(['news-1', 'news-2', 'news-3']);
    reader2.socket.destroy();

    const app2 = await AmqpClient.connect(b.ports.amqp, { container_id: 'warnings-app' });
    const bodies: string[] = [];
    const all = new Promise<void>((resolve) => {
      app2.conn.open_receiver({ ...WARNINGS_LINK, autoaccept: true }).on('message', (e: EventContext) => {
        bodies.push(String(e.message?.body));
        if (bodies.length === 3) resolve();
      });
    });
    await Promise.race([all, new Promise((_, reject) => setTimeout(() => reject(new Error(`AMQP got only ${bodies.length}`)), 10_000))]);
    expect(bodies).toEqual(['warning-1', 'warning-2', 'warning-3']);
    app2.close();
  });
});
