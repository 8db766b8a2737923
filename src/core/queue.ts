// A queue: the one structure that holds messages (named queues, topic subscriptions and dead-letter
// queues alike). It owns ordering (priority, then FIFO; returned messages regain their place),
// delayed delivery, dispatch to consumers by credit with selectors, message groups and exclusive
// consumers, settlement (ack, release with backoff, reject), dead-lettering, expiry and visibility
// timeouts. A send enters through a publish ticket (`prepare`; publish-ticket.ts) that decides
// admission under the limits (admission.ts), placement in memory or only in the store (paging.ts)
// and the store operation together. Durable changes go to the store through the broker's writer.
// Over 450 lines: what remains is one job, the life of an entry (ready, delayed, in flight, gone)
// across intake, dispatch, settlement, dead-lettering and timers; each of those steps moves the same
// entry between the same lanes and counters, and splitting them would spread one state machine
// over several files.
import type { Logger } from 'pino';
import { ClosedError, UnknownDeliveryError } from '../shared/errors.ts';
import { SKIP, STOP, TAKE, type Verdict } from '../shared/lane.ts';
import type { EntryState, PagedStats, StoredEntry, StoreOp } from '../store/store.ts';
import { Admission } from './admission.ts';
import { Consumer, type ConsumerHost, type ConsumerOptions, type Delivery, type ReleaseOptions } from './consumer.ts';
import { DueQueue } from './due-queue.ts';
import { messageSize, type Message, type PropertyValue } from './message.ts';
import { MessageGroups } from './message-groups.ts';
import { Paging, type PageSource } from './paging.ts';
import { PublishTicket, type TicketIssuer } from './publish-ticket.ts';
import type { BrowsedMessage } from './queue-browser.ts';
import { ReadyEntries } from './ready-entries.ts';
import { redeliveryDelay, type QueuePolicy } from './policy.ts';
import type { StoreWriter } from './store-writer.ts';

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
  /** Delivered before, in this broker's memory (AMQP first-acquirer is false from then on). */
  acquired: boolean;
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
  /** Times this subscription was declared a slow consumer (it settled nothing for slowConsumerHoldMs while publishers waited). */
  slowConsumers: number;
}

/** Counters all at zero. */
export function emptyStats(): QueueStats {
  return {
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
    slowConsumers: 0,
  };
}

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
  pager?: PageSource;
  /**
   * A topic subscription's queue: with individual dead-lettering its dead letters go to
   * `<prefix><the message's topic>`, as ActiveMQ does for topic messages.
   */
  subscription?: boolean;
}

