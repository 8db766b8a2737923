// Topics: fan-out to every subscription, wildcard subscriptions, transient, durable and shared
// subscriptions (each a queue), subscription selectors, no-local, virtual topics, retained messages.
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker } from '../../src/core/broker.ts';
import { queue, topic } from '../../src/core/destination.ts';
import { NotFoundError, SubscriptionConflictError } from '../../src/shared/errors.ts';
import { createMessage } from '../../src/core/message.ts';
import { Inbox, ctx, msgTo, startBroker } from '../helpers/core.ts';

let broker: Broker;
afterEach(async () => {
  await broker?.close();
});

describe('topics', () => {
  it('fan out to every subscriber, wildcards included', async () => {
    broker = await startBroker();
    const exact = new Inbox();
    const star = new Inbox();
    const rest = new Inbox();
    const other = new Inbox();
    await broker.subscribe({ destination: topic('sensors.eu.temp'), onMessage: exact.onMessage }, ctx);
    await broker.subscribe({ destination: { kind: 'topic', name: 'sensors.*.temp' }, onMessage: star.onMessage }, ctx);
    await broker.subscribe({ destination: { kind: 'topic', name: 'sensors.>' }, onMessage: rest.onMessage }, ctx);
    await broker.subscribe({ destination: topic('sensors.us.temp'), onMessage: other.onMessage }, ctx);
    const r = await broker.publish(msgTo('topic://sensors.eu.temp', '21.5'), ctx);
    expect(r.routed).toBe(3);
    expect([exact.texts, star.texts, rest.texts, other.texts]).toEqual([['21.5'], ['21.5'], ['21.5'], []]);
  });

  it('a topic with no subscribers drops the message and writes nothing', async () => {
    broker = await startBroker();
    const r = await broker.publish(msgTo('topic://nobody', 'x', { persistent: true }), ctx);
    expect(r.routed).toBe(0);
    expect(await broker.store.stats()).toEqual({ messages: 0, entries: 0, sessions: 0 });
  });

  it('a transient subscription lives with its consumer', async () => {
    broker = await startBroker();
    const inbox = new Inbox();
    const c = await broker.subscribe({ destination: topic('news'), onMessage: inbox.onMessage }, ctx);
    expect(broker.listQueues().length).toBe(1);
    c.close();
    expect(broker.listQueues().length).toBe(0);
    expect((await broker.publish(msgTo('topic://news', 'x'), ctx)).routed).toBe(0);
  });

  it('a persistent message for transient subscribers only is not written to the store', async () => {
    broker = await startBroker();
    const inbox = new Inbox();
    await broker.subscribe({ destination: topic('t'), onMessage: inbox.onMessage }, ctx);
    await broker.publish(msgTo('topic://t', 'x', { persistent: true }), ctx);
    await broker.flush();
    expect(inbox.texts).toEqual(['x']);
    expect((await broker.store.stats()).entries).toBe(0);
  });

  it('a durable subscription receives what was sent while it was offline', async () => {
    broker = await startBroker();
    const first = new Inbox();
    const durable = { clientId: 'app-1', name: 'orders-sub' };
    const c = await broker.subscribe({ destination: topic('orders'), durable, onMessage: first.onMessage }, ctx);
    await broker.publish(msgTo('topic://orders', 'online', { persistent: true }), ctx);
    c.ack(first.items[0]!.tag);
    c.close();
    await broker.publish(msgTo('topic://orders', 'offline-1', { persistent: true }), ctx);
    await broker.publish(msgTo('topic://orders', 'offline-2'), ctx);
    const second = new Inbox();
    await broker.subscribe({ destination: topic('orders'), durable, onMessage: second.onMessage }, ctx);
    expect(second.texts).toEqual(['offline-1', 'offline-2']);
  });

  it('a durable subscription is active once; changing its topic or selector replaces it', async () => {
    broker = await startBroker();
    const durable = { clientId: 'c1', name: 's' };
    const c = await broker.subscribe({ destination: topic('a'), durable, onMessage: () => {} }, ctx);
    await expect(broker.subscribe({ destination: topic('a'), durable, onMessage: () => {} }, ctx)).rejects.toThrow(
      SubscriptionConflictError,
    );
    c.close();
    await broker.publish(msgTo('topic://a', 'kept-for-a'), ctx);
    const inbox = new Inbox();
    await broker.subscribe({ destination: topic('b'), durable, onMessage: inbox.onMessage }, ctx);
    expect(inbox.items.length).toBe(0); // a new subscription on b: a's backlog is gone
    await broker.publish(msgTo('topic://b', 'for-b'), ctx);
    expect(inbox.texts).toEqual(['for-b']);
  });

  it('keeps a durable subscription and its backlog when its selector only gains the string-conversion prefix', async () => {
    broker = await startBroker();
    const durable = { clientId: 'c1', name: 'weights' };
    const c = await broker.subscribe({ destination: topic('w'), durable, selector: 'weight > 5', onMessage: () => {} }, ctx);
    c.close();
    await broker.publish(msgTo('topic://w', 'heavy', { properties: { weight: 10 } }), ctx);
    await broker.publish(msgTo('topic://w', 'as-text', { properties: { weight: '10' } }), ctx);
    const inbox = new Inbox();
    await broker.subscribe(
      { destination: topic('w'), durable, selector: 'convert_string_expressions:weight > 5', onMessage: inbox.onMessage },
      ctx,
    );
    expect(inbox.texts).toEqual(['heavy']);
    await broker.publish(msgTo('topic://w', 'now-converted', { properties: { weight: '10' } }), ctx);
    expect(inbox.texts).toEqual(['heavy', 'now-converted']);
    expect(broker.listSubscriptions()[0]?.selector).toBe('convert_string_expressions:weight > 5');
  });

  it('unsubscribing a durable subscription deletes it; refused while attached', async () => {
    broker = await startBroker();
    const durable = { clientId: 'c1', name: 's' };
    const c = await broker.subscribe({ destination: topic('u'), durable, onMessage: () => {} }, ctx);
    expect(() => broker.unsubscribeDurable('c1', 's')).toThrow(SubscriptionConflictError);
    c.close();
    broker.unsubscribeDurable('c1', 's');
    expect(broker.listSubscriptions()).toEqual([]);
    expect(() => broker.unsubscribeDurable('c1', 's')).toThrow(NotFoundError);
    await broker.flush();
    expect(await broker.store.loadSubscriptions()).toEqual([]);
  });

  it('consumers of a shared subscription compete; each message reaches the group once', async () => {
    broker = await startBroker();
    const a = new Inbox();
    const b = new Inbox();
    const solo = new Inbox();
    const shared = { name: 'workers', durable: false };
    await broker.subscribe({ destination: topic('jobs'), shared, onMessage: a.onMessage }, ctx);
    await broker.subscribe({ destination: topic('jobs'), shared, onMessage: b.onMessage }, ctx);
    await broker.subscribe({ destination: topic('jobs'), onMessage: solo.onMessage }, ctx);
    for (let i = 0; i < 6; i++) await broker.publish(msgTo('topic://jobs', `j${i}`), ctx);
    expect(a.items.length + b.items.length).toBe(6);
    expect(a.items.length).toBe(3);
    expect(solo.items.length).toBe(6);
  });

  it('a durable shared subscription keeps messages while no member is attached', async () => {
    broker = await startBroker();
    const shared = { name: 'sd', durable: true };
    const c = await broker.subscribe({ destination: topic('sdt'), shared, onMessage: () => {} }, ctx);
    c.close();
    await broker.publish(msgTo('topic://sdt', 'waiting'), ctx);
    const inbox = new Inbox();
    await broker.subscribe({ destination: topic('sdt'), shared, onMessage: inbox.onMessage }, ctx);
    expect(inbox.texts).toEqual(['waiting']);
  });

  it('a subscription selector filters what enters the subscription', async () => {
    broker = await startBroker();
    const durable = { clientId: 'c', name: 'big' };
    const c = await broker.subscribe({ destination: topic('trades'), durable, selector: 'amount > 1000', onMessage: () => {} }, ctx);
    c.close();
    for (const amount of [10, 5000, 999, 1001])
      await broker.publish(msgTo('topic://trades', String(amount), { properties: { amount } }), ctx);
    const inbox = new Inbox();
    await broker.subscribe({ destination: topic('trades'), durable, selector: 'amount > 1000', onMessage: inbox.onMessage }, ctx);
    expect(inbox.texts).toEqual(['5000', '1001']);
  });

  it('no-local skips messages the same client published', async () => {
    broker = await startBroker();
    const me = { connectionId: 'conn-me', clientId: 'me' };
    const inbox = new Inbox();
    await broker.subscribe({ destination: topic('chat'), noLocal: true, onMessage: inbox.onMessage }, me);
    await broker.publish(msgTo('topic://chat', 'mine'), me);
    await broker.publish(msgTo('topic://chat', 'theirs'), { connectionId: 'conn-you', clientId: 'you' });
    expect(inbox.texts).toEqual(['theirs']);
  });

  it('dead letters of a topic subscription go to DLQ.<topic>', async () => {
    broker = await startBroker({ defaults: { maxDeliveries: 1 } });
    const inbox = new Inbox();
    const c = await broker.subscribe({ destination: { kind: 'topic', name: 'alerts.*' }, onMessage: inbox.onMessage }, ctx);
    await broker.publish(msgTo('topic://alerts.fire', 'x'), ctx);
    c.release(inbox.items[0]!.tag);
    expect(broker.getQueue('DLQ.alerts.fire')?.messages).toBe(1);
  });
});

