// The broker-wide memory guard (limits.memoryHighWatermark, RabbitMQ's memory alarm): the process's
// resident set, buffers included, is sampled 20 times a second; at or above the watermark every
// publish waits (adapters then stop reading publishers' sockets, hold acknowledgements and AMQP
// credit) until memory falls again. The alarm is logged once when raised and once when cleared.
// The V8 heap has a limit of its own, past which the process dies whatever the watermark: the heap
// at 85% of that limit raises the alarm too, and it clears only once the heap is below 75%.
// Freed memory is not always returned to the system (the allocator keeps it for reuse), so the
// alarm also clears when what the process holds live (V8 heap plus buffers) is down to half the
// watermark: the resident set then grows again only once live memory outgrows what the allocator
// kept. What consumers free is garbage until V8 collects it, which it may not do while publishers
// are held and little else allocates; so once the broker's own count of message bytes in memory has
// halved since the alarm, the guard asks V8 for a collection (at most once a second), exposing its
// `gc` through the documented --expose-gc flag, then measures again. Where that is unavailable the
// halved count alone clears the alarm. A publish may wait at most `limits.memoryAlarmPublishTimeoutMs`
// when that is set (ActiveMQ's sendFailIfNoSpaceAfterTimeout): then it is refused, and counted.
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { totalmem } from 'node:os';
import type { Logger } from 'pino';
import { ConfigError, ResourceLimitError } from '../shared/errors.ts';

/** Memory is read this often (process.memoryUsage() takes about 10 µs). */
const SAMPLE_MS = 50;
/** The alarm clears when the resident set is below this share of the watermark. */
const CLEAR_RSS = 0.9;
/** Or when live memory is below this share of it. */
const CLEAR_LIVE = 0.5;
/** Or when the broker's messages in memory are below this share of what they were at the alarm. */
const CLEAR_HELD = 0.5;
/** The V8 heap's share of its limit that raises the alarm too, and the share it must fall below. */
const HEAP_HIGH = 0.85;
const HEAP_CLEAR = 0.75;
/** Collections the guard asks for are at least this far apart. */
const GC_EVERY_MS = 1000;

