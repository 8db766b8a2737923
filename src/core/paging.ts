// Paging of one durable queue, which keeps its memory bounded however deep it grows: once the
// active window (ready and in-flight entries held in memory) is full, further persistent messages
// stay only in the store (paged out) and come back, highest priority first, when the ready ones in
// memory are down to half the window. Scheduled messages beyond a window of the same size wait in
// the store too, until they are due; a timer asks the store to promote them then. This class keeps
// the counts of what is only in the store and drives page-ins and promotions; the queue holds
// whatever comes back.
import type { Logger } from 'pino';
import { messageSize, type Message } from './message.ts';
import type { QueuePolicy } from './policy.ts';
import type { PagedStats, Promoted, StoredEntry } from '../store/store.ts';

/** The store side of paging (the broker sends these through its writer, after pending writes). */
export interface PageSource {
  /** Brings up to `maxCount` paged-out entries (about `maxBytes`) back from the store. */
  pageIn(queue: string, maxCount: number, maxBytes: number): Promise<StoredEntry[]>;
  /** Makes scheduled paged-out entries due at `now` ordinary paged-out ones. */
  promoteDue(queue: string, now: number): Promise<Promoted>;
}

/** Where a message about to be stored will live: in memory, or only in the store. */
export type Placement = 'resident' | 'paged' | 'scheduled';

/** What paging needs from its queue. */
export interface PagingHost {
  readonly name: string;
  readonly policy: QueuePolicy;
  /** Entries in memory that are not waiting for a delivery time (the active window), and their size. */
  activeCount(): number;
  activeBytes(): number;
  /** Ready entries in memory. */
  residentReady(): number;
  /** Entries in memory waiting for their delivery time, and their size. */
  readonly delayedCount: number;
  readonly delayedBytes: number;
  /** Entries brought back from the store: the queue holds them from now on. */
  pagedIn(entries: StoredEntry[]): void;
}

/** setTimeout's limit; a later due time is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** How many entries one page-in asks for at most, so one store call stays short. */
const PAGE_IN_MAX = 1000;
/** Wait before retrying a page-in or promotion that failed (store unreachable). */
const RETRY_MS = 1000;

export class Paging {
  /** Ready entries only in the store, and their size. */
  count = 0;
  bytes = 0;
  /** Scheduled entries only in the store, and their size (not part of the active window). */
  scheduledCount = 0;
  scheduledBytes = 0;
  /** The earliest due time among the scheduled ones (0: none). */
  private nextDue = 0;
  private promoteTimer: NodeJS.Timeout | undefined;
  private promoting = false;
  /** Sends planned as paged out whose store write has not finished. */
  private planned = 0;
  private pagingIn = false;
  /** The page-in under way, settled (never rejected) when it is done. */
  private inProgress: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly q: PagingHost,
    /** Without it the queue never pages out. */
    private readonly source: PageSource | undefined,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  /**
   * Whether a persistent message about to be stored is held in memory or only in the store. Once
   * anything is paged out, everything after it is too (until the page-ins catch up), so order
   * holds. A scheduled message is paged out when the scheduled ones in memory fill a window. The
   * answer must be followed by `accepted(..., placement)` or `unplan(placement)`.
   */
  plan(message: Message, durable: boolean): Placement {
    if (!durable || !this.source) return 'resident';
    const p = this.q.policy;
    if (message.deliverAt > this.now()) {
      return this.q.delayedCount >= p.pageWindowMessages || this.q.delayedBytes >= p.pageWindowBytes ? 'scheduled' : 'resident';
    }
    const paging =
      this.count + this.planned > 0 || this.q.activeCount() >= p.pageWindowMessages || this.q.activeBytes() >= p.pageWindowBytes;
    if (!paging) return 'resident';
    this.planned++;
    return 'paged';
  }

  /** The planned send did not happen. */
  unplan(placement: Placement): void {
    if (placement === 'paged') this.planned--;
  }

  /** A planned send was stored; a paged or scheduled one is counted here from now on. */
  accepted(message: Message, size: number, placement: Placement): void {
    this.unplan(placement);
    if (this.closed) return;
    if (placement === 'paged') {
      this.count++;
      this.bytes += size;
      this.maybePageIn();
    } else if (placement === 'scheduled') {
      this.scheduledCount++;
      this.scheduledBytes += size;
      this.expectDue(message.deliverAt);
    }
  }

  /** Counts the entries a restarting broker left paged out in the store. */
  restore(paged: PagedStats): void {
    this.count += paged.count;
    this.bytes += paged.bytes;
    this.scheduledCount += paged.scheduledCount;
    this.scheduledBytes += paged.scheduledBytes;
    if (paged.nextDue > 0) this.expectDue(paged.nextDue);
    this.maybePageIn();
  }

