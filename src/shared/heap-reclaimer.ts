// Gives memory back after many connections left. V8 collects its old generation when allocation
// grows it, and Node never tells V8 that it is idle, so the garbage a departed fleet leaves
// (some 350 MB for ten thousand devices) stays in the heap, and in the process's resident memory,
// until traffic grows the heap again. When at least `minLeft` connections, and a quarter of the
// peak, have closed since the peak, and none closed for `quietMs`, this runs one full collection,
// after which V8 releases the pages. The collection pauses the event loop once (tens of ms for a
// heap of mostly garbage), only after such an exodus.
import v8 from 'node:v8';
import vm from 'node:vm';
import type { Logger } from 'pino';

let collect: (() => void) | undefined;

/** V8's full collection: the `gc` a context gets once --expose-gc is set (flags set at run time reach new contexts). */
function fullCollection(): void {
  if (!collect) {
    v8.setFlagsFromString('--expose-gc');
    collect = vm.runInNewContext('gc') as () => void;
  }
  collect();
}

export interface HeapReclaimerSettings {
  /** Connections that must have closed since the peak (default 1,000). */
  minLeft?: number;
  /** How long no connection closed before the collection (default 5 s). */
  quietMs?: number;
}

export class HeapReclaimer {
  private open = 0;
  private peak = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly minLeft: number;
  private readonly quietMs: number;

  constructor(
    private readonly log: Logger,
    s: HeapReclaimerSettings = {},
  ) {
    this.minLeft = s.minLeft ?? 1000;
    this.quietMs = s.quietMs ?? 5000;
  }

  opened(): void {
    if (++this.open > this.peak) this.peak = this.open;
  }

  closed(): void {
    this.open--;
    const left = this.peak - this.open;
    if (left < this.minLeft || left * 4 < this.peak) return;
    if (this.timer) this.timer.refresh();
    else this.timer = setTimeout(() => this.reclaim(), this.quietMs).unref();
  }

  /** A collection is due once connections stay quiet. */
  get scheduled(): boolean {
    return this.timer !== undefined;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private reclaim(): void {
    this.timer = undefined;
    const left = this.peak - this.open;
    this.peak = this.open;
    const before = process.memoryUsage();
    const t0 = performance.now();
    fullCollection();
    // V8 gives back the pages a collection emptied when the sweeper is done with them: a second
    // collection a moment later returns them, and shrinks the young generation too.
    setTimeout(fullCollection, 1000).unref();
    const after = process.memoryUsage();
    this.log.info(
      {
        connectionsLeft: left,
        connectionsOpen: this.open,
        heapUsedMB: [mb(before.heapUsed), mb(after.heapUsed)],
        rssMB: [mb(before.rss), mb(after.rss)],
        ms: Math.round(performance.now() - t0),
      },
      'memory reclaimed after connections left (one full collection)',
    );
  }
}

function mb(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}
