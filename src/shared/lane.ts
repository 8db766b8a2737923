// Entries of one priority level in sequence order: a queue's ready entries in the core, and a
// queue's paged-out entries in the memory store. New entries append at the tail; an entry coming
// back (released, redelivered, recovered, promoted from the schedule) is re-inserted at its
// original position in a small sorted side list, so it is visited again before later ones.
// Entries leave only through `scan`, which merges both lists in sequence order.

export interface Sequenced {
  seq: number;
}

export const SKIP = 0;
export const TAKE = 1;
export const STOP = 2;
export type Verdict = 0 | 1 | 2 | 3;

export class Lane<E extends Sequenced> {
  private items: Array<E | null> = [];
  private head = 0;
  private returned: E[] = [];
  private tailSeq = Number.NEGATIVE_INFINITY;
  size = 0;

  /** Appends a new entry; its `seq` must be higher than every entry pushed before. */
  push(e: E): void {
    this.items.push(e);
    this.tailSeq = e.seq;
    this.size++;
  }

  /** Adds an entry of any `seq` in its place: appended when newest, re-inserted otherwise. */
  insert(e: E): void {
    if (e.seq > this.tailSeq) this.push(e);
    else this.reinsert(e);
  }

  reinsert(e: E): void {
    let lo = 0;
    let hi = this.returned.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.returned[mid] as E).seq < e.seq) lo = mid + 1;
      else hi = mid;
    }
    this.returned.splice(lo, 0, e);
    this.size++;
  }

  /** Visits entries in sequence order until the visitor says STOP or `budget` entries were seen. */
  scan(visit: (e: E) => Verdict, budget = Number.POSITIVE_INFINITY): number {
    let i = this.head;
    let j = 0;
    let seen = 0;
    while (seen < budget) {
      while (i < this.items.length && this.items[i] === null) i++;
      const a = i < this.items.length ? (this.items[i] as E) : undefined;
      const b = j < this.returned.length ? (this.returned[j] as E) : undefined;
      if (a === undefined && b === undefined) break;
      const fromReturned = b !== undefined && (a === undefined || b.seq < a.seq);
      const e = (fromReturned ? b : a) as E;
      seen++;
      const verdict = visit(e);
      if (verdict & TAKE) {
        if (fromReturned) this.returned.splice(j, 1);
        else this.items[i++] = null;
        this.size--;
      } else if (fromReturned) j++;
      else i++;
      if (verdict & STOP) break;
    }
    this.compact();
    return seen;
  }

  private compact(): void {
    while (this.head < this.items.length && this.items[this.head] === null) this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