export class Queue implements ConsumerHost, TicketIssuer {
  readonly name: string;
  readonly label: string;
  readonly durable: boolean;
  policy: QueuePolicy;
  readonly stats: QueueStats = emptyStats();
  /** Entries in memory (ready, delayed and in flight), and their size. */
  private residentCount = 0;
  private residentBytes = 0;
  /** Of those, entries waiting for their delivery time (they are not part of the active window). */
  private delayedEntries = 0;
  private delayedSize = 0;
  /**
   * Of those, entries held only in memory (not durable) and waiting, not in flight: the transient
   * bounds count them (in-flight ones are bounded by consumers' prefetch).
   */
  transientCount = 0;
  transientBytes = 0;
  private ttlEntries = 0;
  private readonly ready = new ReadyEntries<Entry>();
  /** Made when first needed: most queues never hold a delayed message or have a visibility timeout. */
  private delayedDue: DueQueue<Entry> | undefined;
  private visibilityDue: DueQueue<{ entry: Entry; tag: number }> | undefined;
  private readonly consumers: Consumer[] = [];
  private readonly groups = new MessageGroups<Consumer>();
  private readonly admission: Admission;
  private readonly paging: Paging;
  private rr = 0;
  private dispatching = false;
  private again = false;
  private closed = false;
  private readonly writer: StoreWriter;
  private readonly mover: Mover;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly onIdle: ((q: Queue) => void) | undefined;
  private readonly subscription: boolean;
  /** When a consumer last settled a delivery or attached (wall clock, as admission's hold counts). */
  lastSettledAt = Date.now();

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
    this.admission = new Admission(this, this.log);
    this.paging = new Paging(this, init.pager, this.log, this.now);
  }

  private get delayed(): DueQueue<Entry> {
    return (this.delayedDue ??= this.dueQueue((e, at) => this.onDelayedDue(e, at)));
  }

  private get visibility(): DueQueue<{ entry: Entry; tag: number }> {
    return (this.visibilityDue ??= this.dueQueue(({ entry, tag }) => this.onVisibilityDue(entry, tag)));
  }

  private dueQueue<T>(onDue: (item: T, at: number) => void): DueQueue<T> {
    const q = new DueQueue(onDue, this.now);
    if (this.closed) q.close();
    return q;
  }

  /** Entries held: ready (in memory or only in the store), delayed and in flight. */
  get count(): number {
    return this.residentCount + this.paging.count + this.paging.scheduledCount;
  }

  get bytes(): number {
    return this.residentBytes + this.paging.bytes + this.paging.scheduledBytes;
  }

  /** Size of the entries in memory (ready, delayed and in flight). */
  get memoryBytes(): number {
    return this.residentBytes;
  }

  /** Of those, entries only in the store (beyond the memory windows), ready or scheduled. */
  get pagedCount(): number {
    return this.paging.count + this.paging.scheduledCount;
  }

  /** Entries waiting for a consumer, in memory or paged out. */
  get readyCount(): number {
    return this.residentReady() + this.paging.count;
  }

  residentReady(): number {
    return this.ready.size;
  }

  get consumerCount(): number {
    return this.consumers.length;
  }

  /** Entries kept in the store: all but those held only in memory (waiting or in flight). */
  get storedCount(): number {
    let inflightTransient = 0;
    for (const c of this.consumers) for (const e of c.inflight.values()) if (!(e as Entry).durable) inflightTransient++;
    return this.count - this.transientCount - inflightTransient;
  }

  get isolatesPublishers(): boolean {
    return this.subscription;
  }

  /** Ends every consumer as a slow consumer (their adapters close them); what they held returns to the queue. */
  abortConsumers(reason: string): void {
    for (const c of [...this.consumers]) c.abort(reason);
  }

  get inflightCount(): number {
    let n = 0;
    for (const c of this.consumers) n += c.inflight.size;
    return n;
  }

  /** Entries in memory waiting for their delivery time, and their size (paging reads them). */
  get delayedCount(): number {
    return this.delayedEntries;
  }

  get delayedBytes(): number {
    return this.delayedSize;
  }

  /** Entries in memory that are not waiting for a delivery time: the active window. */
  activeCount(): number {
    return this.residentCount - this.delayedEntries;
  }

  activeBytes(): number {
    return this.residentBytes - this.delayedSize;
  }

  // ---- entries in ---------------------------------------------------------------------

  /**
   * Prepares a send: reserves room under the limits (applying the overflow policy, which may wait
   * or refuse with QueueFullError), chooses where the message lives and builds its store operation.
   * The ticket comes at once when there is room (a promise only when the send must wait); a
   * refusal throws, or rejects the promise.
   */
  prepare(message: Message): PublishTicket | Promise<PublishTicket> {
    const size = messageSize(message);
    const waiting = this.admission.admit(size, !(message.persistent && this.durable));
    if (waiting) return waiting.then(() => this.ticket(message, size, true, undefined));
    return this.ticket(message, size, true, undefined);
  }

  /** Prepares a move from another queue (dead letter, expired message): never refused. */
  prepareMove(message: Message, annotations: Record<string, PropertyValue>): PublishTicket {
    return this.ticket(message, messageSize(message), false, annotations);
  }

  private ticket(message: Message, size: number, reserved: boolean, annotations: Record<string, PropertyValue> | undefined): PublishTicket {
    const durable = message.persistent && this.durable;
    const placement = this.paging.plan(message, durable);
    let op: StoreOp | undefined;
    if (durable) {
      // A paged-out entry is scheduled in the store exactly when its state carries a due time.
      const state: EntryState = { deliveryCount: 0, deliverAt: placement === 'paged' ? 0 : message.deliverAt, delivered: false };
      if (annotations) state.annotations = annotations;
      op =
        placement === 'resident'
          ? { type: 'enqueue', queue: this.name, message, state }
          : { type: 'enqueue', queue: this.name, message, state, paged: true, size };
    }
    return new PublishTicket(this, op, message, size, durable, reserved, annotations, placement);
  }

  /**
   * A ticket's commit: adds the message, whose store write (if any) is done; a paged or scheduled
   * one stays in the store for now.
   */
  commitTicket(t: PublishTicket): void {
    const { message, size, placement } = t;
    if (t.reserved) this.admission.settle(size, !t.durable);
    if (!this.closed) this.stats.enqueued++;
    if (placement !== 'resident') {
      this.paging.accepted(message, size, placement);
      return;
    }
    if (this.closed) return;
    const e = this.newEntry(message, t.durable, 0, t.annotations);
    this.place(e, message.deliverAt);
    if (!t.durable) this.admission.trimTransient();
    this.dispatch();
  }

  /** A ticket's abort: the send did not happen; its room and placement are free again. */
  abortTicket(t: PublishTicket): void {
    if (t.reserved) this.admission.unreserve(t.size, !t.durable);
    this.paging.unplan(t.placement);
  }

  /** Counts the entries a restarting broker left paged out in the store. */
  restorePaged(paged: PagedStats): void {
    this.paging.restore(paged);
  }

  /** Entries paging brought back from the store. */
  pagedIn(entries: StoredEntry[]): void {
    for (const { message, state } of entries) {
      const e = this.newEntry(message, true, state.deliveryCount, state.annotations);
      this.place(e, state.deliverAt);
    }
    this.dispatch();
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
    this.residentCount++;
    this.residentBytes += size;
    if (!durable) {
      this.transientCount++;
      this.transientBytes += size;
    }
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
      acquired: false,
    };
  }

  private place(e: Entry, deliverAt: number): void {
    if (deliverAt > this.now()) {
      e.status = 'delayed';
      e.deliverAt = deliverAt;
      this.delayedEntries++;
      this.delayedSize += e.size;
      this.delayed.add(deliverAt, e);
      return;
    }
    this.makeReady(e);
  }

  private makeReady(e: Entry): void {
    e.status = 'ready';
    e.deliverAt = 0;
    this.ready.add(e);
  }

  /** What a browser sees of this queue's memory now: in-flight entries, then ready ones in dispatch order. */
  browseSnapshot(): BrowsedMessage[] {
    const inflight: Entry[] = [];
    for (const c of this.consumers) for (const e of c.inflight.values()) inflight.push(e as Entry);
    inflight.sort((a, b) => a.seq - b.seq);
    const out = inflight.map(browsed);
    this.ready.scan((e) => {
      out.push(browsed(e));
      return SKIP;
    });
    return out;
  }

  // ---- consumers ------------------------------------------------------------------------

  attach(opts: ConsumerOptions): Consumer {
    if (this.closed) throw new ClosedError(`queue ${this.name}`);
    const c = new Consumer(this, opts);
    this.consumers.push(c);
    this.lastSettledAt = Date.now();
    this.dispatch();
    return c;
  }

  detach(c: Consumer): void {
    const i = this.consumers.indexOf(c);
    if (i < 0) return;
    this.consumers.splice(i, 1);
    this.groups.forget(c);
    const entries = [...c.inflight.values()] as Entry[];
    c.inflight.clear();
    for (const e of entries) {
      e.consumer = undefined;
      this.requeue(e, true, false);
    }
    this.dispatch();
    if (this.consumers.length === 0) {
      this.admission.consumersGone();
      this.onIdle?.(this);
    }
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
    this.paging.maybePageIn();
    // Deliveries free room where only waiting messages count (backlogOnly, the transient bounds).
    this.admission.wake();
  }

  private eligible(): Consumer[] {
    const exclusive = this.consumers.find((c) => c.exclusive);
    if (exclusive) return exclusive.available() > 0 ? [exclusive] : [];
    return this.consumers.filter((c) => c.available() > 0);
  }

  private collect(): Array<[Consumer, Delivery]> {
    const out: Array<[Consumer, Delivery]> = [];
    if (this.closed || this.ready.size === 0) return out;
    let candidates = this.eligible();
    if (candidates.length === 0) return out;
    const now = this.now();
    const expired: Entry[] = [];
    this.ready.scan((e): Verdict => {
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
    }, SCAN_BUDGET);
    for (const e of expired) this.expire(e);
    return out;
  }

  private accepts(c: Consumer, e: Entry): boolean {
    if (e.excluded?.has(c.id)) return false;
    if (c.admit && !c.admit(e.message)) return false;
    return !c.selector || c.selector.matches({ message: e.message, deliveryCount: e.deliveryCount, annotations: e.annotations });
  }

  private pick(e: Entry, candidates: Consumer[]): Consumer | undefined {
    const gid = e.message.groupId;
    if (gid !== undefined) {
      const owner = this.groups.owner(gid);
      if (owner) return candidates.includes(owner) && this.accepts(owner, e) ? owner : undefined;
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
    if (!e.durable) this.transient(e, -1);
    e.status = 'inflight';
    const tag = c.nextTag++;
    e.tag = tag;
    e.consumer = c;
    c.inflight.set(tag, e);
    if (c.creditMode === 'explicit') c.credit--;
    const gid = e.message.groupId;
    const firstOfGroup = gid !== undefined && this.groups.delivered(gid, c, closesGroup(e.message));
    if (e.durable) this.persistState(e, true);
    const firstAcquirer = !e.acquired && e.deliveryCount === 0;
    e.acquired = true;
    if (this.policy.visibilityTimeoutMs > 0) this.visibility.add(now + this.policy.visibilityTimeoutMs, { entry: e, tag });
    this.stats.dispatched++;
    return {
      tag,
      consumerId: c.id,
      queue: this.name,
      message: e.message,
      deliveryCount: e.deliveryCount,
      redelivered: e.deliveryCount > 0,
      firstAcquirer,
      // ActiveMQ marks the message that hands a group to a consumer.
      annotations: firstOfGroup ? { ...e.annotations, JMSXGroupFirstForConsumer: true } : e.annotations,
    };
  }

  // ---- settlement -----------------------------------------------------------------------

  /** Drops the oldest ready message (transient only, when asked) of the lowest priority; false when none can go. */
  dropOldest(transientOnly = false): boolean {
    const victim = this.ready.takeOldestOfLowest(transientOnly ? isTransient : undefined);
    if (victim) this.finish(victim);
    return victim !== undefined;
  }

  private takeInflight(c: Consumer, tag: number): Entry {
    this.lastSettledAt = Date.now();
    const e = c.inflight.get(tag) as Entry | undefined;
    if (!e) throw new UnknownDeliveryError(tag, c.id);
    c.inflight.delete(tag);
    e.consumer = undefined;
    return e;
  }

  ack(c: Consumer, tag: number, stored = false): void {
    const e = this.takeInflight(c, tag);
    this.finish(e, stored);
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
    else this.transient(e, 1);
    this.place(e, wait > 0 ? this.now() + wait : 0);
  }

  private persistState(e: Entry, delivered: boolean, deliverAt = 0): void {
    const state: EntryState = { deliveryCount: e.deliveryCount, deliverAt, delivered };
    if (e.annotations) state.annotations = e.annotations;
    this.writer.write({ type: 'update', queue: this.name, messageId: e.message.id, state });
  }

  private transient(e: Entry, sign: 1 | -1): void {
    this.transientCount += sign;
    this.transientBytes += sign * e.size;
  }

  removal(c: Consumer, tag: number): StoreOp | undefined {
    const e = c.inflight.get(tag) as Entry | undefined;
    return e?.durable ? { type: 'remove', queue: this.name, messageId: e.message.id } : undefined;
  }

  /** The entry leaves this queue for good (`stored`: its removal is already in the store). */
  private finish(e: Entry, stored = false): void {
    if (!e.durable && e.status !== 'inflight') this.transient(e, -1);
    e.status = 'gone';
    this.residentCount--;
    this.residentBytes -= e.size;
    if (e.message.expiresAt > 0) this.ttlEntries--;
    if (e.durable && !stored) this.writer.write({ type: 'remove', queue: this.name, messageId: e.message.id });
    this.admission.wake();
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
    this.delayedEntries--;
    this.delayedSize -= e.size;
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
    e.consumer = undefined;
    this.stats.visibilityExpired++;
    this.requeue(e, true, false);
    this.dispatch();
  }

  /**
   * An operator's purge or move: takes the ready messages `match` accepts out of the queue (at
   * most `limit`), handing each to `each` (which may send it elsewhere) in the batch that removes
   * it. Those in memory go first; paged-out ones are paged in as the taken ones free the window,
   * so memory stays bounded. Messages in flight or scheduled for later stay, and so do paged-out
   * ones behind a full window of messages `match` refuses. Resolves with how many were taken.
   */
  async takeReady(match: (view: BrowsedMessage) => boolean, each: (e: BrowsedMessage) => void, limit = Infinity): Promise<number> {
    let taken = 0;
    for (;;) {
      const batch: Entry[] = [];
      this.ready.scan((e) => {
        if (batch.length >= limit - taken) return STOP;
        if (!match(browsed(e))) return SKIP;
        batch.push(e);
        return TAKE;
      });
      for (const e of batch) {
        this.writer.together(() => {
          each(browsed(e));
          this.finish(e);
        });
      }
      taken += batch.length;
      if (taken >= limit || this.closed || (await this.paging.pageInNow()) === 0) return taken;
    }
  }

  /** Removes expired ready messages (dead-letter queues keep theirs). */
  sweepExpired(now: number): number {
    if (this.ttlEntries === 0 || !this.policy.expires) return 0;
    const expired: Entry[] = [];
    this.ready.scan((e) => {
      if (e.message.expiresAt > 0 && e.message.expiresAt <= now) {
        expired.push(e);
        return TAKE;
      }
      return SKIP;
    });
    for (const e of expired) this.expire(e);
    return expired.length;
  }

  /** Ends the queue: consumers are told, waiting publishers refused, timers stopped. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.paging.close();
    this.delayedDue?.close();
    this.visibilityDue?.close();
    this.admission.close();
    for (const c of this.consumers.splice(0)) c.endedByBroker(reason);
  }
}

/** JMSXGroupSeq = -1 (a number, or a STOMP header's string) closes the message's group. */
function closesGroup(m: Message): boolean {
  const seq = m.properties.JMSXGroupSeq;
  return seq === -1 || seq === '-1';
}

function isTransient(e: Entry): boolean {
  return !e.durable;
}

function browsed(e: Entry): BrowsedMessage {
  return { message: e.message, deliveryCount: e.deliveryCount, redelivered: e.deliveryCount > 0, annotations: e.annotations };
}
