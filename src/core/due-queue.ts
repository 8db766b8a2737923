// Things that fall due at a time (delayed messages, visibility deadlines, redelivery backoff):
// a binary min-heap and one timer armed for the earliest. Items are not removed when they stop
// being relevant; the owner's callback checks whether a due item still applies.

interface Slot<T> {
  at: number;
  item: T;
}

export class DueQueue<T> {
  private heap: Array<Slot<T>> = [];
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Number.POSITIVE_INFINITY;
  private closed = false;

  constructor(
    private readonly onDue: (item: T, at: number) => void,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.heap.length;
  }

  add(at: number, item: T): void {
    if (this.closed) return;
    const h = this.heap;
    h.push({ at, item });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((h[p] as Slot<T>).at <= at) break;
      [h[p], h[i]] = [h[i] as Slot<T>, h[p] as Slot<T>];
      i = p;
    }
    if (at < this.armedFor) this.arm();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.heap = [];
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const top = this.heap[0];
    if (!top) {
      this.armedFor = Number.POSITIVE_INFINITY;
      return;
    }
    this.armedFor = top.at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, top.at - this.now()));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    const now = this.now();
    const due: Array<Slot<T>> = [];
    while (this.heap.length > 0 && (this.heap[0] as Slot<T>).at <= now) due.push(this.pop());
    this.arm();
    for (const s of due) this.onDue(s.item, s.at);
  }

  private pop(): Slot<T> {
    const h = this.heap;
    const top = h[0] as Slot<T>;
    const last = h.pop() as Slot<T>;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && (h[l] as Slot<T>).at < (h[m] as Slot<T>).at) m = l;
        if (r < h.length && (h[r] as Slot<T>).at < (h[m] as Slot<T>).at) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i] as Slot<T>, h[m] as Slot<T>];
        i = m;
      }
    }
    return top;
  }
}
