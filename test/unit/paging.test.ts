// Paging: a queue holds at most its window of ready and in-flight messages in memory; persistent
// messages beyond it wait in the store and come back in order (highest priority first) as the
// window drains, also after a restart. Non-persistent messages are never paged out.
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker, SubscribeRequest } from '../../src/core/broker.ts';
import type { Consumer } from '../../src/core/consumer.ts';
import { queue, topic } from '../../src/core/destination.ts';
import { MemoryData } from '../../src/store/memory-store.ts';
import { Inbox, ctx, msgTo, startBroker, text } from '../helpers/core.ts';

const brokers: Broker[] = [];
afterEach(async () => {
  for (const b of brokers.splice(0)) await b.close();
});
async function start(opts: Parameters<typeof startBroker>[0] = {}): Promise<Broker> {
  const b = await startBroker({ defaults: { pageWindowMessages: 10 }, ...opts });
  brokers.push(b);
  return b;
}
const persistent = { persistent: true };

/** Subscribes and acks every delivery as it arrives (also those delivered during `subscribe`). */
async function consumeAll(b: Broker, req: Omit<SubscribeRequest, 'onMessage'>, inbox: Pick<Inbox, 'onMessage'>): Promise<Consumer> {
  const ref: { consumer?: Consumer } = {};
  const early: number[] = [];
  const consumer = await b.subscribe(
    {
      ...req,
      onMessage: (d) => {
        inbox.onMessage(d);
        if (ref.consumer) ref.consumer.ack(d.tag);
        else early.push(d.tag);
      },
    },
    ctx,
  );
  ref.consumer = consumer;
  for (const tag of early) consumer.ack(tag);
  return consumer;
}

