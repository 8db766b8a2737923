// A queue: the one structure that holds messages (named queues, topic subscriptions and dead-letter
// queues alike). It owns ordering (priority, then FIFO; returned messages regain their place),
// delayed delivery, dispatch to consumers by credit with selectors, message groups and exclusive
// consumers, settlement (ack, release with backoff, reject), dead-lettering, expiry, visibility
// timeouts and its size limits. Durable changes go to the store through the broker's writer.
// Memory stays bounded: once a queue's active window (ready and in-flight entries held in memory)
// is full, further persistent messages stay only in the store (paged out) and come back, highest
// priority first, when the ready ones in memory are down to half the window. Scheduled messages
// beyond a window of the same size wait in the store too, until they are due.
import type { Logger } from 'pino';
import { ClosedError, QueueFullError, UnknownDeliveryError } from './errors.ts';
import { Consumer, type ConsumerHost, type ConsumerOptions, type Delivery, type ReleaseOptions } from './consumer.ts';
import { DueQueue } from './due-queue.ts';
import { Lane, SKIP, STOP, TAKE, type Verdict } from './lane.ts';
import { MAX_PRIORITY, messageSize, type Message, type PropertyValue } from './message.ts';
import { redeliveryDelay, type QueuePolicy } from './policy.ts';
import type { StoreWriter } from './store-writer.ts';
import type { EntryState, PagedStats, Promoted, StoredEntry } from '../store/store.ts';

/** How many queued entries one dispatch pass looks at, so selectors that match nothing stay cheap. */
const SCAN_BUDGET = 10_000;

type EntryStatus = 'ready' | 'delayed' | 'inflight' | 'gone';

export interface Entry {
  readonly message: Message;
  readonly size: number;
  readonly durable: boolean;
  seq: number;
  deliveryCount: number;
  deliverAt: number;
  annotations: Record<string, PropertyValue> | undefined;
  status: EntryStatus;
  tag: number;
  consumer: Consumer | undefined;
  excluded: Set<string> | undefined;
}

export interface QueueStats {
  enqueued: number;
  dispatched: number;
  acked: number;
  redelivered: number;
  expired: number;
  deadLettered: number;
  /** Dropped: oldest evicted by the drop-oldest overflow policy, or dead letters with nowhere to go. */
  dropped: number;
  /** Sends refused because the queue was full. */
  rejected: number;
  /** Sends that had to wait for room. */
  blocked: number;
  visibilityExpired: number;
}

/** The store side of paging (the broker sends these through its writer, after pending writes). */
export interface Pager {
  /** Brings up to `maxCount` paged-out entries (about `maxBytes`) back from the store. */
  pageIn(queue: string, maxCount: number, maxBytes: number): Promise<StoredEntry[]>;
  /** Makes scheduled paged-out entries due at `now` ordinary paged-out ones. */
  promoteDue(queue: string, now: number): Promise<Promoted>;
}

/** Where a message about to be stored will live: in memory, or only in the store. */
export type Placement = 'resident' | 'paged' | 'scheduled';

/** setTimeout's limit; a later due time is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** How many entries one page-in asks for at most, so one store call stays short. */
const PAGE_IN_MAX = 1000;
/** Wait before retrying a page-in that failed (store unreachable). */
const PAGE_IN_RETRY_MS = 1000;

/** Moves a message into another queue (dead-letter or expiry queue) with extra annotations. */
export type Mover = (target: string, message: Message, annotations: Record<string, PropertyValue>) => void;

export interface QueueInit {
  name: string;
  /** What users see as this queue's address (`queue://X`, or the topic pattern for subscriptions). */
  label: string;
  durable: boolean;
  policy: QueuePolicy;
  writer: StoreWriter;
  mover: Mover;
  log: Logger;
  now?: () => number;
  /** Called when the last consumer detached. */
  onIdle?: (q: Queue) => void;
  /** Where paged-out entries come back from; without it the queue never pages out. */
  pager?: Pager;
  /**
   * A topic subscription's queue: with individual dead-lettering its dead letters go to
   * `<prefix><the message's topic>`, as ActiveMQ does for topic messages.
   */
  subscription?: boolean;
}

interface RoomWaiter {
  size: number;
  resolve: () => void;
  reject: (err: unknown) => void;
  timer: NodeJS.Timeout;
}