describe('virtual topics', () => {
  it('a send to VirtualTopic.X reaches every Consumer.<group>.VirtualTopic.X queue once per group', async () => {
    broker = await startBroker();
    const a1 = new Inbox();
    const a2 = new Inbox();
    const b = new Inbox();
    const plain = new Inbox();
    await broker.subscribe({ destination: queue('Consumer.A.VirtualTopic.Orders'), onMessage: a1.onMessage }, ctx);
    await broker.subscribe({ destination: queue('Consumer.A.VirtualTopic.Orders'), onMessage: a2.onMessage }, ctx);
    await broker.subscribe({ destination: queue('Consumer.B.VirtualTopic.Orders'), onMessage: b.onMessage }, ctx);
    await broker.subscribe({ destination: topic('VirtualTopic.Orders'), onMessage: plain.onMessage }, ctx);
    for (let i = 0; i < 4; i++) await broker.publish(msgTo('topic://VirtualTopic.Orders', `o${i}`, { persistent: true }), ctx);
    expect(a1.items.length + a2.items.length).toBe(4);
    expect(b.texts).toEqual(['o0', 'o1', 'o2', 'o3']);
    expect(plain.items.length).toBe(4);
  });

  it('a group queue keeps messages while its consumers are away; a group selector filters', async () => {
    broker = await startBroker({
      policies: [{ match: 'queue://Consumer.EU.VirtualTopic.>', virtualTopicSelector: "region = 'eu'" }],
    });
    const c = await broker.subscribe({ destination: queue('Consumer.EU.VirtualTopic.Sales'), onMessage: () => {} }, ctx);
    c.close();
    await broker.publish(msgTo('topic://VirtualTopic.Sales', 'eu-1', { properties: { region: 'eu' } }), ctx);
    await broker.publish(msgTo('topic://VirtualTopic.Sales', 'us-1', { properties: { region: 'us' } }), ctx);
    const inbox = new Inbox();
    await broker.subscribe({ destination: queue('Consumer.EU.VirtualTopic.Sales'), onMessage: inbox.onMessage }, ctx);
    expect(inbox.texts).toEqual(['eu-1']);
  });
});

describe('retained messages', () => {
  it('keeps the last message per topic, replays it to matching patterns, clears on null', async () => {
    broker = await startBroker();
    const now = Date.now();
    const m = (t: string, body: string) => createMessage({ destination: topic(t), body: Buffer.from(body) }, undefined, now);
    await broker.retain('home.kitchen.temp', m('home.kitchen.temp', '20'));
    await broker.retain('home.kitchen.temp', m('home.kitchen.temp', '21'));
    await broker.retain('home.hall.temp', m('home.hall.temp', '18'));
    const bodies = (p: string) =>
      broker
        .retainedFor(p)
        .map((x) => Buffer.from(x.body).toString())
        .sort();
    expect(bodies('home.*.temp')).toEqual(['18', '21']);
    expect(bodies('home.>')).toEqual(['18', '21']);
    expect(bodies('home.kitchen.temp')).toEqual(['21']);
    await broker.retain('home.hall.temp', null);
    expect(bodies('home.>')).toEqual(['21']);
    expect((await broker.store.loadRetained()).length).toBe(1);
  });
});
