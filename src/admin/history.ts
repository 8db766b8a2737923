// Recent figures for the console's charts: the broker's message rates (in and out per second,
// over every queue) and the depth of queues someone is looking at, sampled every few seconds into
// bounded rings. Only watched queues (asked for in the last ten minutes) are sampled, so a broker
// with 100,000 MQTT session queues keeps no history for them.
import type { Broker } from '../core/broker.ts';

export interface Sample {
  /** Wall-clock ms. */
  t: number;
  [series: string]: number;
}

const KEEP = 360;
const WATCH_MS = 10 * 60_000;

export class History {
  readonly rates: Sample[] = [];
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

  private sample(): void {
    const b = this.broker();
    if (!b) {
      this.last = undefined;
      return;
    }
    const now = Date.now();
    let enqueued = b.retiredStats.enqueued;
    let dispatched = b.retiredStats.dispatched;
    for (const q of b.listQueues()) {
      enqueued += q.stats.enqueued;
      dispatched += q.stats.dispatched;
    }
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

function push(ring: Sample[], s: Sample): void {
  ring.push(s);
  if (ring.length > KEEP) ring.shift();
}