/** V8's full collection, exposed once for this process; undefined where the flag cannot be set. */
function exposeGc(): (() => void) | undefined {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** The memory a fraction of the watermark refers to: the container's limit when set, else the machine's. */
export function availableMemory(): number {
  const machine = totalmem();
  const constrained = process.constrainedMemory?.() ?? 0;
  return constrained > 0 && constrained < machine ? constrained : machine;
}

/** The watermark in bytes: a fraction (0 < x <= 1) of available memory, a byte count, or a size such as "512MiB". */
export function parseWatermark(v: number | string, available = availableMemory()): number {
  if (typeof v === 'number') return v <= 1 ? Math.floor(v * available) : Math.floor(v);
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(v.trim());
  const unit = UNITS[(m?.[2] || 'b').toLowerCase()];
  if (!m || unit === undefined) throw new ConfigError(`limits.memoryHighWatermark "${v}" is not a size such as 512MiB or 2GB`);
  return Math.floor(Number(m[1]) * unit);
}

export interface MemorySample {
  rss: number;
  /** V8 heap in use plus buffers and other memory outside it. */
  live: number;
  /** V8 heap in use alone. */
  heap: number;
}

/** Message bytes the broker holds in memory (its own accounting, independent of garbage collection). */
export type HeldBytes = () => number;

function sampleProcess(): MemorySample {
  const u = process.memoryUsage();
  return { rss: u.rss, live: u.heapUsed + u.external, heap: u.heapUsed };
}

export class MemoryGuard {
  private alarmed = false;
  private alarmedAt = 0;
  /** Message bytes held in memory when the alarm was raised. */
  private heldAtAlarm = 0;
  private heldBytes: HeldBytes = () => 0;
  private gc: (() => void) | undefined | null = null;
  private gcAt = 0;
  private waiters = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  /** Publishes that had to wait for memory, those refused after waiting too long, and how many times the alarm was raised. */
  held = 0;
  refused = 0;
  alarms = 0;
  /** How long a publish may wait for memory before it is refused; 0 = as long as it takes. */
  publishTimeoutMs = 0;

  constructor(
    private mark: number,
    private readonly log: Logger,
    private readonly sample: () => MemorySample = sampleProcess,
    /** V8's heap limit: past it the process dies whatever the watermark, so the heap is watched too. */
    private readonly heapLimit: number = getHeapStatistics().heap_size_limit,
  ) {}

  get watermark(): number {
    return this.mark;
  }

  /** Changes the watermark at run time (RabbitMQ's set_vm_memory_high_watermark) and applies it now. */
  setWatermark(bytes: number): void {
    this.log.info({ watermark: bytes, was: this.mark }, 'memory high watermark changed');
    this.mark = bytes;
    this.check();
  }

  /** Where the guard learns how much message data the broker holds (the broker tells it). */
  track(heldBytes: HeldBytes): void {
    this.heldBytes = heldBytes;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.check(), SAMPLE_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.release();
  }

  get alarm(): boolean {
    return this.alarmed;
  }

  /** Resolves at once below the watermark; above it, once memory has fallen. */
  wait(): Promise<void> | undefined {
    if (!this.alarmed) return undefined;
    this.held++;
    const timeout = this.publishTimeoutMs;
    if (timeout <= 0) return new Promise((resolve) => this.waiters.add(resolve));
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(done);
        this.refused++;
        reject(
          new ResourceLimitError(
            `The broker is over its memory high watermark: the message was not accepted within ${timeout} ms (limits.memoryAlarmPublishTimeoutMs)`,
            { timeoutMs: timeout },
          ),
        );
      }, timeout);
      this.waiters.add(done);
    });
  }

  /** Takes a sample and raises or clears the alarm. */
  check(): void {
    let s = this.sample();
    if (!this.alarmed) {
      const overRss = s.rss >= this.mark && s.live >= this.mark * CLEAR_LIVE;
      if (overRss || s.heap >= this.heapLimit * HEAP_HIGH) {
        this.alarmed = true;
        this.alarmedAt = Date.now();
        this.heldAtAlarm = this.heldBytes();
        this.alarms++;
        this.log.warn(
          { rss: s.rss, live: s.live, heap: s.heap, messageBytes: this.heldAtAlarm, watermark: this.mark, heapLimit: this.heapLimit },
          overRss
            ? 'memory high watermark reached: holding every publisher back until memory falls (limits.memoryHighWatermark)'
            : 'V8 heap near its limit: holding every publisher back until memory falls',
        );
      }
      return;
    }
    const messageBytes = this.heldBytes();
    let clear = this.below(s);
    if (!clear && messageBytes < this.heldAtAlarm * CLEAR_HELD) {
      if (this.gc === null) this.gc = exposeGc();
      if (this.gc === undefined) clear = true;
      else if (Date.now() - this.gcAt >= GC_EVERY_MS) {
        this.gcAt = Date.now();
        this.gc();
        s = this.sample();
        clear = this.below(s);
      }
    }
    if (clear) {
      this.log.info(
        {
          rss: s.rss,
          live: s.live,
          heap: s.heap,
          messageBytes,
          watermark: this.mark,
          heldMs: Date.now() - this.alarmedAt,
          held: this.held,
          refused: this.refused,
        },
        'memory below the high watermark again: publishers resume',
      );
      this.release();
    }
  }

  /** Low enough for the alarm to clear (see the header). */
  private below(s: MemorySample): boolean {
    return s.heap < this.heapLimit * HEAP_CLEAR && (s.rss < this.mark * CLEAR_RSS || s.live < this.mark * CLEAR_LIVE);
  }

  private release(): void {
    this.alarmed = false;
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w();
  }
}
