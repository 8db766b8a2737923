// Write-through to the Store, batched per event-loop turn: operations issued during one turn go
// to the store in issue order, in `apply` calls of about the store's preferred batch size (the operations of
// one `write`/`writeAndWait` call always share a batch). Several batches in flight let the store
// work on one while the broker settles the one before. Publishers await their batch; settlements
// and bookkeeping are fire-and-forget but tracked, so shutdown can wait for every write to finish.
// An entry removed in the same batch that updated it loses the updates (the removal makes them
// moot), which spares the store one write per message a consumer settles within a turn.
// When the store becomes unavailable, waiting writes (publishes) fail at once, and the fire-and-
// forget ones (settlements, moves, bookkeeping) are kept in a backlog, in order, with every write
// issued until the store answers again; then the backlog goes first (store batches are idempotent,
// so one that failed in doubt may go again). Reads that must follow the writes (page-ins) fail
// meanwhile and their callers retry. The backlog stays bounded by what the broker holds in memory:
// an update superseded by a later update or removal of the same entry is dropped from it.
import type { Logger } from 'pino';
import { StoreUnavailableError } from '../shared/errors.ts';
import type { Promoted, QueuePage, StoredEntry, Store, StoreOp } from '../store/store.ts';

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
  /** Indexes in `pending` of this waiter's operations: from `start` to just before `end`. */
  start: number;
  end: number;
}

/** Operations held while the store is away, and where they were in the order of writes. */
interface Held {
  seq: number;
  ops: Array<StoreOp | null>;
}

