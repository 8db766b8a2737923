// Backlog scenario: `messages` persistent messages into one queue with no consumer, then one
// consumer (prefetch 1000, acking each) drains it. Reports both rates and the broker's largest
// heap, which paging must keep bounded however long the queue grows.
import { pino } from 'pino';
import { Broker } from '../../src/core/broker.ts';
import { queue } from '../../src/core/destination.ts';
import { makeStore, type StoreChoice } from '../lib/store.ts';

export interface BacklogScenario extends StoreChoice {
  messages: number;
  size: number;
}

export async function runBacklogScenario(s: BacklogScenario): Promise<Record<string, unknown>> {
  const broker = new Broker({ store: await makeStore(s), log: pino({ level: 'warn' }), expirySweepMs: 0 });
  await broker.start();
  const ctx = { connectionId: 'bench' };
  const dest = queue(`bench.backlog.${Date.now()}`);
  const body = Buffer.alloc(s.size, 0x62);
  let maxHeap = 0;
  const sampler = setInterval(() => {
    maxHeap = Math.max(maxHeap, process.memoryUsage().heapUsed);
  }, 50);

  const t0 = performance.now();
  let next = 0;
  const producer = async (): Promise<void> => {
    while (next < s.messages) {
      next++;
      await broker.publish({ destination: dest, body, persistent: true }, ctx);
    }
  };
  await Promise.all(Array.from({ length: 1000 }, producer));
  const publishSec = (performance.now() - t0) / 1000;
  const filled = broker.getQueue(dest.name);

  const t1 = performance.now();
  let received = 0;
  await new Promise<void>((resolve, reject) => {
    let consumer: Awaited<ReturnType<Broker['subscribe']>> | undefined;
    const early: number[] = [];
    broker
      .subscribe(
        {
          destination: dest,
          prefetch: 1000,
          onMessage: (d) => {
            received++;
            if (consumer) consumer.ack(d.tag);
            else early.push(d.tag);
            if (received === s.messages) resolve();
          },
        },
        ctx,
      )
      .then((c) => {
        consumer = c;
        for (const tag of early) c.ack(tag);
      }, reject);
  });
  const drainSec = (performance.now() - t1) / 1000;
  clearInterval(sampler);
  await broker.close();
  return {
    scenario: 'backlog',
    store: s.store,
    messages: s.messages,
    bodyBytes: s.size,
    pagedAtPeak: filled?.paged,
    publishMsgsPerSec: Math.round(s.messages / publishSec),
    drainMsgsPerSec: Math.round(s.messages / drainSec),
    maxHeapMb: Math.round(maxHeap / 1e6),
    node: process.version,
  };
}