  /**
   * Brings paged-out entries back once the ready ones in memory are down to half the window, as
   * far as the window has room (in-flight entries count: memory stays bounded however consumers
   * prefetch, and consumers with credit left are not starved by those that have none).
   */
  maybePageIn(): void {
    if (this.count <= 0 || this.pagingIn || this.closed || !this.source || this.retryTimer) return;
    const p = this.q.policy;
    if (this.q.residentReady() > p.pageWindowMessages / 2) return;
    const active = this.q.activeCount();
    const activeBytes = this.q.activeBytes();
    if (active >= p.pageWindowMessages || activeBytes >= p.pageWindowBytes) return;
    const maxCount = Math.max(1, Math.min(PAGE_IN_MAX, p.pageWindowMessages - active, this.count));
    const maxBytes = Math.max(1, p.pageWindowBytes - activeBytes);
    this.pagingIn = true;
    this.inProgress = this.source.pageIn(this.q.name, maxCount, maxBytes).then(
      (entries) => {
        this.pagingIn = false;
        if (!this.closed) this.pagedIn(entries);
      },
      (err: unknown) => {
        this.pagingIn = false;
        if (this.closed) return;
        this.log.warn({ err, queue: this.q.name, paged: this.count }, 'paging in failed; retrying');
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.maybePageIn();
        }, RETRY_MS);
        this.retryTimer.unref();
      },
    );
  }

  /**
   * Pages in now, whatever is ready in memory, as far as the active window has room (an operator's
   * purge or move, which empties the window as it goes). Resolves with how many entries came back:
   * 0 when none is left or the window is full. Rejects when the store cannot be reached.
   */
  async pageInNow(): Promise<number> {
    await this.inProgress;
    if (this.count <= 0 || this.closed || !this.source) return 0;
    const p = this.q.policy;
    const room = Math.min(PAGE_IN_MAX, p.pageWindowMessages - this.q.activeCount(), this.count);
    const maxBytes = p.pageWindowBytes - this.q.activeBytes();
    if (room <= 0 || maxBytes <= 0) return 0;
    this.pagingIn = true;
    try {
      const entries = await this.source.pageIn(this.q.name, room, maxBytes);
      if (!this.closed) this.pagedIn(entries);
      return entries.length;
    } finally {
      this.pagingIn = false;
    }
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.promoteTimer) clearTimeout(this.promoteTimer);
  }

  private pagedIn(entries: StoredEntry[]): void {
    if (entries.length === 0) {
      // The store holds none: it is the record, so the count follows it.
      this.log.warn({ queue: this.q.name, counted: this.count }, 'store has no paged-out entries left; count corrected');
      this.count = 0;
      this.bytes = 0;
      return;
    }
    for (const { message } of entries) {
      this.count--;
      this.bytes -= messageSize(message);
    }
    this.q.pagedIn(entries);
    this.maybePageIn();
  }

  /** A scheduled paged-out entry falls due at `at`: be ready to promote it then. */
  private expectDue(at: number): void {
    if (this.nextDue !== 0 && this.nextDue <= at) return;
    this.nextDue = at;
    this.armPromotion();
  }

  private armPromotion(delayMs?: number): void {
    if (this.promoteTimer) clearTimeout(this.promoteTimer);
    this.promoteTimer = undefined;
    if (this.closed || this.nextDue === 0 || this.promoting) return;
    const wait = delayMs ?? Math.min(MAX_TIMER_MS, Math.max(0, this.nextDue - this.now()));
    this.promoteTimer = setTimeout(() => this.promote(), wait);
    this.promoteTimer.unref();
  }

  /** Asks the store to turn the scheduled entries that are due into ordinary paged-out ones. */
  private promote(): void {
    this.promoteTimer = undefined;
    if (!this.source || this.closed) return;
    const now = this.now();
    if (this.nextDue > now) {
      this.armPromotion();
      return;
    }
    this.promoting = true;
    this.source.promoteDue(this.q.name, now).then(
      (r) => {
        this.promoting = false;
        if (this.closed) return;
        this.scheduledCount -= r.count;
        this.scheduledBytes -= r.bytes;
        this.count += r.count;
        this.bytes += r.bytes;
        this.nextDue = r.nextDue;
        this.armPromotion();
        this.maybePageIn();
      },
      (err: unknown) => {
        this.promoting = false;
        if (this.closed) return;
        this.log.warn({ err, queue: this.q.name, scheduled: this.scheduledCount }, 'promoting due scheduled messages failed; retrying');
        this.armPromotion(RETRY_MS);
      },
    );
  }
}
