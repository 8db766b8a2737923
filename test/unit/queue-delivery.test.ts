// Delivery rules on queues: competing consumers, credit, ack/release/reject, redelivery with
// backoff, dead-lettering, expiry, priority, delay, groups, exclusive consumers, dedup,
// visibility timeout, selectors, temporary queues and authorization through the core.
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker } from '../../src/core/broker.ts';
import type { Consumer, Delivery } from '../../src/core/consumer.ts';
import { queue } from '../../src/core/destination.ts';
import { NotAuthorizedError, SelectorSyntaxError, UnknownDeliveryError } from '../../src/shared/errors.ts';
import type { Principal } from '../../src/core/principal.ts';
import { SecurityService } from '../../src/security/security-service.ts';
import { Inbox, ctx, msgTo, startBroker, text } from '../helpers/core.ts';

let broker: Broker;
afterEach(async () => {
  await broker?.close();
});

describe('queues', () => {
  it('gives each message to exactly one of several competing consumers, round robin', async () => {
    broker = await startBroker();
    const a = new Inbox();
    const b = new Inbox();
    await broker.subscribe({ destination: queue('work'), onMessage: a.onMessage }, ctx);
    await broker.subscribe({ destination: queue('work'), onMessage: b.onMessage }, ctx);
    for (let i = 0; i < 10; i++) await broker.publish(msgTo('work', `m${i}`), ctx);
    expect(a.items.length).toBe(5);
    expect(b.items.length).toBe(5);
    expect([...a.texts, ...b.texts].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`).sort());
  });

  it('keeps messages until a consumer comes, then delivers FIFO', async () => {
    broker = await startBroker();
    for (let i = 0; i < 5; i++) await broker.publish(msgTo('later', `m${i}`), ctx);
    expect(broker.getQueue('later')?.messages).toBe(5);
    const inbox = new Inbox();
    await broker.subscribe({ destination: queue('later'), onMessage: inbox.onMessage }, ctx);
    expect(inbox.texts).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });

  it('never has more unsettled deliveries than the prefetch window, refilled on ack', async () => {
    broker = await startBroker();
    const inbox = new Inbox();
    const c = await broker.subscribe({ destination: queue('pf'), prefetch: 3, onMessage: inbox.onMessage }, ctx);
    for (let i = 0; i < 10; i++) await broker.publish(msgTo('pf', `m${i}`), ctx);
    expect(inbox.items.length).toBe(3);
    c.ack(inbox.items[0]!.tag);
    expect(inbox.items.length).toBe(4);
    expect(broker.getQueue('pf')).toMatchObject({ messages: 9, inflight: 3, ready: 6 });
  });

  it('explicit credit (AMQP style) delivers only what was granted; drain returns the rest', async () => {
    broker = await startBroker();
    const inbox = new Inbox();
    const c = await broker.subscribe(
      { destination: queue('credit'), creditMode: 'explicit', prefetch: 0, onMessage: inbox.onMessage },
      ctx,
    );
    for (let i = 0; i < 5; i++) await broker.publish(msgTo('credit', `m${i}`), ctx);
    expect(inbox.items.length).toBe(0);
    c.addCredit(2);
    expect(inbox.texts).toEqual(['m0', 'm1']);
    inbox.ackAll(c);
    expect(inbox.items.length).toBe(0); // acking does not grant credit in explicit mode
    c.addCredit(10);
    expect(inbox.items.length).toBe(3);
    expect(c.drain()).toBe(7);
    await broker.publish(msgTo('credit', 'late'), ctx);
    expect(inbox.items.length).toBe(3);
  });

  it('a released (failed) message comes back with deliveryCount + 1 and the redelivered flag, in its place', async () => {
    broker = await startBroker();
    const inbox = new Inbox();
    const c = await broker.subscribe({ destination: queue('r'), prefetch: 1, onMessage: inbox.onMessage }, ctx);
    await broker.publish(msgTo('r', 'first'), ctx);
    await broker.publish(msgTo('r', 'second'), ctx);
    const d = inbox.items[0]!;
    expect(d.redelivered).toBe(false);
    c.release(d.tag);
    const again = inbox.items[1]!;
    expect(text(again)).toBe('first');
    expect(again.deliveryCount).toBe(1);
    expect(again.redelivered).toBe(true);
    c.ack(again.tag);
    expect(text(inbox.items[2]!)).toBe('second');
  });

  it('a release that is not a failure (AMQP released) does not count a delivery', async () => {
    broker = await startBroker();
    const inbox = new Inbox();
    const c = await broker.subscribe({ destination: queue('nf'), prefetch: 1, onMessage: inbox.onMessage }, ctx);
    await broker.publish(msgTo('nf', 'x'), ctx);
    c.release(inbox.items[0]!.tag, { failed: false });
    expect(inbox.items[1]!.deliveryCount).toBe(0);
    expect(inbox.items[1]!.redelivered).toBe(false);
  });

  it('undeliverable-here keeps the message away from that consumer only', async () => {
    broker = await startBroker();
    const a = new Inbox();
    const ca = await broker.subscribe({ destination: queue('uh'), onMessage: a.onMessage }, ctx);
    await broker.publish(msgTo('uh', 'x'), ctx);
    ca.release(a.items[0]!.tag, { undeliverableHere: true });
    expect(a.items.length).toBe(1);
    const b = new Inbox();
    await broker.subscribe({ destination: queue('uh'), onMessage: b.onMessage }, ctx);
    expect(b.texts).toEqual(['x']);
    expect(b.items[0]!.deliveryCount).toBe(1);
  });

  it('redelivers after an exponential backoff delay', async () => {
    broker = await startBroker({ defaults: { redeliveryDelayMs: 40, redeliveryMultiplier: 3, maxRedeliveryDelayMs: 1000 } });
    const inbox = new Inbox();
    const c = await broker.subscribe({ destination: queue('bo'), onMessage: inbox.onMessage }, ctx);
    await broker.publish(msgTo('bo', 'x'), ctx);
    const t0 = Date.now();
    c.release(inbox.items[0]!.tag);
    expect(inbox.items.length).toBe(1); // not at once
    await inbox.waitFor(2);
    const first = Date.now() - t0;
    c.release(inbox.items[1]!.tag);
    await inbox.waitFor(3);
    const second = Date.now() - t0 - first;
    expect(first).toBeGreaterThanOrEqual(35);
    expect(second).toBeGreaterThanOrEqual(110); // 40 * 3
    expect(inbox.items[2]!.deliveryCount).toBe(2);
  });

  it('moves a message to DLQ.<queue> after maxDeliveries, with the reason and original destination', async () => {
    broker = await startBroker({ defaults: { maxDeliveries: 3 } });
    const inbox = new Inbox();
    const c = await broker.subscribe({ destination: queue('orders'), onMessage: inbox.onMessage }, ctx);
    await broker.publish(msgTo('orders', 'poison', { persistent: true, properties: { k: 'v' } }), ctx);
    for (let i = 0; i < 3; i++) c.release(inbox.items[i]!.tag);
    expect(inbox.items.length).toBe(3);
    expect(broker.getQueue('orders')?.messages).toBe(0);
    const dlq = new Inbox();
    await broker.subscribe({ destination: queue('DLQ.orders'), onMessage: dlq.onMessage }, ctx);
    const d = dlq.items[0]!;
    expect(text(d)).toBe('poison');
    expect(d.message.properties.k).toBe('v');
    expect(d.annotations).toMatchObject({
      dlqDeliveryFailureCause: 'delivery failed 3 times (maxDeliveries 3)',
      originalDestination: 'queue://orders',
    });
    expect(broker.getQueue('orders')?.stats.deadLettered).toBe(1);
  });

  it('reject dead-letters at once; a shared DLQ can be configured; a DLQ never dead-letters further', async () => {
    broker = await startBroker({ defaults: { deadLetterStrategy: 'shared' } });
    const inbox = new Inbox();
    const c = await broker.subscribe({ destination: queue('a'), onMessage: inbox.onMessage }, ctx);
    await broker.publish(msgTo('a', 'bad'), ctx);
    c.reject(inbox.items[0]!.tag, 'cannot parse');
    const dlq = new Inbox();
    const dc = await broker.subscribe({ destination: queue('ActiveMQ.DLQ'), onMessage: dlq.onMessage }, ctx);
    expect(dlq.items[0]!.annotations?.dlqDeliveryFailureCause).toBe('cannot parse');
    for (let i = 0; i < 20; i++) dc.release(dlq.items[i]!.tag);
    expect(broker.getQueue('ActiveMQ.DLQ')?.messages).toBe(1);
  });

  it('settling an unknown or already settled delivery is a typed error', async () => {
    broker = await startBroker();
    const inbox = new Inbox();
    const c = await broker.subscribe({ destination: queue('u'), onMessage: inbox.onMessage }, ctx);
    await broker.publish(msgTo('u', 'x'), ctx);
    c.ack(inbox.items[0]!.tag);
    expect(() => c.ack(inbox.items[0]!.tag)).toThrow(UnknownDeliveryError);
    expect(() => c.release(999)).toThrow(UnknownDeliveryError);
  });

  it('cumulative ack settles every earlier delivery', async () => {
    broker = await startBroker();
    const inbox = new Inbox();
    const c = await broker.subscribe({ destination: queue('cum'), onMessage: inbox.onMessage }, ctx);
    for (let i = 0; i < 5; i++) await broker.publish(msgTo('cum', `m${i}`), ctx);
    expect(c.ackUpTo(inbox.items[3]!.tag)).toBe(4);
    expect(broker.getQueue('cum')).toMatchObject({ messages: 1, inflight: 1 });
  });

  it('a closed consumer returns its unsettled messages, counted as failed deliveries', async () => {
    broker = await startBroker();
    const a = new Inbox();
    const ca = await broker.subscribe({ destination: queue('dc'), onMessage: a.onMessage }, ctx);
    for (let i = 0; i < 3; i++) await broker.publish(msgTo('dc', `m${i}`), ctx);
    ca.ack(a.items[0]!.tag);
    ca.close();
    const b = new Inbox();
    await broker.subscribe({ destination: queue('dc'), onMessage: b.onMessage }, ctx);
    expect(b.texts).toEqual(['m1', 'm2']);
    expect(b.items.every((d) => d.redelivered && d.deliveryCount === 1)).toBe(true);
  });

  it('delivers higher priority first, FIFO within a priority', async () => {
    broker = await startBroker();
    for (const [body, priority] of [
      ['low1', 1],
      ['hi1', 9],
      ['mid', 4],
      ['low2', 1],
      ['hi2', 9],
    ] as const) {
      await broker.publish(msgTo('prio', body, { priority }), ctx);
    }
    const inbox = new Inbox();
    await broker.subscribe({ destination: queue('prio'), onMessage: inbox.onMessage }, ctx);
    expect(inbox.texts).toEqual(['hi1', 'hi2', 'mid', 'low1', 'low2']);
  });

  it('holds a delayed message until its time', async () => {
    broker = await startBroker();
    const inbox = new Inbox();
    await broker.subscribe({ destination: queue('delay'), onMessage: inbox.onMessage }, ctx);
    const t0 = Date.now();
    await broker.publish(msgTo('delay', 'later', { deliverAt: t0 + 80 }), ctx);
    await broker.publish(msgTo('delay', 'now'), ctx);
    expect(inbox.texts).toEqual(['now']);
    await inbox.waitFor(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(75);
    expect(inbox.texts).toEqual(['now', 'later']);
  });

  it('never delivers an expired message; drops it by default', async () => {
    let now = Date.now();
    broker = await startBroker({ now: () => now });
    await broker.publish(msgTo('ttl', 'stale', { expiresAt: now + 30 }), ctx);
    await broker.publish(msgTo('ttl', 'fresh', { expiresAt: now + 60_000 }), ctx);
    await broker.publish(msgTo('ttl', 'dead-on-arrival', { expiresAt: now - 1 }), ctx);
    now += 31;
    const inbox = new Inbox();
    await broker.subscribe({ destination: queue('ttl'), onMessage: inbox.onMessage }, ctx);
    expect(inbox.texts).toEqual(['fresh']);
    expect(broker.getQueue('ttl')?.stats.expired).toBe(1);
  });

  it('moves expired messages to the expiry queue when configured, via the sweep too', async () => {
    let now = Date.now();
    broker = await startBroker({ now: () => now, defaults: { expiredMessages: 'expiry-queue' } });
    await broker.publish(msgTo('exp', 'old', { expiresAt: now + 20 }), ctx);
    const expiry = new Inbox();
    await broker.subscribe({ destination: queue('ExpiryQueue'), onMessage: expiry.onMessage }, ctx);
    now += 21;
    expect(expiry.items.length).toBe(0);
    broker.sweep();
    expect(expiry.texts).toEqual(['old']);
    expect(expiry.items[0]!.annotations).toMatchObject({ dlqDeliveryFailureCause: 'expired', originalDestination: 'queue://exp' });
  });

  it('sends all messages of a group to one consumer at a time, in order', async () => {
    broker = await startBroker();
    const a = new Inbox();
    const b = new Inbox();
    const ca = await broker.subscribe({ destination: queue('grp'), onMessage: a.onMessage }, ctx);
    await broker.subscribe({ destination: queue('grp'), onMessage: b.onMessage }, ctx);
    for (let i = 0; i < 6; i++) {
      await broker.publish(msgTo('grp', `A${i}`, { groupId: 'A' }), ctx);
      await broker.publish(msgTo('grp', `B${i}`, { groupId: 'B' }), ctx);
    }
    const aGroups = new Set(a.items.map((d) => d.message.groupId));
    const bGroups = new Set(b.items.map((d) => d.message.groupId));
    expect(aGroups.size).toBe(1);
    expect(bGroups.size).toBe(1);
    expect([...aGroups][0]).not.toBe([...bGroups][0]);
    const groupOfA = [...aGroups][0]!;
    expect(a.texts).toEqual(Array.from({ length: 6 }, (_, i) => `${groupOfA}${i}`));
    // The owner leaves with the group unsettled: the rest of the group moves over, in order.
    ca.close();
    const moved = b.items.filter((d) => d.message.groupId === groupOfA).map(text);
    expect(moved).toEqual(Array.from({ length: 6 }, (_, i) => `${groupOfA}${i}`));
  });

  it('keeps a group on its consumer while it acknowledges (sticky, as ActiveMQ), marking the first message it gets', async () => {
    broker = await startBroker();
    const a = new Inbox();
    const b = new Inbox();
    const ack = (inbox: Inbox, c: () => Consumer | undefined) => (d: Delivery) => {
      inbox.onMessage(d);
      c()?.ack(d.tag);
    };
    const held: { a?: Consumer; b?: Consumer } = {};
    held.a = await broker.subscribe({ destination: queue('sticky'), onMessage: ack(a, () => held.a) }, ctx);
    held.b = await broker.subscribe({ destination: queue('sticky'), onMessage: ack(b, () => held.b) }, ctx);
    for (let i = 0; i < 4; i++) {
      await broker.publish(msgTo('sticky', `A${i}`, { groupId: 'A' }), ctx);
      await broker.flush();
    }
    const owner = a.items.length > 0 ? a : b;
    expect(owner.texts).toEqual(['A0', 'A1', 'A2', 'A3']);
    expect(owner.items.map((d) => d.annotations?.JMSXGroupFirstForConsumer ?? false)).toEqual([true, false, false, false]);
    // JMSXGroupSeq -1 closes the group: its next message picks a consumer afresh and is marked again.
    await broker.publish(msgTo('sticky', 'A-last', { groupId: 'A', properties: { JMSXGroupSeq: -1 } }), ctx);
    await broker.publish(msgTo('sticky', 'other', {}), ctx);
    await broker.publish(msgTo('sticky', 'A-new', { groupId: 'A' }), ctx);
    const fresh = [...a.items, ...b.items].find((d) => text(d) === 'A-new');
    expect(fresh?.annotations?.JMSXGroupFirstForConsumer).toBe(true);
  });

  it('a group waits for its owner rather than jumping to another consumer', async () => {
    broker = await startBroker();
    const a = new Inbox();
    const b = new Inbox();
    await broker.subscribe({ destination: queue('gw'), prefetch: 1, onMessage: a.onMessage }, ctx);
    await broker.publish(msgTo('gw', 'g1', { groupId: 'G' }), ctx);
    await broker.subscribe({ destination: queue('gw'), prefetch: 10, onMessage: b.onMessage }, ctx);
    await broker.publish(msgTo('gw', 'g2', { groupId: 'G' }), ctx);
    await broker.publish(msgTo('gw', 'other'), ctx);
    expect(a.texts).toEqual(['g1']);
    expect(b.texts).toEqual(['other']);
  });

  it('an exclusive consumer gets everything; the next one takes over when it leaves', async () => {
    broker = await startBroker();
    const a = new Inbox();
    const b = new Inbox();
    const ca = await broker.subscribe({ destination: queue('ex'), exclusive: true, onMessage: a.onMessage }, ctx);
    await broker.subscribe({ destination: queue('ex'), exclusive: true, onMessage: b.onMessage }, ctx);
    for (let i = 0; i < 4; i++) await broker.publish(msgTo('ex', `m${i}`), ctx);
    expect(a.items.length).toBe(4);
    expect(b.items.length).toBe(0);
    ca.ack(a.items[0]!.tag);
    ca.close();
    expect(b.texts).toEqual(['m1', 'm2', 'm3']);
  });

  it('accepts a duplicate dedupId within the window without routing it again', async () => {
    broker = await startBroker({ defaults: { dedupWindowMs: 60_000 } });
    const r1 = await broker.publish(msgTo('dd', 'one', { dedupId: 'x-1' }), ctx);
    const r2 = await broker.publish(msgTo('dd', 'one again', { dedupId: 'x-1' }), ctx);
    const r3 = await broker.publish(msgTo('dd', 'two', { dedupId: 'x-2' }), ctx);
    await broker.publish(msgTo('other', 'same id elsewhere', { dedupId: 'x-1' }), ctx);
    expect([r1.duplicate, r2.duplicate, r3.duplicate]).toEqual([false, true, false]);
    expect(r2.routed).toBe(0);
    expect(broker.getQueue('dd')?.messages).toBe(2);
    expect(broker.getQueue('other')?.messages).toBe(1);
  });

  it('forgets a dedupId once the window has passed', async () => {
    let now = Date.now();
    broker = await startBroker({ now: () => now, defaults: { dedupWindowMs: 20 } });
    await broker.publish(msgTo('dw', 'one', { dedupId: 'k' }), ctx);
    now += 19;
    expect((await broker.publish(msgTo('dw', 'one again', { dedupId: 'k' }), ctx)).duplicate).toBe(true);
    now += 2;
    expect((await broker.publish(msgTo('dw', 'two', { dedupId: 'k' }), ctx)).duplicate).toBe(false);
  });

  it('returns an unsettled delivery after its visibility timeout; the stale tag is refused', async () => {
    broker = await startBroker({ defaults: { visibilityTimeoutMs: 50 } });
    const a = new Inbox();
    const ca = await broker.subscribe({ destination: queue('vt'), onMessage: a.onMessage }, ctx);
    await broker.publish(msgTo('vt', 'x'), ctx);
    await a.waitFor(2, 2000);
    expect(a.items[1]!.deliveryCount).toBe(1);
    expect(() => ca.ack(a.items[0]!.tag)).toThrow(UnknownDeliveryError);
    ca.ack(a.items[1]!.tag);
    expect(broker.getQueue('vt')?.messages).toBe(0);
    expect(broker.getQueue('vt')?.stats.visibilityExpired).toBe(1);
  });

  it('a consumer selector picks matching messages; the others wait for another consumer', async () => {
    broker = await startBroker();
    const red = new Inbox();
    await broker.subscribe({ destination: queue('sel'), selector: "color = 'red'", onMessage: red.onMessage }, ctx);
    for (const color of ['red', 'blue', 'red']) await broker.publish(msgTo('sel', color, { properties: { color } }), ctx);
    expect(red.texts).toEqual(['red', 'red']);
    const any = new Inbox();
    await broker.subscribe({ destination: queue('sel'), onMessage: any.onMessage }, ctx);
    expect(any.texts).toEqual(['blue']);
  });

  it('a bad selector is refused with SelectorSyntaxError and nothing is attached', async () => {
    broker = await startBroker();
    await expect(broker.subscribe({ destination: queue('bad'), selector: 'a ==', onMessage: () => {} }, ctx)).rejects.toThrow(
      SelectorSyntaxError,
    );
    expect(broker.getQueue('bad')).toBeUndefined();
  });

  it('a temporary queue is consumed only by its connection and goes away with it', async () => {
    broker = await startBroker();
    const owner = { connectionId: 'owner' };
    const tmp = broker.createTemporaryQueue(owner);
    const inbox = new Inbox();
    await broker.subscribe({ destination: tmp, onMessage: inbox.onMessage }, owner);
    await expect(broker.subscribe({ destination: tmp, onMessage: () => {} }, { connectionId: 'other' })).rejects.toThrow(
      NotAuthorizedError,
    );
    await broker.publish({ destination: tmp, body: Buffer.from('reply') }, { connectionId: 'other' });
    expect(inbox.texts).toEqual(['reply']);
    broker.connectionClosed('owner');
    expect(broker.getQueue(tmp.name)).toBeUndefined();
  });

  it('enforces authorization when a principal is given; creating needs admin', async () => {
    const security = new SecurityService({
      allowAnonymous: false,
      anonymousUser: 'anonymous',
      anonymousGroups: [],
      users: [],
      temporaryDestinationGroups: [],
      authorization: [
        { queue: 'orders.>', read: ['consumers'], write: ['producers'], admin: ['producers'] },
        { queue: 'audit', read: [], write: ['producers'], admin: [] },
      ],
    });
    broker = await startBroker({ authorizer: security });
    const producer: Principal = { username: 'p', groups: new Set(['producers']), anonymous: false };
    const consumer: Principal = { username: 'c', groups: new Set(['consumers']), anonymous: false };
    await broker.publish(msgTo('orders.eu', 'x'), { connectionId: '1', principal: producer });
    await expect(broker.publish(msgTo('orders.eu', 'x'), { connectionId: '2', principal: consumer })).rejects.toThrow(
      'User c is not authorized to write to queue://orders.eu',
    );
    await expect(broker.publish(msgTo('audit', 'x'), { connectionId: '1', principal: producer })).rejects.toThrow(
      'User p is not authorized to create queue://audit',
    );
    await expect(broker.publish(msgTo('elsewhere', 'x'), { connectionId: '1', principal: producer })).rejects.toThrow(NotAuthorizedError);
    const inbox = new Inbox();
    await broker.subscribe({ destination: queue('orders.eu'), onMessage: inbox.onMessage }, { connectionId: '2', principal: consumer });
    expect(inbox.texts).toEqual(['x']);
  });

  it('stamps the authenticated user on the message, whatever the client said', async () => {
    broker = await startBroker();
    const inbox = new Inbox();
    await broker.subscribe({ destination: queue('who'), onMessage: inbox.onMessage }, ctx);
    const alice: Principal = { username: 'alice', groups: new Set(), anonymous: false };
    await broker.publish(msgTo('who', 'x', { properties: { JMSXUserID: 'mallory' } }), { connectionId: 'c', principal: alice });
    expect(inbox.items[0]!.message.userId).toBe('alice');
  });

  it('refuses invalid messages with a readable error', async () => {
    broker = await startBroker();
    await expect(broker.publish(msgTo('v', 'x', { priority: 12 }), ctx)).rejects.toThrow(/Priority must be an integer from 0 to 9/);
    await expect(broker.publish(msgTo('v', 'x', { properties: { o: {} as unknown as string } }), ctx)).rejects.toThrow(
      /must be a string, number or boolean/,
    );
  });

  it("skips what a consumer's admit test refuses, and offers it again on redispatch", async () => {
    broker = await startBroker();
    const held = new Set(['g1']);
    const inbox = new Inbox();
    const c = await broker.subscribe(
      { destination: queue('admit'), admit: (m) => !held.has(m.groupId ?? ''), onMessage: inbox.onMessage },
      ctx,
    );
    await broker.publish(msgTo('admit', 'a', { groupId: 'g1' }), ctx);
    await broker.publish(msgTo('admit', 'b', { groupId: 'g2' }), ctx);
    expect(inbox.texts).toEqual(['b']);
    held.clear();
    c.redispatch();
    expect(inbox.texts).toEqual(['b', 'a']);
  });

  it("takes an adapter's rules for a named queue: no dead-lettering, or a dead-letter queue it names", async () => {
    broker = await startBroker({ defaults: { maxDeliveries: 2 } });
    broker.setQueueRules('ruled', { maxDeliveries: 0, deadLetterQueue: null });
    const inbox = new Inbox();
    const c = await broker.subscribe({ destination: queue('ruled'), onMessage: inbox.onMessage }, ctx);
    await broker.publish(msgTo('ruled', 'again and again'), ctx);
    for (let i = 1; i <= 4; i++) c.release(inbox.items[i - 1]!.tag);
    expect(inbox.items).toHaveLength(5);
    expect(inbox.items[4]!.deliveryCount).toBe(4);
    broker.setQueueRules('ruled', { maxDeliveries: 6, deadLetterQueue: 'ruled-dead' });
    c.release(inbox.items[4]!.tag);
    c.release(inbox.items[5]!.tag);
    expect(broker.getQueue('ruled-dead')?.messages).toBe(1);
    expect(broker.getQueue('ruled')?.messages).toBe(0);
  });
});
