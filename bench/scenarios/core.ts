// Core scenario: one producer keeping `window` publishes outstanding into one queue, one consumer
// acking each delivery, 1 KB bodies by default. Reports messages/s acked and the publish -> delivery
// latency percentiles (HdrHistogram, microseconds) over the measured period.
import * as hdr from 'hdr-histogram-js';
import { pino } from 'pino';
import { Broker } from '../../src/core/broker.ts';
import { queue } from '../../src/core/destination.ts';
import { makeStore, type StoreChoice } from '../lib/store.ts';
import { redisBenchmark } from '../lib/redis-benchmark.ts';

export interface CoreScenario extends StoreChoice {
  seconds: number;
  size: number;
  window: number;
  prefetch: number;
  persistent: boolean;
  /** Ack in a later turn, as a consumer across a network does (no delivered-mark is elided then). */
  ackLater: boolean;
}

export async function runCoreScenario(s: CoreScenario): Promise<Record<string, unknown>> {
  const broker = new Broker({ store: await makeStore(s), log: pino({ level: 'warn' }), expirySweepMs: 0 });
  await broker.start();
  const ctx = { connectionId: 'bench' };
  const dest = queue(`bench.core.${Date.now()}`);
  const body = Buffer.alloc(s.size, 0x61);
  const latency = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  let acked = 0;
  let measuring = false;
  const consumer = await broker.subscribe(
    {
      destination: dest,
      prefetch: s.prefetch,
      onMessage: (d) => {
        if (measuring) {
          acked++;
          latency.recordValue(Math.max(1, Math.round((performance.now() - (d.message.properties.t as number)) * 1000)));
        }
        if (s.ackLater) setImmediate(() => consumer.ack(d.tag));
        else consumer.ack(d.tag);
      },
    },
    ctx,
  );

  let running = true;
  const producer = async (): Promise<void> => {
    for (let n = 1; running; n++) {
      await broker.publish({ destination: dest, body, persistent: s.persistent, properties: { t: performance.now() } }, ctx);
      // A non-persistent publish settles in microtasks; yield now and then so timers (and the end of the run) get a turn.
      if (n % 100 === 0) await new Promise((r) => setImmediate(r));
    }
  };
  const workers = Array.from({ length: s.window }, producer);

  await new Promise((r) => setTimeout(r, Math.min(2000, s.seconds * 200))); // warm-up, not measured
  measuring = true;
  const t0 = performance.now();
  const mem0 = process.memoryUsage().rss;
  await new Promise((r) => setTimeout(r, s.seconds * 1000));
  measuring = false;
  const elapsed = (performance.now() - t0) / 1000;
  running = false;
  await Promise.all(workers);
  const writes = broker.operations.writerStats();
  const rssMb = Math.round(Math.max(mem0, process.memoryUsage().rss) / 1e6);
  await broker.close();
  return {
    scenario: 'core',
    store: s.store,
    persistent: s.persistent,
    ackLater: s.ackLater,
    bodyBytes: s.size,
    window: s.window,
    prefetch: s.prefetch,
    seconds: Number(elapsed.toFixed(2)),
    msgsPerSec: Math.round(acked / elapsed),
    latencyUs: { p50: latency.getValueAtPercentile(50), p99: latency.getValueAtPercentile(99), max: latency.maxValue },
    storeBatches: writes.batches,
    storeOpsPerBatch: writes.batches ? Number((writes.ops / writes.batches).toFixed(1)) : 0,
    storeOpsElided: writes.elided,
    rssMb,
    // The same Redis server under plain commands, for comparison.
    redisBenchmarkRps: s.store === 'redis' ? await redisBenchmark(s.redisUrl, s.size) : undefined,
    node: process.version,
  };
}
