// Recent figures for the console's charts and the API's rates: the broker's message rates (in and
// out per second, over every queue) and each queue's enqueue and dequeue rates, sampled every few
// seconds, and the depth of queues someone is looking at, kept in bounded rings. Only watched queues (asked for in the last ten minutes) are sampled, so a broker
// with 100,000 MQTT session queues keeps no history for them.
import type { Broker } from '../core/broker.ts';

export interface Sample {
  /** Wall-clock ms. */
  t: number;
  [series: string]: number;
}

const KEEP = 360;
const WATCH_MS = 10 * 60_000;

export interface QueueRates {
  /** Messages per second over the last sampling interval. */
  enqueueRate: number;
  dequeueRate: number;
}

export class History {
  readonly rates: Sample[] = [];
  /** Per queue, its rates over the last interval. */
  private queueRates = new Map<string, QueueRates>();
  private lastCounts = new Map<string, { enqueued: number; acked: number }>();
  private readonly depths = new Map<string, { samples: Sample[]; watchedUntil: number }>();
  private last: { t: number; enqueued: number; dispatched: number } | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly broker: () => Broker | undefined,
    readonly intervalMs = 5000,
  ) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** `queue`'s enqueue and dequeue rates over the last interval (0 before two samples). */
  ratesOf(queue: string): QueueRates {
    return this.queueRates.get(queue) ?? { enqueueRate: 0, dequeueRate: 0 };
  }

  /** The depth samples of `queue`, which is sampled from now on for ten minutes. */
  depth(queue: string): Sample[] {
    let d = this.depths.get(queue);
    if (!d) {
      d = { samples: [], watchedUntil: 0 };
      this.depths.set(queue, d);
      this.sampleQueue(queue, d.samples, Date.now());
    }
    d.watchedUntil = Date.now() + WATCH_MS;
    return d.samples;
  }

  /** Takes one sample (the timer calls this every `intervalMs`). */
  sample(now = Date.now()): void {
    const b = this.broker();
    if (!b) {
      this.last = undefined;
      return;
    }
    let enqueued = b.retiredStats.enqueued;
    let dispatched = b.retiredStats.dispatched;
    const counts = new Map<string, { enqueued: number; acked: number }>();
    const rates = new Map<string, QueueRates>();
    const secs = this.last ? (now - this.last.t) / 1000 : 0;
    for (const q of b.listQueues()) {
      enqueued += q.stats.enqueued;
      dispatched += q.stats.dispatched;
      counts.set(q.name, { enqueued: q.stats.enqueued, acked: q.stats.acked });
      // A queue created since the last sample counts from zero.
      const before = this.lastCounts.get(q.name) ?? { enqueued: 0, acked: 0 };
      if (secs > 0) {
        rates.set(q.name, {
          enqueueRate: round(Math.max(0, q.stats.enqueued - before.enqueued) / secs),
          dequeueRate: round(Math.max(0, q.stats.acked - before.acked) / secs),
        });
      }
    }
    this.lastCounts = counts;
    this.queueRates = rates;
    if (this.last && now > this.last.t) {
      const secs = (now - this.last.t) / 1000;
      push(this.rates, {
        t: now,
        in: Math.max(0, (enqueued - this.last.enqueued) / secs),
        out: Math.max(0, (dispatched - this.last.dispatched) / secs),
      });
    }
    this.last = { t: now, enqueued, dispatched };
    for (const [name, d] of this.depths) {
      if (d.watchedUntil < now) this.depths.delete(name);
      else this.sampleQueue(name, d.samples, now);
    }
  }

  private sampleQueue(name: string, samples: Sample[], now: number): void {
    const q = this.broker()?.getQueue(name);
    if (q) push(samples, { t: now, depth: q.messages, inflight: q.inflight });
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

function push(ring: Sample[], s: Sample): void {
  ring.push(s);
  if (ring.length > KEEP) ring.shift();
}
