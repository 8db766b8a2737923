// The console's and API's recent figures: broker-wide rates in and out, per-queue enqueue and
// dequeue rates, and depth samples only for queues someone watches.
import { describe, expect, it } from 'vitest';
import { History } from '../../src/admin/history.ts';
import { queue } from '../../src/core/destination.ts';
import { ctx, msgTo, startBroker } from '../helpers/core.ts';

describe('admin history', () => {
  it('turns counters into rates between two samples, and samples depth for watched queues only', async () => {
    const broker = await startBroker();
    const h = new History(() => broker);
    h.sample(10_000);
    for (let i = 0; i < 10; i++) await broker.publish(msgTo('orders', `o${i}`), ctx);
    await broker.publish(msgTo('other', 'x'), ctx);
    const got: number[] = [];
    const c = await broker.subscribe({ destination: queue('orders'), onMessage: (d) => got.push(d.tag) }, ctx);
    for (const tag of got.slice(0, 4)) c.ack(tag);
    expect(h.depth('orders')).toEqual([{ t: expect.any(Number), depth: 6, inflight: 6 }]);
    h.sample(12_000);
    expect(h.ratesOf('orders')).toEqual({ enqueueRate: 5, dequeueRate: 2 });
    expect(h.ratesOf('other')).toEqual({ enqueueRate: 0.5, dequeueRate: 0 });
    expect(h.rates).toEqual([{ t: 12_000, in: 5.5, out: 5 }]);
    expect(h.depth('orders').map((s) => s.depth)).toEqual([6, 6]);
    await broker.close();
  });
});
