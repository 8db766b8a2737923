// Gives memory back after a burst of connections: a fleet that arrived or one that left. V8
// collects its old generation when allocation grows it, and Node never tells V8 that it is idle,
// so what a burst leaves (the garbage of ten thousand handshakes, or of ten thousand departed
// devices: hundreds of MB) stays in the heap and in the process's resident memory until traffic
// grows the heap again; and the young generation, grown to its maximum by the burst, keeps its
// pages. When at least `minChurn` connections opened, or closed (and a quarter of the peak),
// since the last collection, none opened or closed for `quietMs`, and the event loop was mostly
// idle in that spell, this runs one full collection; `settleMs` later, still idle, another, up to
// three, until V8 has shrunk its young generation: it does so only at a collection that follows
// seconds of little allocation.
// Each collection pauses the event loop once (tens of ms for ten thousand devices), only after
// such a burst and never while the broker is busy.
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { Logger } from 'pino';

let collect: (() => void) | undefined;

/** Collections after the first, at most, for V8 to shrink its young generation. */
const SETTLE_TRIES = 3;

/** V8's full collection: the `gc` a context gets once --expose-gc is set (flags set at run time reach new contexts). */
function fullCollection(): void {
  if (!collect) {
    v8.setFlagsFromString('--expose-gc');
    collect = vm.runInNewContext('gc') as () => void;
  }
  collect();
}

export interface HeapReclaimerSettings {
  /** Connections that must have opened, or closed, since the last collection (default 1,000). */
  minChurn?: number;
  /** How long no connection opened or closed before the collection (default 5 s). */
  quietMs?: number;
  /** How long after a collection the next one comes, while V8 has not shrunk its young generation (default 8 s). */
  settleMs?: number;
  /** Above this share of busy event-loop time in the quiet spell, no collection runs (default 0.25). */
  maxBusy?: number;
}

export class HeapReclaimer {
  private open = 0;
  private peak = 0;
  /** Connections opened since the last collection. */
  private openedSince = 0;
  private timer: NodeJS.Timeout | undefined;
  private settleTimer: NodeJS.Timeout | undefined;
  private since: EventLoopUtilization | undefined;
  private readonly minChurn: number;
  private readonly quietMs: number;
  private readonly settleMs: number;
  private readonly maxBusy: number;

  constructor(
    private readonly log: Logger,
    s: HeapReclaimerSettings = {},
  ) {
    this.minChurn = s.minChurn ?? 1000;
    this.quietMs = s.quietMs ?? 5000;
    this.settleMs = s.settleMs ?? 8000;
    this.maxBusy = s.maxBusy ?? 0.25;
  }

  opened(): void {
    if (++this.open > this.peak) this.peak = this.open;
    this.openedSince++;
    this.check();
  }

  closed(): void {
    this.open--;
    this.check();
  }

  /** A collection is due once connections stay quiet. */
  get scheduled(): boolean {
    return this.timer !== undefined;
  }

  stop(): void {
    clearTimeout(this.timer);
    clearTimeout(this.settleTimer);
    this.timer = undefined;
    this.settleTimer = undefined;
  }

  private check(): void {
    if (this.timer) {
      // The quiet spell starts again, and how busy the loop is counts from here.
      this.timer.refresh();
      this.since = performance.eventLoopUtilization();
      return;
    }
    const left = this.peak - this.open;
    const arrived = this.openedSince >= this.minChurn;
    const departed = left >= this.minChurn && left * 4 >= this.peak;
    if (!arrived && !departed) return;
    this.since = performance.eventLoopUtilization();
    this.timer = setTimeout(() => this.reclaim(), this.quietMs).unref();
  }

  /**
   * Collects again `settleMs` from now, while the loop stays mostly idle, until V8 has shrunk its
   * young generation (whether a collection shrinks it depends on V8's reading of the allocation
   * rate since the last one: some idle spells it does not), at most `tries` times.
   */
  private settle(tries: number): void {
    clearTimeout(this.settleTimer);
    const since = performance.eventLoopUtilization();
    this.settleTimer = setTimeout(() => {
      this.settleTimer = undefined;
      if (this.timer !== undefined || performance.eventLoopUtilization(since).utilization > this.maxBusy) return;
      const young = youngGenerationMB();
      fullCollection();
      const now = youngGenerationMB();
      this.log.debug({ youngGenerationMB: [young, now] }, 'another collection after a burst of connections');
      if (now >= young && tries > 1) this.settle(tries - 1);
    }, this.settleMs).unref();
  }

  /** The share of the quiet spell the event loop spent busy. */
  private busy(): number {
    return this.since ? performance.eventLoopUtilization(this.since).utilization : 0;
  }

  private reclaim(): void {
    this.timer = undefined;
    const busy = this.busy();
    const opened = this.openedSince;
    const left = this.peak - this.open;
    this.openedSince = 0;
    this.peak = this.open;
    if (busy > this.maxBusy) {
      this.log.debug(
        { busy: +busy.toFixed(2), connectionsOpened: opened, connectionsLeft: left },
        'no collection after a burst of connections: the broker is busy',
      );
      return;
    }
    const before = process.memoryUsage();
    const t0 = performance.now();
    fullCollection();
    const after = process.memoryUsage();
    this.log.info(
      {
        connectionsOpened: opened,
        connectionsLeft: left,
        connectionsOpen: this.open,
        heapUsedMB: [mb(before.heapUsed), mb(after.heapUsed)],
        rssMB: [mb(before.rss), mb(after.rss)],
        ms: Math.round(performance.now() - t0),
      },
      'memory reclaimed after a burst of connections (one full collection)',
    );
    this.settle(SETTLE_TRIES);
  }
}

function youngGenerationMB(): number {
  return mb(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0);
}

function mb(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}
