// Publish deduplication: a message whose dedupId was seen on the same destination within the
// window is accepted but not routed again (SQS FIFO / Artemis duplicate detection). Ids live in
// insertion order, so expired ones are pruned from the front; a hard cap bounds memory.

export class DedupWindow {
  private readonly seen = new Map<string, number>();

  constructor(private readonly maxEntries = 100_000) {}

  get size(): number {
    return this.seen.size;
  }

  static key(address: string, dedupId: string): string {
    return `${address}\u0000${dedupId}`;
  }

  /** True when the key is a duplicate; otherwise records it until `expiresAt`. */
  checkAndRecord(key: string, now: number, expiresAt: number): boolean {
    this.prune(now, 2);
    const until = this.seen.get(key);
    if (until !== undefined && until > now) return true;
    this.seen.delete(key);
    this.seen.set(key, expiresAt);
    while (this.seen.size > this.maxEntries) this.dropOldest();
    return false;
  }

  forget(key: string): void {
    this.seen.delete(key);
  }

  restore(key: string, expiresAt: number): void {
    this.seen.set(key, expiresAt);
  }

  /** Removes up to `max` expired keys from the front. */
  prune(now: number, max = Number.POSITIVE_INFINITY): void {
    let n = 0;
    for (const [k, until] of this.seen) {
      if (until > now || n++ >= max) return;
      this.seen.delete(k);
    }
  }

  private dropOldest(): void {
    const first = this.seen.keys().next();
    if (!first.done) this.seen.delete(first.value);
  }
}
