// The ready entries of a queue, in dispatch order: one Lane per priority level, highest priority
// first, and sequence order within a level. An entry gets its sequence number when it first becomes
// ready; one that comes back (released, redelivered, its delay over) regains its old place.
import { Lane, SKIP, STOP, TAKE, type Verdict } from '../shared/lane.ts';
import { MAX_PRIORITY } from './message.ts';

/** Entries one search for a victim looks at per priority level. */
const SCAN_BUDGET = 10_000;

export interface Orderable {
  readonly message: { readonly priority: number };
  /** 0 until the entry is first made ready. */
  seq: number;
}

export class ReadyEntries<E extends Orderable> {
  /** By priority; a level's lane is made when a message of that priority first comes (most queues see one or two). */
  private readonly lanes: Array<Lane<E> | undefined> = [];
  private seq = 0;
  /** The visitor of the scan under way, and whether it said STOP. */
  private visit: (e: E) => Verdict = () => STOP;
  private stopped = false;
  /** Made once: the scan runs per dispatch, and a closure per scan shows in profiles. */
  private readonly visitor = (e: E): Verdict => {
    const v = this.visit(e);
    if (v & STOP) this.stopped = true;
    return v;
  };

  get size(): number {
    let n = 0;
    for (const lane of this.lanes) if (lane) n += lane.size;
    return n;
  }

  add(e: E): void {
    const p = e.message.priority;
    const lane = this.lanes[p] ?? (this.lanes[p] = new Lane<E>());
    if (e.seq === 0) {
      e.seq = ++this.seq;
      lane.push(e);
    } else lane.reinsert(e);
  }

  /**
   * Visits entries in dispatch order until the visitor says STOP or `budget` entries were seen;
   * entries the visitor TAKEs leave. Returns how many were seen.
   */
  scan(visit: (e: E) => Verdict, budget = Number.POSITIVE_INFINITY): number {
    const outer = this.visit;
    const outerStopped = this.stopped;
    let seen = 0;
    this.visit = visit;
    this.stopped = false;
    try {
      for (let p = Math.min(MAX_PRIORITY, this.lanes.length - 1); p >= 0 && !this.stopped && seen < budget; p--) {
        const lane = this.lanes[p];
        if (lane && lane.size > 0) seen += lane.scan(this.visitor, budget - seen);
      }
    } finally {
      this.visit = outer;
      this.stopped = outerStopped;
    }
    return seen;
  }

  /**
   * Takes out the oldest entry of the lowest priority level that has one (that `match` accepts,
   * looking at no more than `budget` entries per level).
   */
  takeOldestOfLowest(match?: (e: E) => boolean, budget = SCAN_BUDGET): E | undefined {
    for (const lane of this.lanes) {
      if (!lane) continue;
      let first: E | undefined;
      lane.scan((e) => {
        if (match && !match(e)) return SKIP;
        first = e;
        return (TAKE | STOP) as Verdict;
      }, budget);
      if (first) return first;
    }
    return undefined;
  }
}
