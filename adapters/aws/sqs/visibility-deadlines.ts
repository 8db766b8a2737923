// The visibility deadlines of one queue's messages in flight, in buckets of 100 ms: adding,
// moving (ChangeMessageVisibility) and removing (DeleteMessage) one costs O(1), so a deleted
// message leaves nothing behind. A heap without removal would keep every deleted receive's entry
// until its deadline passed: at 10,000 messages a second and a 30 s timeout, 300,000 of them.
// One timer runs while any deadline is pending.

const BUCKET_MS = 100;

export class VisibilityDeadlines {
  private readonly buckets = new Map<number, Set<string>>();
  private timer: NodeJS.Timeout | undefined;
  private next = Number.POSITIVE_INFINITY;
  private closed = false;

  constructor(
    private readonly onDue: (id: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    let n = 0;
    for (const b of this.buckets.values()) n += b.size;
    return n;
  }

  add(id: string, at: number): void {
    if (this.closed) return;
    const key = Math.ceil(at / BUCKET_MS);
    let b = this.buckets.get(key);
    if (!b) this.buckets.set(key, (b = new Set()));
    b.add(id);
    if (key < this.next) this.arm(key);
  }

  remove(id: string, at: number): void {
    const key = Math.ceil(at / BUCKET_MS);
    const b = this.buckets.get(key);
    if (!b) return;
    b.delete(id);
    if (b.size === 0) this.buckets.delete(key);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.buckets.clear();
  }

  private arm(key: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.next = key;
    this.timer = setTimeout(() => this.fire(), Math.max(0, key * BUCKET_MS - this.now()));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    this.next = Number.POSITIVE_INFINITY;
    const nowKey = Math.floor(this.now() / BUCKET_MS);
    const due: string[] = [];
    for (const [key, b] of this.buckets) {
      if (key > nowKey) continue;
      for (const id of b) due.push(id);
      this.buckets.delete(key);
    }
    for (const id of due) this.onDue(id);
    if (this.closed) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const key of this.buckets.keys()) if (key < earliest) earliest = key;
    if (earliest < this.next) this.arm(earliest);
  }
}
