// Write-through to the Store, batched per event-loop turn: operations issued during one turn go
// to the store in one `apply` call, in issue order. Publishers await their batch; settlements and
// bookkeeping are fire-and-forget but tracked, so shutdown can wait for every write to finish.
import type { Store, StoreOp } from '../store/store.ts';

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class StoreWriter {
  private pending: StoreOp[] = [];
  private waiters: Waiter[] = [];
  private scheduled = false;
  private readonly running = new Set<Promise<void>>();
  batches = 0;
  ops = 0;

  constructor(
    private readonly store: Store,
    private readonly onError: (err: unknown, ops: readonly StoreOp[]) => void,
  ) {}

  /** Queues operations; the write happens at the end of this turn. */
  write(...ops: StoreOp[]): void {
    for (const op of ops) this.pending.push(op);
    this.schedule();
  }

  /** Queues operations and resolves once the batch holding them is in the store. */
  writeAndWait(ops: readonly StoreOp[]): Promise<void> {
    for (const op of ops) this.pending.push(op);
    this.schedule();
    return new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Resolves when everything written so far has reached the store (or failed). */
  async flush(): Promise<void> {
    if (this.pending.length > 0) this.run();
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.run());
  }

  private run(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const ops = this.pending;
    const waiters = this.waiters;
    this.pending = [];
    this.waiters = [];
    this.batches++;
    this.ops += ops.length;
    const p = this.store.apply(ops).then(
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
