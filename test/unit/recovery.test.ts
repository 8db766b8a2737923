// Restart and failover through the core: a broker started on existing store data rebuilds its
// queues, durable subscriptions, retained messages and dedup window; messages that were in flight
// come back redelivered; a broker whose epoch is superseded cannot write any more.
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker } from '../../src/core/broker.ts';
import { queue, topic } from '../../src/core/destination.ts';
import { FencedError } from '../../src/shared/errors.ts';
import { createMessage } from '../../src/core/message.ts';
import { MemoryData } from '../../src/store/memory-store.ts';
import { Inbox, ctx, msgTo, startBroker } from '../helpers/core.ts';

const brokers: Broker[] = [];
afterEach(async () => {
  for (const b of brokers.splice(0)) await b.close();
});
async function start(data: MemoryData, epoch: number, extra: Parameters<typeof startBroker>[0] = {}): Promise<Broker> {
  const b = await startBroker({ data, epoch, ...extra });
  brokers.push(b);
  return b;
}

describe('recovery', () => {
  it('persistent messages, durable subscriptions and in-flight messages survive a restart', async () => {
    const data = new MemoryData();
    const first = await start(data, 1);
    const inbox = new Inbox();
    const c = await first.subscribe({ destination: queue('jobs'), prefetch: 2, onMessage: inbox.onMessage }, ctx);
    for (let i = 0; i < 4; i++) await first.publish(msgTo('jobs', `p${i}`, { persistent: true }), ctx);
    await first.publish(msgTo('jobs', 'non-persistent'), ctx);
    c.ack(inbox.items[0]!.tag); // p0 done; p1 and p2 in flight
    const sub = await first.subscribe({ destination: topic('events'), durable: { clientId: 'c1', name: 's' }, onMessage: () => {} }, ctx);
    sub.close();
    await first.publish(msgTo('topic://events', 'while-offline', { persistent: true }), ctx);
    await first.publish(msgTo('delayed', 'later', { persistent: true, deliverAt: Date.now() + 60_000 }), ctx);
    await first.close();

    const second = await start(data, 2);
    const again = new Inbox();
    await second.subscribe({ destination: queue('jobs'), onMessage: again.onMessage }, ctx);
    expect(again.texts).toEqual(['p1', 'p2', 'p3']);
    expect(again.items.map((d) => [d.redelivered, d.deliveryCount])).toEqual([
      [true, 1],
      [true, 1],
      [false, 0],
    ]);
    const events = new Inbox();
    await second.subscribe({ destination: topic('events'), durable: { clientId: 'c1', name: 's' }, onMessage: events.onMessage }, ctx);
    expect(events.texts).toEqual(['while-offline']);
    expect(second.getQueue('delayed')).toMatchObject({ messages: 1, ready: 0 });
  });

  it('a message in flight at every crash reaches the DLQ after maxDeliveries restarts', async () => {
    const data = new MemoryData();
    let b = await start(data, 1, { defaults: { maxDeliveries: 2 } });
    await b.publish(msgTo('crashy', 'poison', { persistent: true }), ctx);
    for (let epoch = 2; epoch <= 3; epoch++) {
      await b.subscribe({ destination: queue('crashy'), onMessage: () => {} }, ctx);
      await b.close();
      b = await start(data, epoch, { defaults: { maxDeliveries: 2 } });
    }
    expect(b.getQueue('crashy')?.messages ?? 0).toBe(0);
    expect(b.getQueue('DLQ.crashy')?.messages).toBe(1);
  });

  it('close waits for settlement writes: an acked message does not come back', async () => {
    const data = new MemoryData();
    const first = await start(data, 1);
    const inbox = new Inbox();
    const c = await first.subscribe({ destination: queue('acked'), onMessage: inbox.onMessage }, ctx);
    await first.publish(msgTo('acked', 'done', { persistent: true }), ctx);
    c.ack(inbox.items[0]!.tag);
    await first.close();
    const second = await start(data, 2);
    expect(second.getQueue('acked')?.messages).toBe(0);
  });

  it('retained messages and the dedup window survive a restart', async () => {
    const data = new MemoryData();
    const first = await start(data, 1);
    await first.retain('status.dev1', createMessage({ destination: topic('status.dev1'), body: Buffer.from('up') }, undefined, Date.now()));
    await first.publish(msgTo('orders', 'o1', { persistent: true, dedupId: 'order-1' }), ctx);
    await first.close();
    const second = await start(data, 2);
    expect(second.retainedFor('status.*').map((m) => Buffer.from(m.body).toString())).toEqual(['up']);
    expect((await second.publish(msgTo('orders', 'o1 again', { persistent: true, dedupId: 'order-1' }), ctx)).duplicate).toBe(true);
  });

  it('a broker whose epoch was superseded can no longer write and is told so', async () => {
    const data = new MemoryData();
    const errors: unknown[] = [];
    const stale = await start(data, 1, { onStoreError: (e) => errors.push(e) });
    const inbox = new Inbox();
    const c = await stale.subscribe({ destination: queue('q'), onMessage: inbox.onMessage }, ctx);
    await stale.publish(msgTo('q', 'm', { persistent: true }), ctx);
    const current = await start(data, 2);
    await expect(stale.publish(msgTo('q', 'late', { persistent: true }), ctx)).rejects.toThrow(FencedError);
    c.ack(inbox.items[0]!.tag);
    await stale.flush();
    expect(errors.some((e) => e instanceof FencedError)).toBe(true);
    const fresh = new Inbox();
    await current.subscribe({ destination: queue('q'), onMessage: fresh.onMessage }, ctx);
    expect(fresh.texts).toEqual(['m']); // the stale ack did not count
  });
});