describe('paging', () => {
  it('keeps only the window in memory and delivers the whole backlog once, in order', async () => {
    const b = await start();
    for (let i = 0; i < 100; i++) await b.publish(msgTo('backlog', `m${i}`, persistent), ctx);
    expect(b.getQueue('backlog')).toMatchObject({ messages: 100, ready: 100, paged: 90 });
    const inbox = new Inbox();
    await consumeAll(b, { destination: queue('backlog'), prefetch: 7 }, inbox);
    await inbox.waitFor(100);
    expect(inbox.texts).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`));
    expect(b.getQueue('backlog')).toMatchObject({ messages: 0, ready: 0, paged: 0 });
    await b.flush();
    expect((await b.store.stats()).entries).toBe(0);
  });

  it('bounds the window by bytes as well as by count', async () => {
    const b = await start({ defaults: { pageWindowMessages: 1000, pageWindowBytes: 10_000 } });
    const body = 'x'.repeat(2000);
    for (let i = 0; i < 20; i++) await b.publish(msgTo('big', body, persistent), ctx);
    const info = b.getQueue('big')!;
    expect(info.messages).toBe(20);
    expect(info.bytes - info.paged * (2000 + 256)).toBeLessThanOrEqual(10_000 + 2256);
    expect(info.paged).toBeGreaterThanOrEqual(15);
  });

  it('pages the highest priority back in first, FIFO within a priority', async () => {
    const b = await start({ defaults: { pageWindowMessages: 4 } });
    for (let i = 0; i < 4; i++) await b.publish(msgTo('prio', `low-r${i}`, { ...persistent, priority: 1 }), ctx);
    for (let i = 0; i < 6; i++) await b.publish(msgTo('prio', `low-p${i}`, { ...persistent, priority: 1 }), ctx);
    for (let i = 0; i < 6; i++) await b.publish(msgTo('prio', `high-p${i}`, { ...persistent, priority: 8 }), ctx);
    expect(b.getQueue('prio')?.paged).toBe(12);
    const inbox = new Inbox();
    await consumeAll(b, { destination: queue('prio'), prefetch: 1 }, inbox);
    await inbox.waitFor(16);
    const got = inbox.texts;
    expect(got.filter((t) => t.startsWith('high'))).toEqual(Array.from({ length: 6 }, (_, i) => `high-p${i}`));
    expect(got.filter((t) => t.startsWith('low'))).toEqual([
      ...Array.from({ length: 4 }, (_, i) => `low-r${i}`),
      ...Array.from({ length: 6 }, (_, i) => `low-p${i}`),
    ]);
    // Every high-priority message overtakes every low one that was paged out with it.
    expect(got.indexOf('high-p5')).toBeLessThan(got.indexOf('low-p0'));
  });

  it('a consumer holding many unsettled messages does not starve another one', async () => {
    const b = await start();
    for (let i = 0; i < 40; i++) await b.publish(msgTo('shared', `m${i}`, persistent), ctx);
    const hoarder = new Inbox();
    await b.subscribe({ destination: queue('shared'), prefetch: 7, onMessage: hoarder.onMessage }, ctx);
    await hoarder.waitFor(7);
    const worker = new Inbox();
    await consumeAll(b, { destination: queue('shared'), prefetch: 2 }, worker);
    await worker.waitFor(33);
    expect(new Set([...hoarder.texts, ...worker.texts]).size).toBe(40);
  });

  it('never pages out non-persistent messages', async () => {
    const b = await start();
    for (let i = 0; i < 30; i++) await b.publish(msgTo('mixed', `p${i}`, persistent), ctx);
    for (let i = 0; i < 5; i++) await b.publish(msgTo('mixed', `n${i}`), ctx);
    expect(b.getQueue('mixed')).toMatchObject({ messages: 35, paged: 20 });
    const inbox = new Inbox();
    await consumeAll(b, { destination: queue('mixed') }, inbox);
    await inbox.waitFor(35);
    expect(new Set(inbox.texts).size).toBe(35);
  });

  it('counts paged-out messages against the queue limits', async () => {
    const b = await start({ policies: [{ match: 'queue://capped', maxMessages: 25, overflow: 'reject' }] });
    for (let i = 0; i < 25; i++) await b.publish(msgTo('capped', `m${i}`, persistent), ctx);
    await expect(b.publish(msgTo('capped', 'one too many', persistent), ctx)).rejects.toThrow(/maxMessages 25/);
  });

  it('scheduled messages do not fill the window: due messages keep flowing past them', async () => {
    const b = await start();
    for (let i = 0; i < 15; i++) await b.publish(msgTo('sched', `later${i}`, { ...persistent, deliverAt: Date.now() + 3_600_000 }), ctx);
    for (let i = 0; i < 30; i++) await b.publish(msgTo('sched', `now${i}`, persistent), ctx);
    const inbox = new Inbox();
    await consumeAll(b, { destination: queue('sched') }, inbox);
    await inbox.waitFor(30);
    expect(inbox.texts).toEqual(Array.from({ length: 30 }, (_, i) => `now${i}`));
    expect(b.getQueue('sched')).toMatchObject({ messages: 15, ready: 0 });
  });

  it('scheduled messages beyond the window wait in the store and arrive when due, not before', async () => {
    const b = await start();
    const due = Date.now() + 300;
    for (let i = 0; i < 30; i++) await b.publish(msgTo('timed', `t${i}`, { ...persistent, deliverAt: due + i }), ctx);
    expect(b.getQueue('timed')).toMatchObject({ messages: 30, ready: 0, paged: 20 });
    const inbox = new Inbox();
    const arrived: number[] = [];
    await consumeAll(
      b,
      { destination: queue('timed') },
      {
        onMessage: (d) => {
          arrived.push(Date.now());
          inbox.onMessage(d);
        },
      },
    );
    await inbox.waitFor(30);
    expect(new Set(inbox.texts)).toEqual(new Set(Array.from({ length: 30 }, (_, i) => `t${i}`)));
    expect(Math.min(...arrived)).toBeGreaterThanOrEqual(due);
    await b.flush();
    expect(b.getQueue('timed')).toMatchObject({ messages: 0, paged: 0 });
  });

  it('a restart keeps scheduled messages that were paged out, and delivers them when due', async () => {
    const data = new MemoryData();
    const first = await start({ data, epoch: 1, defaults: { pageWindowMessages: 5 } });
    const due = Date.now() + 300;
    for (let i = 0; i < 12; i++) await first.publish(msgTo('timed', `t${i}`, { ...persistent, deliverAt: due }), ctx);
    expect(first.getQueue('timed')?.paged).toBe(7);
    await first.close();
    brokers.splice(brokers.indexOf(first), 1);
    const second = await start({ data, epoch: 2, defaults: { pageWindowMessages: 5 } });
    expect(second.getQueue('timed')).toMatchObject({ messages: 12, paged: 7 });
    const inbox = new Inbox();
    await consumeAll(second, { destination: queue('timed') }, inbox);
    await inbox.waitFor(12);
    expect(inbox.texts.sort()).toEqual(Array.from({ length: 12 }, (_, i) => `t${i}`).sort());
  });

  it('a restart finds the backlog where it was: resident and paged-out messages, in-flight ones redelivered', async () => {
    const data = new MemoryData();
    const first = await start({ data, epoch: 1 });
    for (let i = 0; i < 40; i++) await first.publish(msgTo('kept', `m${i}`, persistent), ctx);
    const held = new Inbox();
    const c = await first.subscribe({ destination: queue('kept'), prefetch: 3, onMessage: held.onMessage }, ctx);
    await held.waitFor(3);
    c.ack(held.items[0]!.tag);
    await first.close();
    brokers.splice(brokers.indexOf(first), 1);

    const second = await start({ data, epoch: 2 });
    expect(second.getQueue('kept')).toMatchObject({ messages: 39 });
    const inbox = new Inbox();
    await consumeAll(second, { destination: queue('kept') }, inbox);
    await inbox.waitFor(39);
    expect(inbox.texts).toEqual(Array.from({ length: 39 }, (_, i) => `m${i + 1}`));
    // m1..m3 were in flight (prefetch 3 refilled after m0's ack).
    expect(inbox.items.slice(0, 4).map((d) => d.redelivered)).toEqual([true, true, true, false]);
  });

  it('an offline durable subscription pages its backlog too', async () => {
    const b = await start();
    const sub = await b.subscribe({ destination: topic('feed'), durable: { clientId: 'c', name: 'd' }, onMessage: () => {} }, ctx);
    sub.close();
    for (let i = 0; i < 50; i++) await b.publish(msgTo('topic://feed', `f${i}`, persistent), ctx);
    const [subInfo] = b.listSubscriptions();
    expect(subInfo).toBeDefined();
    const name = subInfo!.name;
    // The window (10) stays in memory; the other 40 are only in the store.
    expect(b.getQueue(name)).toMatchObject({ messages: 50, ready: 50, paged: 40 });
    await b.flush();
    expect(await b.store.pagedStats(name)).toMatchObject({ count: 40 });
    const inbox = new Inbox();
    await consumeAll(b, { destination: topic('feed'), durable: { clientId: 'c', name: 'd' } }, inbox);
    await inbox.waitFor(50);
    expect(inbox.items.map(text)).toEqual(Array.from({ length: 50 }, (_, i) => `f${i}`));
    expect(b.getQueue(name)).toMatchObject({ messages: 0, paged: 0 });
    await b.flush();
    expect(await b.store.pagedStats(name)).toMatchObject({ count: 0 });
  });
});