export class Queue implements ConsumerHost {
  readonly name: string;
  readonly label: string;
  readonly durable: boolean;
  policy: QueuePolicy;
  readonly stats: QueueStats = {
    enqueued: 0,
    dispatched: 0,
    acked: 0,
    redelivered: 0,
    expired: 0,
    deadLettered: 0,
    dropped: 0,
    rejected: 0,
    blocked: 0,
    visibilityExpired: 0,
  };
  /** Entries held: ready (in memory or paged out), delayed and in flight. */
  count = 0;
  bytes = 0;
  /** Of those, entries only in the store, not in memory. */
  pagedCount = 0;
  pagedBytes = 0;
  /** Of those, entries waiting for their delivery time (they are not part of the active window). */
  private delayedCount = 0;
  private delayedBytes = 0;
  /** Of those, scheduled entries only in the store, and the earliest due time among them (0: none). */
  scheduledPagedCount = 0;
  private scheduledPagedBytes = 0;
  private nextPagedDue = 0;
  private promoteTimer: NodeJS.Timeout | undefined;
  private promoting = false;
  /** Persistent sends decided to be paged out whose store write has not finished. */
  private pagedPlanned = 0;
  private pagingIn = false;
  private pageInRetry: NodeJS.Timeout | undefined;
  private reservedCount = 0;
  private reservedBytes = 0;
  private ttlEntries = 0;
  private seq = 0;
  private readonly lanes: Array<Lane<Entry>> = [];
  private readonly delayed: DueQueue<Entry>;
  private readonly visibility: DueQueue<{ entry: Entry; tag: number }>;
  private readonly consumers: Consumer[] = [];
  private readonly groups = new Map<string, { consumer: Consumer; inflight: number }>();
  private roomWaiters: RoomWaiter[] = [];
  private rr = 0;
  private dispatching = false;
  private again = false;
  private closed = false;
  private warnedDrop = false;
  private readonly writer: StoreWriter;
  private readonly mover: Mover;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly onIdle: ((q: Queue) => void) | undefined;
  private readonly subscription: boolean;
  private readonly pager: Pager | undefined;

  constructor(init: QueueInit) {
    this.name = init.name;
    this.label = init.label;
    this.durable = init.durable;
    this.policy = init.policy;
    this.writer = init.writer;
    this.mover = init.mover;
    this.log = init.log;
    this.now = init.now ?? Date.now;
    this.onIdle = init.onIdle;
    this.subscription = init.subscription ?? false;
    this.pager = init.pager;
    for (let p = 0; p <= MAX_PRIORITY; p++) this.lanes.push(new Lane<Entry>());
    this.delayed = new DueQueue((e, at) => this.onDelayedDue(e, at), this.now);
    this.visibility = new DueQueue(({ entry, tag }) => this.onVisibilityDue(entry, tag), this.now);
  }

  /** Entries waiting for a consumer, in memory or paged out. */
  get readyCount(): number {
    return this.residentReady() + this.pagedCount;
  }

  private residentReady(): number {
    let n = 0;
    for (const lane of this.lanes) n += lane.size;
    return n;
  }

  get consumerCount(): number {
    return this.consumers.length;
  }

  get inflightCount(): number {
    let n = 0;
    for (const c of this.consumers) n += c.inflight.size;
    return n;
  }

  // ---- admission (limits) ----------------------------------------------------------------

  /** Whether a message of `size` bytes fits under the limits, counting reservations. */
  hasRoom(size: number): boolean {
    const p = this.policy;
    return (
      (p.maxMessages === 0 || this.count + this.reservedCount < p.maxMessages) &&
      (p.maxBytes === 0 || this.bytes + this.reservedBytes + size <= p.maxBytes)
    );
  }

  /** A message that can never fit, whatever is consumed. */
  tooLarge(size: number): boolean {
    return this.policy.maxBytes > 0 && size > this.policy.maxBytes;
  }

  reserve(size: number): void {
    this.reservedCount++;
    this.reservedBytes += size;
  }

  unreserve(size: number): void {
    this.reservedCount--;
    this.reservedBytes -= size;
    this.wakeWaiters();
  }

