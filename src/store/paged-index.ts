// The memory store's index of one queue's paged-out entries: the due ones in one sequence-ordered
// lane per priority (the shared Lane, as the core's queues use), the scheduled ones in a list
// sorted by due time. Entries are handed out highest priority first, oldest first within one.
import { Lane, SKIP, STOP, TAKE, type Verdict } from '../shared/lane.ts';

export interface PagedEntry {
  id: string;
  seq: number;
  priority: number;
  size: number;
}

interface Scheduled extends PagedEntry {
  due: number;
}

const TAKE_FIRST = (TAKE | STOP) as Verdict;

export class PagedIndex {
  /** Lanes by priority, created as priorities are seen. */
  private readonly lanes: Array<Lane<PagedEntry> | undefined> = [];
  private readonly scheduled: Scheduled[] = [];
  count = 0;
  bytes = 0;
  scheduledBytes = 0;

  get scheduledCount(): number {
    return this.scheduled.length;
  }

  /** The earliest due time of a scheduled entry; 0 when there is none. */
  get nextDue(): number {
    return this.scheduled[0]?.due ?? 0;
  }

  add(e: PagedEntry): void {
    let lane = this.lanes[e.priority];
    if (!lane) {
      lane = new Lane();
      this.lanes[e.priority] = lane;
    }
    lane.insert(e);
    this.count++;
    this.bytes += e.size;
  }

  schedule(e: PagedEntry, due: number): void {
    let lo = 0;
    let hi = this.scheduled.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.scheduled[mid] as Scheduled).due <= due) lo = mid + 1;
      else hi = mid;
    }
    this.scheduled.splice(lo, 0, { ...e, due });
    this.scheduledBytes += e.size;
  }

  /** The next due entry in dispatch order, without taking it. */
  peek(): PagedEntry | undefined {
    const lane = this.firstLane();
    let first: PagedEntry | undefined;
    lane?.scan((e) => {
      first = e;
      return STOP;
    });
    return first;
  }

  /** Takes out the entry `peek` returned. */
  take(): void {
    const lane = this.firstLane();
    lane?.scan((e) => {
      this.count--;
      this.bytes -= e.size;
      return TAKE_FIRST;
    });
  }

  private firstLane(): Lane<PagedEntry> | undefined {
    for (let p = this.lanes.length - 1; p >= 0; p--) {
      const lane = this.lanes[p];
      if (lane && lane.size > 0) return lane;
    }
    return undefined;
  }

  /**
   * Up to `limit` due entries after `after` (a priority and sequence) in dispatch order, taking
   * nothing out; the last one is where the next page starts.
   */
  page(after: { priority: number; seq: number } | undefined, limit: number): PagedEntry[] {
    const out: PagedEntry[] = [];
    for (let p = Math.min(this.lanes.length - 1, after?.priority ?? Infinity); p >= 0 && out.length < limit; p--) {
      const lane = this.lanes[p];
      if (!lane || lane.size === 0) continue;
      const from = after !== undefined && p === after.priority ? after.seq : Number.NEGATIVE_INFINITY;
      lane.scan((e) => {
        if (e.seq > from) out.push(e);
        return out.length >= limit ? STOP : SKIP;
      });
    }
    return out;
  }

  /** Moves the scheduled entries due at `now` to the due ones. */
  promote(now: number): { count: number; bytes: number } {
    let n = 0;
    let bytes = 0;
    while (n < this.scheduled.length && (this.scheduled[n] as Scheduled).due <= now) {
      const { due: _due, ...e } = this.scheduled[n++] as Scheduled;
      this.add(e);
      bytes += e.size;
    }
    this.scheduled.splice(0, n);
    this.scheduledBytes -= bytes;
    return { count: n, bytes };
  }

  delete(id: string): boolean {
    for (const lane of this.lanes) {
      if (!lane || lane.size === 0) continue;
      let found: PagedEntry | undefined;
      lane.scan((e) => {
        if (e.id !== id) return SKIP;
        found = e;
        return TAKE_FIRST;
      });
      if (!found) continue;
      this.count--;
      this.bytes -= found.size;
      return true;
    }
    const i = this.scheduled.findIndex((s) => s.id === id);
    if (i < 0) return false;
    this.scheduledBytes -= (this.scheduled[i] as Scheduled).size;
    this.scheduled.splice(i, 1);
    return true;
  }
}
