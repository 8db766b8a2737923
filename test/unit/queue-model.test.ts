// Model-based check of queue delivery: random sequences of publishes, settlements and consumer
// churn, with invariants checked after every step: no message lost or duplicated, no consumer over
// its window, no ready message left while a consumer has room, FIFO first deliveries per priority.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Consumer, Delivery } from '../../src/core/consumer.ts';
import { queue } from '../../src/core/destination.ts';
import { ctx, msgTo, startBroker, text } from '../helpers/core.ts';

type Op =
  | { t: 'publish'; priority: number }
  | { t: 'ack' | 'reject' | 'releaseFailed' | 'releaseOk'; c: number; k: number }
  | { t: 'open'; prefetch: number }
  | { t: 'close'; c: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('publish' as const), priority: fc.integer({ min: 0, max: 9 }) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('ack' as const), c: fc.nat(3), k: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('reject' as const), c: fc.nat(3), k: fc.nat(5) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('releaseFailed' as const), c: fc.nat(3), k: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('releaseOk' as const), c: fc.nat(3), k: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('open' as const), prefetch: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('close' as const), c: fc.nat(3) }) },
);

interface Member {
  consumer: Consumer;
  prefetch: number;
  unsettled: Delivery[];
}

describe('queue model', () => {
  it('never loses, duplicates or strands a message', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 80 }), async (ops) => {
        const broker = await startBroker({ defaults: { maxDeliveries: 3 } });
        try {
          let published = 0;
          const acked = new Set<string>();
          const rejected = new Set<string>();
          const firstDeliveries: Array<{ id: number; priority: number }> = [];
          const seen = new Set<string>();
          const members: Member[] = [];
          const open = async (prefetch: number) => {
            const m: Member = { consumer: undefined as unknown as Consumer, prefetch, unsettled: [] };
            m.consumer = await broker.subscribe(
              {
                destination: queue('q'),
                prefetch,
                onMessage: (d) => {
                  const body = text(d);
                  expect(acked.has(body)).toBe(false);
                  if (!seen.has(body)) firstDeliveries.push({ id: Number(body), priority: d.message.priority });
                  seen.add(body);
                  m.unsettled.push(d);
                },
              },
              ctx,
            );
            members.push(m);
          };
          await open(2);

          for (const o of ops) {
            if (o.t === 'publish') {
              await broker.publish(msgTo('q', String(published++), { priority: o.priority }), ctx);
            } else if (o.t === 'open') {
              await open(o.prefetch);
            } else {
              const m = members[o.c % Math.max(1, members.length)];
              if (!m) continue;
              if (o.t === 'close') {
                members.splice(members.indexOf(m), 1);
                m.unsettled = [];
                m.consumer.close();
                continue;
              }
              const d = m.unsettled[o.k % Math.max(1, m.unsettled.length)];
              if (!d) continue;
              m.unsettled.splice(m.unsettled.indexOf(d), 1);
              if (o.t === 'ack') {
                m.consumer.ack(d.tag);
                acked.add(text(d));
              } else if (o.t === 'reject') {
                m.consumer.reject(d.tag, 'model');
                rejected.add(text(d));
              } else m.consumer.release(d.tag, { failed: o.t === 'releaseFailed' });
            }

            // Invariants after every step.
            const q = broker.getQueue('q')!;
            const dlq = broker.getQueue('DLQ.q')?.messages ?? 0;
            const inflight = members.flatMap((m) => m.unsettled.map(text));
            expect(new Set(inflight).size).toBe(inflight.length);
            expect(q.inflight).toBe(inflight.length);
            expect(q.messages + acked.size + dlq).toBe(published);
            for (const m of members) expect(m.unsettled.length).toBeLessThanOrEqual(m.prefetch);
            if (q.ready > 0) for (const m of members) expect(m.unsettled.length).toBe(m.prefetch);
          }

          // Within a priority, first deliveries follow publish order.
          for (let p = 0; p <= 9; p++) {
            const ids = firstDeliveries.filter((f) => f.priority === p).map((f) => f.id);
            expect(ids).toEqual([...ids].sort((a, b) => a - b));
          }
          // Drain: everything not acked is still deliverable, or dead-lettered (rejects included).
          for (const m of members.splice(0)) m.consumer.close();
          const rest: string[] = [];
          const last = await broker.subscribe({ destination: queue('q'), prefetch: 100_000, onMessage: (d) => rest.push(text(d)) }, ctx);
          const dlq = broker.getQueue('DLQ.q')?.messages ?? 0;
          expect(rest.length + acked.size + dlq).toBe(published);
          expect(dlq).toBeGreaterThanOrEqual(rejected.size);
          for (const id of rest) expect(acked.has(id)).toBe(false);
          last.close();
        } finally {
          await broker.close();
        }
      }),
      { numRuns: 300 },
    );
  });
});