/** First and longest wait between attempts to reach an unavailable store. */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 2000;
/** Backlog size past which superseded updates are compacted away. */
const COMPACT_AT = 10_000;

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
  /** Batches sent so far: their numbers order the backlog. */
  private sent = 0;
  /** While the store is unavailable: the writes waiting for it, in order. */
  private backlog: Held[] = [];
  private backlogOps = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = RETRY_FIRST_MS;
  private retrying = false;
  private down = false;
  private lastFailure: StoreUnavailableError | undefined;
  private closed = false;
  batches = 0;
  ops = 0;
  elided = 0;
  /** Operations written late because the store was unavailable when they were first sent. */
  retried = 0;
  /** Told how long each batch the store accepted took, in seconds (metrics). */
  onBatchDone: ((seconds: number) => void) | undefined;

  constructor(
    private readonly store: Store,
    private readonly onError: (err: unknown, ops: readonly StoreOp[]) => void,
    private readonly log?: Logger,
  ) {
    this.maxBatch = store.batchSize ?? Infinity;
  }

  /** False from a write failing because the store is unavailable until every held write is in. */
  get available(): boolean {
    return !this.down && this.store.isAvailable();
  }

  /** Writes waiting for the store to come back. */
  get held(): number {
    return this.backlogOps;
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
    if (!this.available) return Promise.reject(this.unavailableError());
    const start = this.pending.length;
    for (const op of ops) this.add(op);
    this.cut();
    this.schedule();
    const end = this.pending.length;
    return new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject, start, end }));
  }

  private unavailableError(cause?: unknown): StoreUnavailableError {
    if (cause instanceof StoreUnavailableError) return cause;
    if (this.down && this.lastFailure) return this.lastFailure;
    return new StoreUnavailableError('The store is unavailable; nothing was written. Retry later.', cause ?? 'store unavailable');
  }

  /** Why writes cannot go now: the failure that began the outage, or the store's own answer. */
  async outage(): Promise<StoreUnavailableError> {
    if (this.down && this.lastFailure) return this.lastFailure;
    try {
      await this.store.ping();
    } catch (err) {
      if (err instanceof StoreUnavailableError) return err;
    }
    return this.unavailableError();
  }

  /**
   * Sends what is pending now, then pages entries in, so the store sees every write issued before
   * (both stores apply requests in the order they are made).
   */
  pageIn(queue: string, maxCount: number, maxBytes: number): Promise<StoredEntry[]> {
    this.run();
    if (this.down) return Promise.reject(this.unavailableError());
    return this.store.pageIn(queue, maxCount, maxBytes);
  }

  /** Like `pageIn`: reads paged-out entries for a browser, after every write issued before. */
  browsePaged(queue: string, cursor: string | undefined, limit: number): Promise<QueuePage> {
    this.run();
    if (this.down) return Promise.reject(this.unavailableError());
    return this.store.browsePaged(queue, cursor, limit);
  }

  /** Like `pageIn`: promotes due scheduled entries after every write issued before. */
  promoteDue(queue: string, now: number): Promise<Promoted> {
    this.run();
    if (this.down) return Promise.reject(this.unavailableError());
    return this.store.promoteDue(queue, now);
  }

  /**
   * Resolves when everything written so far has reached the store, or failed; with `closing`, held
   * writes get one more attempt, and what still cannot be written is logged.
   */
  async flush(closing = false): Promise<void> {
    if (this.pending.length > 0) this.run();
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
    if (!closing) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.backlogOps > 0 && !this.retrying) await this.retry();
    if (this.backlogOps > 0) {
      this.log?.error(
        { ops: this.backlogOps },
        'store still unavailable at shutdown: these writes are lost (settled messages may be delivered again)',
      );
    }
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
      const mine: Waiter[] = [];
      while (w < waiters.length && (waiters[w] as Waiter).end <= to) mine.push(waiters[w++] as Waiter);
      const seq = ++this.sent;
      if (this.down) {
        this.hold(seq, slice, from, mine, this.unavailableError());
      } else {
        const ops = holes > 0 ? slice.filter((op): op is StoreOp => op !== null) : (slice as StoreOp[]);
        this.send(seq, ops, slice, from, mine);
      }
      from = to;
    }
  }

  private send(seq: number, ops: StoreOp[], slice: Array<StoreOp | null>, from: number, waiters: Waiter[]): void {
    this.batches++;
    this.ops += ops.length;
    const observe = this.onBatchDone;
    const t0 = observe ? performance.now() : 0;
    const p = (ops.length > 0 ? this.store.apply(ops) : Promise.resolve()).then(
      () => {
        if (observe) observe((performance.now() - t0) / 1000);
        for (const w of waiters) w.resolve();
      },
      (err: unknown) => {
        if (err instanceof StoreUnavailableError && !this.closed) {
          this.hold(seq, slice, from, waiters, err);
          return;
        }
        for (const w of waiters) w.reject(err);
        this.onError(err, ops);
      },
    );
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  /**
   * A batch that cannot reach the store: its waiters (publishers) are refused, the rest of it is
   * held, in its place among the held batches, for when the store is back.
   */
  private hold(seq: number, slice: Array<StoreOp | null>, from: number, waiters: Waiter[], err: StoreUnavailableError): void {
    for (const w of waiters) {
      for (let i = w.start; i < w.end; i++) slice[i - from] = null;
      w.reject(err);
    }
    const ops = slice.filter((op) => op !== null);
    if (!this.down) {
      this.down = true;
      this.lastFailure = err;
      this.log?.warn({ err }, 'store unavailable: refusing writes that wait for it, holding settlements until it is back');
      this.armRetry();
    }
    if (ops.length === 0) return;
    let at = this.backlog.length;
    while (at > 0 && (this.backlog[at - 1] as Held).seq > seq) at--;
    this.backlog.splice(at, 0, { seq, ops });
    this.backlogOps += ops.length;
    if (this.backlogOps >= COMPACT_AT && this.backlogOps >= 2 * this.compactedTo) this.compact();
  }

  /** Backlog size after the last compaction (compacting again only once it has doubled). */
  private compactedTo = 0;

  /** Drops held updates that a later update or removal of the same entry makes moot. */
  private compact(): void {
    const last = new Map<string, { held: Held; i: number }>();
    let dropped = 0;
    for (const held of this.backlog) {
      for (let i = 0; i < held.ops.length; i++) {
        const op = held.ops[i] as StoreOp | null;
        if (op === null || (op.type !== 'update' && op.type !== 'remove')) continue;
        const key = `${op.queue}\0${op.messageId}`;
        const before = last.get(key);
        if (before) {
          before.held.ops[before.i] = null;
          dropped++;
        }
        if (op.type === 'update') last.set(key, { held, i });
        else last.delete(key);
      }
    }
    for (const held of this.backlog) held.ops = held.ops.filter((op) => op !== null);
    this.backlogOps -= dropped;
    this.elided += dropped;
    this.compactedTo = this.backlogOps;
  }

  private armRetry(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.retry();
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
  }

  /** Writes the held batches, oldest first; when all are in, the store is available again. */
  private async retry(): Promise<void> {
    this.retrying = true;
    try {
      // A write sent before the outage was noticed must finish (and join the backlog) first.
      while (this.running.size > 0) await Promise.allSettled([...this.running]);
      if (this.backlog.length === 0) await this.store.ping();
      while (this.backlog.length > 0) {
        const held = this.backlog[0] as Held;
        const ops = held.ops as StoreOp[];
        for (let i = 0; i < ops.length; i += this.maxBatch) {
          const part = i === 0 && ops.length <= this.maxBatch ? ops : ops.slice(i, i + this.maxBatch);
          await this.store.apply(part);
        }
        this.backlog.shift();
        this.backlogOps -= ops.length;
        this.retried += ops.length;
      }
    } catch (err) {
      this.retrying = false;
      if (err instanceof StoreUnavailableError) {
        this.armRetry();
        return;
      }
      // Fenced, or refused for good: nothing held can be written.
      const lost = this.backlog.flatMap((h) => h.ops as StoreOp[]);
      this.backlog = [];
      this.backlogOps = 0;
      this.down = false;
      this.onError(err, lost);
      return;
    }
    this.retrying = false;
    this.down = false;
    this.lastFailure = undefined;
    this.retryMs = RETRY_FIRST_MS;
    this.compactedTo = 0;
    this.log?.info({ writtenLateTotal: this.retried }, 'store available again: held writes are in');
    if (this.pending.length > 0) this.schedule();
  }
}
