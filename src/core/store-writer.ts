// Write-through to the Store, batched per event-loop turn: operations issued during one turn go
// to the store in issue order, in `apply` calls of about the store's preferred batch size (the operations of
// one `write`/`writeAndWait` call always share a batch). Several batches in flight let the store
// work on one while the broker settles the one before. Publishers await their batch; settlements
// and bookkeeping are fire-and-forget but tracked, so shutdown can wait for every write to finish.
// An entry removed in the same batch that updated it loses the updates (the removal makes them
// moot), which spares the store one write per message a consumer settles within a turn.
import type { Promoted, QueuePage, StoredEntry, Store, StoreOp } from '../store/store.ts';

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
  /** Index in `pending` just past this waiter's operations. */
  end: number;
}

export class StoreWriter {
  private pending: Array<StoreOp | null> = [];
  /** Pending `update` ops by queue and message id, so a `remove` can drop them. */
  private updates = new Map<string, number[]>();
  private waiters: Waiter[] = [];
  /** Dropped ops in `pending` (left as null). */
  private holes = 0;
  /** Indexes in `pending` where one write call's operations end (where a batch may be cut). */
  private cuts: number[] = [];
  /** Inside `together`: no cuts until it ends. */
  private depth = 0;
  private scheduled = false;
  private readonly running = new Set<Promise<void>>();
  batches = 0;
  ops = 0;
  elided = 0;

  constructor(
    private readonly store: Store,
    private readonly onError: (err: unknown, ops: readonly StoreOp[]) => void,
  ) {
    this.maxBatch = store.batchSize ?? Infinity;
  }

  private readonly maxBatch: number;

  /** Queues operations; the write happens at the end of this turn. */
  write(...ops: StoreOp[]): void {
    for (const op of ops) this.add(op);
    this.cut();
    this.schedule();
  }

  /** Every write made while `f` runs goes to the store in one batch (e.g. a move between queues). */
  together<T>(f: () => T): T {
    this.depth++;
    try {
      return f();
    } finally {
      this.depth--;
      this.cut();
    }
  }

  private cut(): void {
    if (this.depth === 0 && this.cuts[this.cuts.length - 1] !== this.pending.length) this.cuts.push(this.pending.length);
  }

  /** Queues operations and resolves once the batch holding them is in the store. */
  writeAndWait(ops: readonly StoreOp[]): Promise<void> {
    for (const op of ops) this.add(op);
    this.cut();
    this.schedule();
    const end = this.pending.length;
    return new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject, end }));
  }

  /**
   * Sends what is pending now, then pages entries in, so the store sees every write issued before
   * (both stores apply requests in the order they are made).
   */
  pageIn(queue: string, maxCount: number, maxBytes: number): Promise<StoredEntry[]> {
    this.run();
    return this.store.pageIn(queue, maxCount, maxBytes);
  }

  /** Like `pageIn`: reads paged-out entries for a browser, after every write issued before. */
  browsePaged(queue: string, cursor: string | undefined, limit: number): Promise<QueuePage> {
    this.run();
    return this.store.browsePaged(queue, cursor, limit);
  }

  /** Like `pageIn`: promotes due scheduled entries after every write issued before. */
  promoteDue(queue: string, now: number): Promise<Promoted> {
    this.run();
    return this.store.promoteDue(queue, now);
  }

  /** Resolves when everything written so far has reached the store (or failed). */
  async flush(): Promise<void> {
    if (this.pending.length > 0) this.run();
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private add(op: StoreOp): void {
    if (op.type === 'update') {
      const key = `${op.queue}\0${op.messageId}`;
      const at = this.updates.get(key);
      if (at) at.push(this.pending.length);
      else this.updates.set(key, [this.pending.length]);
    } else if (op.type === 'remove' && this.updates.size > 0) {
      const key = `${op.queue}\0${op.messageId}`;
      const at = this.updates.get(key);
      if (at) {
        for (const i of at) this.pending[i] = null;
        this.holes += at.length;
        this.elided += at.length;
        this.updates.delete(key);
      }
    }
    this.pending.push(op);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.run());
  }

  private run(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const pending = this.pending;
    const cuts = this.cuts;
    // Sent while a `together` is open (a page-in inside a move): what is pending so far goes too.
    if (cuts[cuts.length - 1] !== pending.length) cuts.push(pending.length);
    const waiters = this.waiters;
    const holes = this.holes;
    this.pending = [];
    this.cuts = [];
    this.updates = new Map();
    this.holes = 0;
    this.waiters = [];
    let from = 0;
    let w = 0;
    for (let c = 0; c < cuts.length; c++) {
      const to = cuts[c] as number;
      if (to - from < this.maxBatch && c < cuts.length - 1) continue;
      const slice = pending.slice(from, to);
      const ops = holes > 0 ? slice.filter((op): op is StoreOp => op !== null) : (slice as StoreOp[]);
      const mine: Waiter[] = [];
      while (w < waiters.length && (waiters[w] as Waiter).end <= to) mine.push(waiters[w++] as Waiter);
      this.send(ops, mine);
      from = to;
    }
  }

  private send(ops: StoreOp[], waiters: Waiter[]): void {
    this.batches++;
    this.ops += ops.length;
    const p = (ops.length > 0 ? this.store.apply(ops) : Promise.resolve()).then(
      () => {
        for (const w of waiters) w.resolve();
      },
      (err: unknown) => {
        for (const w of waiters) w.reject(err);
        this.onError(err, ops);
      },
    );
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }
}