  /** Evicts the oldest ready message of the lowest priority; false when nothing can go. */
  evictOldest(): boolean {
    for (let p = 0; p <= MAX_PRIORITY; p++) {
      let victim: Entry | undefined;
      this.lanes[p]?.scan((e) => {
        victim = e;
        return (TAKE | STOP) as Verdict;
      });
      if (victim) {
        this.finish(victim);
        this.stats.dropped++;
        if (!this.warnedDrop) {
          this.warnedDrop = true;
          this.log.warn({ queue: this.name, policy: 'drop-oldest' }, 'queue full: dropping oldest messages (counted in stats.dropped)');
        }
        return true;
      }
    }
    return false;
  }

  /** Waits until a message of `size` fits, then reserves room for it. */
  waitForRoom(size: number, timeoutMs: number): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError(`queue ${this.name}`));
    this.stats.blocked++;
    return new Promise<void>((resolve, reject) => {
      const w: RoomWaiter = {
        size,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.roomWaiters = this.roomWaiters.filter((x) => x !== w);
          this.stats.rejected++;
          reject(new QueueFullError(this.name, `still full after waiting ${timeoutMs} ms`));
        }, timeoutMs),
      };
      w.timer.unref();
      this.roomWaiters.push(w);
    });
  }

  private wakeWaiters(): void {
    while (this.roomWaiters.length > 0) {
      const w = this.roomWaiters[0] as RoomWaiter;
      if (!this.hasRoom(w.size)) return;
      this.roomWaiters.shift();
      clearTimeout(w.timer);
      this.reserve(w.size);
      w.resolve();
    }
  }

  // ---- entries in ---------------------------------------------------------------------

  /**
   * Whether a persistent message about to be stored is held in memory or only in the store. Once
   * anything is paged out, everything after it is too (until the page-ins catch up), so order
   * holds. A scheduled message is paged out when the scheduled ones in memory fill a window. The
   * answer must be followed by `accept(..., placement)` or `unplan(placement)`.
   */
  planPlacement(message: Message, durable: boolean): Placement {
    if (!durable || !this.pager) return 'resident';
    const p = this.policy;
    if (message.deliverAt > this.now()) {
      return this.delayedCount >= p.pageWindowMessages || this.delayedBytes >= p.pageWindowBytes ? 'scheduled' : 'resident';
    }
    const paging =
      this.pagedCount + this.pagedPlanned > 0 || this.activeCount() >= p.pageWindowMessages || this.activeBytes() >= p.pageWindowBytes;
    if (!paging) return 'resident';
    this.pagedPlanned++;
    return 'paged';
  }

  /** The planned send did not happen. */
  unplan(placement: Placement): void {
    if (placement === 'paged') this.pagedPlanned--;
  }

  /** Entries in memory that are not waiting for a delivery time: the active window. */
  private activeCount(): number {
    return this.count - this.pagedCount - this.scheduledPagedCount - this.delayedCount;
  }

  private activeBytes(): number {
    return this.bytes - this.pagedBytes - this.scheduledPagedBytes - this.delayedBytes;
  }

  /**
   * Adds a message whose store write (if any) is done or issued; `reserved` when room was reserved
   * for it; `placement` as `planPlacement` said (paged or scheduled: it stays in the store for now).
   */
  accept(
    message: Message,
    durable: boolean,
    reserved: boolean,
    annotations?: Record<string, PropertyValue>,
    placement: Placement = 'resident',
  ): void {
    const size = messageSize(message);
    if (reserved) {
      this.reservedCount--;
      this.reservedBytes -= size;
    }
    if (placement === 'paged') this.pagedPlanned--;
    if (this.closed) return;
    this.stats.enqueued++;
    if (placement === 'paged') {
      this.count++;
      this.bytes += size;
      this.pagedCount++;
      this.pagedBytes += size;
      this.maybePageIn();
      return;
    }
    if (placement === 'scheduled') {
      this.count++;
      this.bytes += size;
      this.scheduledPagedCount++;
      this.scheduledPagedBytes += size;
      this.expectDue(message.deliverAt);
      return;
    }
    const e = this.newEntry(message, durable, 0, annotations);
    this.place(e, message.deliverAt);
    this.dispatch();
  }

  /** Counts the entries a restarting broker left paged out in the store. */
  restorePaged(paged: PagedStats): void {
    this.count += paged.count + paged.scheduledCount;
    this.bytes += paged.bytes + paged.scheduledBytes;
    this.pagedCount += paged.count;
    this.pagedBytes += paged.bytes;
    this.scheduledPagedCount += paged.scheduledCount;
    this.scheduledPagedBytes += paged.scheduledBytes;
    if (paged.nextDue > 0) this.expectDue(paged.nextDue);
    this.maybePageIn();
  }

  /** A scheduled paged-out entry falls due at `at`: be ready to promote it then. */
  private expectDue(at: number): void {
    if (this.nextPagedDue !== 0 && this.nextPagedDue <= at) return;
    this.nextPagedDue = at;
    this.armPromotion();
  }

  private armPromotion(delayMs?: number): void {
    if (this.promoteTimer) clearTimeout(this.promoteTimer);
    this.promoteTimer = undefined;
    if (this.closed || this.nextPagedDue === 0 || this.promoting) return;
    const wait = delayMs ?? Math.min(MAX_TIMER_MS, Math.max(0, this.nextPagedDue - this.now()));
    this.promoteTimer = setTimeout(() => this.promote(), wait);
    this.promoteTimer.unref();
  }

  /** Asks the store to turn the scheduled entries that are due into ordinary paged-out ones. */
  private promote(): void {
    this.promoteTimer = undefined;
    if (!this.pager || this.closed) return;
    const now = this.now();
    if (this.nextPagedDue > now) {
      this.armPromotion();
      return;
    }
    this.promoting = true;
    this.pager.promoteDue(this.name, now).then(
      (r) => {
        this.promoting = false;
        if (this.closed) return;
        this.scheduledPagedCount -= r.count;
        this.scheduledPagedBytes -= r.bytes;
        this.pagedCount += r.count;
        this.pagedBytes += r.bytes;
        this.nextPagedDue = r.nextDue;
        this.armPromotion();
        this.maybePageIn();
      },
      (err: unknown) => {
        this.promoting = false;
        if (this.closed) return;
        this.log.warn({ err, queue: this.name, scheduled: this.scheduledPagedCount }, 'promoting due scheduled messages failed; retrying');
        this.armPromotion(PAGE_IN_RETRY_MS);
      },
    );
  }

  /**
   * Brings paged-out entries back once the ready ones in memory are down to half the window, as
   * far as the window has room (in-flight entries count: memory stays bounded however consumers
   * prefetch, and consumers with credit left are not starved by those that have none).
   */
  private maybePageIn(): void {
    if (this.pagedCount <= 0 || this.pagingIn || this.closed || !this.pager || this.pageInRetry) return;
    const p = this.policy;
    if (this.residentReady() > p.pageWindowMessages / 2) return;
    const active = this.activeCount();
    const activeBytes = this.activeBytes();
    if (active >= p.pageWindowMessages || activeBytes >= p.pageWindowBytes) return;
    const maxCount = Math.max(1, Math.min(PAGE_IN_MAX, p.pageWindowMessages - active, this.pagedCount));
    const maxBytes = Math.max(1, p.pageWindowBytes - activeBytes);
    this.pagingIn = true;
    this.pager.pageIn(this.name, maxCount, maxBytes).then(
      (entries) => {
        this.pagingIn = false;
        if (this.closed) return;
        this.pagedIn(entries);
      },
      (err: unknown) => {
        this.pagingIn = false;
        if (this.closed) return;
        this.log.warn({ err, queue: this.name, paged: this.pagedCount }, 'paging in failed; retrying');
        this.pageInRetry = setTimeout(() => {
          this.pageInRetry = undefined;
          this.maybePageIn();
        }, PAGE_IN_RETRY_MS);
        this.pageInRetry.unref();
      },
    );
  }

  private pagedIn(entries: StoredEntry[]): void {
    if (entries.length === 0) {
      // The store holds none: it is the record, so the count follows it.
      this.log.warn({ queue: this.name, counted: this.pagedCount }, 'store has no paged-out entries left; count corrected');
      this.count -= this.pagedCount;
      this.bytes -= this.pagedBytes;
      this.pagedCount = 0;
      this.pagedBytes = 0;
      return;
    }
    for (const { message, state } of entries) {
      const size = messageSize(message);
      this.pagedCount--;
      this.pagedBytes -= size;
      this.count--;
      this.bytes -= size;
      const e = this.newEntry(message, true, state.deliveryCount, state.annotations);
      this.place(e, state.deliverAt);
    }
    this.dispatch();
    this.maybePageIn();
  }

  /** Re-creates an entry read back from the store at startup. */
  restore(message: Message, state: EntryState): void {
    const e = this.newEntry(message, true, state.deliveryCount, state.annotations);
    if (state.delivered) {
      e.deliveryCount++;
      this.stats.redelivered++;
      if (this.policy.maxDeliveries > 0 && e.deliveryCount >= this.policy.maxDeliveries) {
        this.deadLetter(e, `delivery failed ${e.deliveryCount} times (maxDeliveries ${this.policy.maxDeliveries})`);
        return;
      }
      this.persistState(e, false);
    }
    this.place(e, state.deliverAt);
  }

  private newEntry(message: Message, durable: boolean, deliveryCount: number, annotations?: Record<string, PropertyValue>): Entry {
    const size = messageSize(message);
    this.count++;
    this.bytes += size;
    if (message.expiresAt > 0) this.ttlEntries++;
    return {
      message,
      size,
      durable,
      seq: 0,
      deliveryCount,
      deliverAt: 0,
      annotations,
      status: 'gone',
      tag: 0,
      consumer: undefined,
      excluded: undefined,
    };
  }

  private place(e: Entry, deliverAt: number): void {
    if (deliverAt > this.now()) {
      e.status = 'delayed';
      e.deliverAt = deliverAt;
      this.delayedCount++;
      this.delayedBytes += e.size;
      this.delayed.add(deliverAt, e);
      return;
    }
    this.makeReady(e);
  }

  private makeReady(e: Entry): void {
    e.status = 'ready';
    e.deliverAt = 0;
    const lane = this.lanes[e.message.priority] as Lane<Entry>;
    if (e.seq === 0) {
      e.seq = ++this.seq;
      lane.push(e);
    } else lane.reinsert(e);
  }

  // ---- consumers ------------------------------------------------------------------------

  attach(opts: ConsumerOptions): Consumer {
    if (this.closed) throw new ClosedError(`queue ${this.name}`);
    const c = new Consumer(this, opts);
    this.consumers.push(c);
    this.dispatch();
    return c;
  }

  detach(c: Consumer): void {
    const i = this.consumers.indexOf(c);
    if (i < 0) return;
    this.consumers.splice(i, 1);
    for (const [gid, g] of this.groups) if (g.consumer === c) this.groups.delete(gid);
    const entries = [...c.inflight.values()] as Entry[];
    c.inflight.clear();
    for (const e of entries) {
      e.consumer = undefined;
      this.requeue(e, true, false);
    }
    this.dispatch();
    if (this.consumers.length === 0) this.onIdle?.(this);
  }

  // ---- dispatch ------------------------------------------------------------------------

  dispatch(): void {
    if (this.dispatching) {
      this.again = true;
      return;
    }
    this.dispatching = true;
    try {
      do {
        this.again = false;
        const out = this.collect();
        for (const [c, d] of out) {
          try {
            c.deliver(d);
          } catch (err) {
            this.log.error({ err, queue: this.name, consumer: c.id }, 'consumer callback failed');
          }
        }
      } while (this.again);
    } finally {
      this.dispatching = false;
    }
    if (this.pagedCount > 0) this.maybePageIn();
  }

  private eligible(): Consumer[] {
    const exclusive = this.consumers.find((c) => c.exclusive);
    if (exclusive) return exclusive.available() > 0 ? [exclusive] : [];
    return this.consumers.filter((c) => c.available() > 0);
  }

  private collect(): Array<[Consumer, Delivery]> {
    const out: Array<[Consumer, Delivery]> = [];
    if (this.closed || this.residentReady() === 0) return out;
    let candidates = this.eligible();
    if (candidates.length === 0) return out;
    const now = this.now();
    const expired: Entry[] = [];
    let budget = SCAN_BUDGET;
    for (let p = MAX_PRIORITY; p >= 0 && candidates.length > 0 && budget > 0; p--) {
      const lane = this.lanes[p] as Lane<Entry>;
      if (lane.size === 0) continue;
      budget -= lane.scan((e): Verdict => {
        if (e.message.expiresAt > 0 && e.message.expiresAt <= now && this.policy.expires) {
          expired.push(e);
          return TAKE;
        }
        const c = this.pick(e, candidates);
        if (!c) return SKIP;
        out.push([c, this.markInflight(e, c, now)]);
        if (c.available() <= 0) {
          candidates = candidates.filter((x) => x !== c);
          if (candidates.length === 0) return (TAKE | STOP) as Verdict;
        }
        return TAKE;
      }, budget);
    }
    for (const e of expired) this.expire(e);
    return out;
  }

  private accepts(c: Consumer, e: Entry): boolean {
    if (e.excluded?.has(c.id)) return false;
    return !c.selector || c.selector.matches({ message: e.message, deliveryCount: e.deliveryCount, annotations: e.annotations });
  }

  private pick(e: Entry, candidates: Consumer[]): Consumer | undefined {
    const gid = e.message.groupId;
    if (gid !== undefined) {
      const g = this.groups.get(gid);
      if (g) return candidates.includes(g.consumer) && this.accepts(g.consumer, e) ? g.consumer : undefined;
    }
    const n = candidates.length;
    for (let k = 0; k < n; k++) {
      const c = candidates[(this.rr + k) % n] as Consumer;
      if (this.accepts(c, e)) {
        this.rr = (this.rr + k + 1) % Math.max(1, this.consumers.length);
        return c;
      }
    }
    return undefined;
  }

  private markInflight(e: Entry, c: Consumer, now: number): Delivery {
    e.status = 'inflight';
    const tag = c.nextTag++;
    e.tag = tag;
    e.consumer = c;
    c.inflight.set(tag, e);
    if (c.creditMode === 'explicit') c.credit--;
    const gid = e.message.groupId;
    if (gid !== undefined) {
      const g = this.groups.get(gid);
      if (g) g.inflight++;
      else this.groups.set(gid, { consumer: c, inflight: 1 });
    }
    if (e.durable) this.persistState(e, true);
    if (this.policy.visibilityTimeoutMs > 0) this.visibility.add(now + this.policy.visibilityTimeoutMs, { entry: e, tag });
    this.stats.dispatched++;
    return {
      tag,
      consumerId: c.id,
      queue: this.name,
      message: e.message,
      deliveryCount: e.deliveryCount,
      redelivered: e.deliveryCount > 0,
      annotations: e.annotations,
    };
  }

  // ---- settlement -----------------------------------------------------------------------

  private takeInflight(c: Consumer, tag: number): Entry {
    const e = c.inflight.get(tag) as Entry | undefined;
    if (!e) throw new UnknownDeliveryError(tag, c.id);
    c.inflight.delete(tag);
    this.ungroup(e, c);
    e.consumer = undefined;
    return e;
  }

  private ungroup(e: Entry, c: Consumer): void {
    const gid = e.message.groupId;
    if (gid === undefined) return;
    const g = this.groups.get(gid);
    if (g && g.consumer === c && --g.inflight <= 0) this.groups.delete(gid);
  }

  ack(c: Consumer, tag: number): void {
    const e = this.takeInflight(c, tag);
    this.finish(e);
    this.stats.acked++;
    this.dispatch();
  }

  release(c: Consumer, tag: number, opts: ReleaseOptions): void {
    const e = this.takeInflight(c, tag);
    if (opts.undeliverableHere) (e.excluded ??= new Set()).add(c.id);
    const failed = opts.failed ?? true;
    this.requeue(e, failed, opts.delay ?? failed);
    this.dispatch();
  }

  reject(c: Consumer, tag: number, reason: string): void {
    const e = this.takeInflight(c, tag);
    this.deadLetter(e, reason);
    this.dispatch();
  }

  /** Puts an entry that left a consumer back: now, after the backoff delay, or to the DLQ. */
  private requeue(e: Entry, failed: boolean, delay: boolean): void {
    if (failed) {
      e.deliveryCount++;
      this.stats.redelivered++;
      const max = this.policy.maxDeliveries;
      if (max > 0 && e.deliveryCount >= max) {
        this.deadLetter(e, `delivery failed ${e.deliveryCount} times (maxDeliveries ${max})`);
        return;
      }
    }
    const wait = failed && delay ? redeliveryDelay(this.policy, e.deliveryCount) : 0;
    if (e.durable) this.persistState(e, false, wait > 0 ? this.now() + wait : 0);
    this.place(e, wait > 0 ? this.now() + wait : 0);
  }

  private persistState(e: Entry, delivered: boolean, deliverAt = 0): void {
    const state: EntryState = { deliveryCount: e.deliveryCount, deliverAt, delivered };
    if (e.annotations) state.annotations = e.annotations;
    this.writer.write({ type: 'update', queue: this.name, messageId: e.message.id, state });
  }

  /** The entry leaves this queue for good. */
  private finish(e: Entry): void {
    e.status = 'gone';
    this.count--;
    this.bytes -= e.size;
    if (e.message.expiresAt > 0) this.ttlEntries--;
    if (e.durable) this.writer.write({ type: 'remove', queue: this.name, messageId: e.message.id });
    this.wakeWaiters();
  }

  private deadLetterTarget(m: Message): string | null {
    const p = this.policy;
    if (this.subscription && p.deadLetterQueue !== null && p.deadLetterStrategy === 'individual') {
      return p.deadLetterPrefix + m.destination.name;
    }
    return p.deadLetterQueue;
  }

  /** The entry leaves for `target` (if any): its arrival there and its removal here are stored together. */
  private moveOut(e: Entry, target: string | null, cause: string): void {
    this.writer.together(() => {
      if (target !== null && target !== this.name) {
        this.mover(target, e.message, { ...e.annotations, dlqDeliveryFailureCause: cause, originalDestination: this.label });
      }
      this.finish(e);
    });
  }

  private deadLetter(e: Entry, reason: string): void {
    const target = this.deadLetterTarget(e.message);
    this.stats.deadLettered++;
    if (target === null || target === this.name) {
      this.stats.dropped++;
      this.log.warn({ queue: this.name, messageId: e.message.id, reason }, 'message dropped: no dead-letter queue');
    }
    this.moveOut(e, target, reason);
  }

  private expire(e: Entry): void {
    this.stats.expired++;
    const p = this.policy;
    this.moveOut(e, p.expiredMessages === 'dead-letter' ? this.deadLetterTarget(e.message) : p.expiryQueueName, 'expired');
  }

  // ---- timers ----------------------------------------------------------------------------

  private onDelayedDue(e: Entry, at: number): void {
    if (e.status !== 'delayed' || e.deliverAt !== at) return;
    this.delayedCount--;
    this.delayedBytes -= e.size;
    if (e.message.expiresAt > 0 && e.message.expiresAt <= this.now() && this.policy.expires) {
      this.expire(e);
      return;
    }
    this.makeReady(e);
    this.dispatch();
  }

  private onVisibilityDue(e: Entry, tag: number): void {
    const c = e.consumer;
    if (e.status !== 'inflight' || e.tag !== tag || !c) return;
    c.inflight.delete(tag);
    this.ungroup(e, c);
    e.consumer = undefined;
    this.stats.visibilityExpired++;
    this.requeue(e, true, false);
    this.dispatch();
  }

  /** Removes expired ready messages (dead-letter queues keep theirs). */
  sweepExpired(now: number): number {
    if (this.ttlEntries === 0 || !this.policy.expires) return 0;
    const expired: Entry[] = [];
    for (const lane of this.lanes) {
      if (lane.size === 0) continue;
      lane.scan((e) => {
        if (e.message.expiresAt > 0 && e.message.expiresAt <= now) {
          expired.push(e);
          return TAKE;
        }
        return SKIP;
      });
    }
    for (const e of expired) this.expire(e);
    return expired.length;
  }

  /** Ends the queue: consumers are told, waiting publishers refused, timers stopped. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pageInRetry) clearTimeout(this.pageInRetry);
    if (this.promoteTimer) clearTimeout(this.promoteTimer);
    this.delayed.close();
    this.visibility.close();
    for (const w of this.roomWaiters) {
      clearTimeout(w.timer);
      w.reject(new ClosedError(`queue ${this.name}`));
    }
    this.roomWaiters = [];
    for (const c of this.consumers.splice(0)) c.endedByBroker(reason);
  }
}
