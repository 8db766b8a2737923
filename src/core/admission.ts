// Admission control of one queue: its size limits (maxMessages, maxBytes), the room reserved for
// sends whose store write is still under way, and the overflow policy applied when a send does not
// fit: refuse it, drop the oldest ready message, or hold the sender until room frees up (refused
// after blockTimeoutMs). Every refusal and every drop is counted in the queue's stats, and drops are
// logged once per burst. Under `backlogOnly` (QueuePolicy) the limit bounds only the backlog of an
// unconsumed queue: a consumed queue that is full holds its publishers back instead. Transient sends
// (held only in memory) also meet the transient bounds, with their own policy: hold the sender, or
// drop the oldest transient message.
// A topic subscription isolates its publishers from a consumer that stopped taking messages: when
// sends wait for room and its consumers have settled nothing for `slowConsumerHoldMs` (a device
// that stopped reading long before its queue filled holds nobody at all), the subscription is a
// slow consumer until its backlog is down to half its bounds, and meanwhile makes room for sends at
// once by its slow-consumer policy (drop the oldest, counted; or end its consumers, through the
// host). A consumer that settles, however slowly, is flow control: it is never dropped for.
import type { Logger } from 'pino';
import { ClosedError, QueueFullError } from '../shared/errors.ts';
import type { QueuePolicy } from './policy.ts';

/** What admission needs from its queue. */
export interface AdmissionHost {
  readonly name: string;
  readonly policy: QueuePolicy;
  /** Entries held (in memory and in the store) and their size. */
  readonly count: number;
  readonly bytes: number;
  /** Of those, entries waiting for a consumer (neither in flight nor delayed). */
  readonly readyCount: number;
  readonly consumerCount: number;
  readonly stats: { rejected: number; blocked: number; dropped: number; slowConsumers: number };
  /** A topic subscription's queue: a stalled consumer may hold its publishers back only so long. */
  readonly isolatesPublishers: boolean;
  /** When a consumer last settled a delivery or attached (Date.now()). */
  readonly lastSettledAt: number;
  /** Of the entries held, those only in memory and not in flight (QueuePolicy.transientMaxMessages), and their size. */
  readonly transientCount: number;
  readonly transientBytes: number;
  /** Drops the oldest ready message (transient only, when asked) of the lowest priority; false when none can go. */
  dropOldest(transientOnly?: boolean): boolean;
  /** Ends every consumer (the `disconnect` slow-consumer policy). */
  abortConsumers(reason: string): void;
}

interface RoomWaiter {
  size: number;
  /** The send is transient (its reservation counts as such). */
  transient: boolean;
  /** It waits for room under the transient bounds too. */
  boundedTransient: boolean;
  resolve: () => void;
  reject: (err: unknown) => void;
  /** When it gives up (Date.now()), and after how long. */
  deadline: number;
  timeoutMs: number;
}

/** Drops within this long of the last drop log are counted into the next one. */
const DROP_LOG_MS = 10_000;

export class Admission {
  private reservedCount = 0;
  private reservedBytes = 0;
  private reservedTransient = 0;
  private reservedTransientBytes = 0;
  /** Sends waiting for room, first come first served; one timer serves them all (`expiry`). */
  private waiters: RoomWaiter[] = [];
  private expiry: NodeJS.Timeout | undefined;
  /** When drops were last logged, and how many have happened since. */
  private dropLoggedAt = Number.NEGATIVE_INFINITY;
  private dropsUnlogged = 0;
  private closed = false;
  /** A consumed subscription has held sends back and not caught up since (isolatesPublishers). */
  private holding = false;
  /** The subscription was declared a slow consumer and makes room by its policy until it catches up. */
  private slow = false;
  /** Checks whether waiting senders' consumers still settle (watchHold). */
  private holdTimer: NodeJS.Timeout | undefined;
  /** Inside shed(): the drops it makes wake the queue while the backlog is still full. */
  private shedding = false;

  constructor(
    private readonly q: AdmissionHost,
    private readonly log: Logger,
  ) {}

  /**
   * Reserves room for a send of `size` bytes, applying the overflow policies when it does not fit
   * and waiting for room under the block policy. Undefined when
   * the room was reserved at once (no promise for the common case); throws QueueFullError, or the
   * promise rejects with it, when the send is refused.
   */
  admit(size: number, transient = false): Promise<void> | undefined {
    const p = this.q.policy;
    // Under drop-oldest the transient bounds are kept as sends land (trimTransient), not here: sends
    // admitted together would otherwise all count against room that only the first of them has.
    const bounded = transient && p.transientOverflow === 'block';
    if (transient && p.transientMaxBytes > 0 && size > p.transientMaxBytes) {
      this.q.stats.rejected++;
      throw new QueueFullError(this.q.name, `message of ${size} bytes exceeds transientMaxBytes ${p.transientMaxBytes}`);
    }
    if (this.fits(size, bounded)) {
      this.reserve(size, transient);
      return;
    }
    if (this.slow && this.holdsForConsumers()) {
      this.shed(size, bounded);
      this.reserve(size, transient);
      return;
    }
    if (p.maxBytes > 0 && size > p.maxBytes) {
      this.q.stats.rejected++;
      throw new QueueFullError(this.q.name, `message of ${size} bytes exceeds maxBytes ${p.maxBytes}`);
    }
    if (!this.hasRoom(size)) {
      switch (p.backlogOnly && this.q.consumerCount > 0 ? 'block' : p.overflow) {
        case 'reject':
          this.q.stats.rejected++;
          throw new QueueFullError(this.q.name, this.limitText());
        case 'drop-oldest':
          while (!this.hasRoom(size)) {
            if (!this.q.dropOldest()) {
              this.q.stats.rejected++;
              throw new QueueFullError(
                this.q.name,
                `${this.limitText()}; no message can be dropped now (all in flight or still in the store)`,
              );
            }
            this.q.stats.dropped++;
            this.droppedOne('queue');
          }
          break;
        case 'block':
          break;
      }
    }
    if (this.fits(size, bounded)) {
      this.reserve(size, transient);
      return;
    }
    return this.waitForRoom(size, bounded, p.blockTimeoutMs, transient);
  }

  /**
   * A transient send landed: under drop-oldest, or while the subscription is a slow consumer, the
   * oldest waiting transient messages go until the bounds hold.
   */
  trimTransient(): void {
    const p = this.q.policy;
    if (p.transientOverflow !== 'drop-oldest' && !this.slow) return;
    while (
      (p.transientMaxMessages > 0 && this.q.transientCount > p.transientMaxMessages) ||
      (p.transientMaxBytes > 0 && this.q.transientBytes > p.transientMaxBytes)
    ) {
      if (!this.dropTransient()) return;
    }
  }

  /** Drops the oldest waiting transient message, counted; false when none waits (all delayed). */
  private dropTransient(): boolean {
    if (!this.q.dropOldest(true)) return false;
    this.q.stats.dropped++;
    this.droppedOne('transient');
    return true;
  }

  /** A reserved send did not happen: its room is free again. */
  unreserve(size: number, transient: boolean): void {
    this.settle(size, transient);
    this.wake();
  }

  /** A reserved send was accepted: the queue counts it from now on. */
  settle(size: number, transient: boolean): void {
    this.reservedCount--;
    this.reservedBytes -= size;
    if (transient) {
      this.reservedTransient--;
      this.reservedTransientBytes -= size;
    }
  }

  /** Room freed up (an entry left): held senders that now fit go ahead, in order. */
  wake(): void {
    while (this.waiters.length > 0) {
      const w = this.waiters[0] as RoomWaiter;
      if (!this.fits(w.size, w.boundedTransient)) return;
      this.waiters.shift();
      this.reserve(w.size, w.transient);
      w.resolve();
    }
    if (this.waiters.length === 0) this.disarmExpiry();
    if (this.holding && !this.shedding && this.caughtUp()) this.resetHold('caught up');
  }

  /**
   * The last consumer left a `backlogOnly` queue: senders it held back now meet the configured
   * overflow policy, as a send arriving now would (drop the oldest, or be refused), instead of
   * waiting out blockTimeoutMs.
   */
  consumersGone(): void {
    if (this.holding) this.resetHold('no consumer left');
    const p = this.q.policy;
    if (!p.backlogOnly || p.overflow === 'block') return;
    this.disarmExpiry();
    for (const w of this.waiters.splice(0)) {
      if (p.overflow === 'drop-oldest') {
        while (!this.fits(w.size, w.boundedTransient) && this.q.dropOldest()) {
          this.q.stats.dropped++;
          this.droppedOne('queue');
        }
      }
      if (this.fits(w.size, w.boundedTransient)) {
        this.reserve(w.size, w.transient);
        w.resolve();
      } else {
        this.q.stats.rejected++;
        w.reject(new QueueFullError(this.q.name, this.limitText()));
      }
    }
  }

  /** The subscription's consumers are holding its publishers back (they are attached, the queue is full). */
  private holdsForConsumers(): boolean {
    return this.q.isolatesPublishers && this.q.policy.slowConsumerHoldMs > 0 && this.q.consumerCount > 0;
  }

  /**
   * Makes room for a send of a slow consumer's subscription: an MQTT session's own overflow policy
   * (`backlogOnly`: drop the oldest, or refuse), otherwise drop the oldest (transient ones first
   * where the transient bounds are what is full). Sends admitted together count against room only
   * one of them has, so when nothing more can be dropped while others are still landing the send
   * goes ahead, and the transient bounds are kept again as they land (trimTransient). Refuses only
   * when nothing can be dropped and nothing else is under way.
   */
  private shed(size: number, boundedTransient: boolean): void {
    const p = this.q.policy;
    if (p.backlogOnly && p.overflow === 'reject') {
      this.q.stats.rejected++;
      throw new QueueFullError(this.q.name, `${this.limitText()}; the subscription's consumer is not taking messages (slow consumer)`);
    }
    this.shedding = true;
    try {
      while (!this.fits(size, boundedTransient)) {
        const transientOnly = boundedTransient && this.hasRoom(size);
        if (!this.q.dropOldest(transientOnly)) {
          if (this.reservedCount > 0) return;
          this.q.stats.rejected++;
          throw new QueueFullError(this.q.name, 'slow consumer: no message can be dropped now (all in flight or still in the store)');
        }
        this.q.stats.dropped++;
        this.droppedOne(transientOnly ? 'transient' : 'queue');
      }
    } finally {
      this.shedding = false;
    }
  }

  /** Its consumers settled nothing for the hold: the subscription is a slow consumer; held senders go ahead by its policy. */
  private declareSlow(): void {
    if (this.slow) return;
    const p = this.q.policy;
    this.slow = true;
    this.q.stats.slowConsumers++;
    this.log.warn(
      {
        queue: this.q.name,
        holdMs: p.slowConsumerHoldMs,
        policy: p.slowConsumer,
        consumers: this.q.consumerCount,
        ready: this.q.readyCount,
      },
      p.slowConsumer === 'disconnect'
        ? 'slow consumer: it settled nothing for slowConsumerHoldMs while publishers waited; ending its consumers'
        : 'slow consumer: it settled nothing for slowConsumerHoldMs while publishers waited; making room by its overflow policy from now on',
    );
    this.disarmExpiry();
    for (const w of this.waiters.splice(0)) {
      try {
        this.shed(w.size, w.boundedTransient);
        this.reserve(w.size, w.transient);
        w.resolve();
      } catch (err) {
        w.reject(err);
      }
    }
    if (p.slowConsumer === 'disconnect') {
      this.q.abortConsumers(`slow consumer: settled no message for ${p.slowConsumerHoldMs} ms while its subscription was full`);
    }
  }

  /** The backlog is down to half of every bound that is set. */
  private caughtUp(): boolean {
    const p = this.q.policy;
    const held = p.backlogOnly ? this.q.readyCount : this.q.count + this.reservedCount;
    return (
      this.waiters.length === 0 &&
      (p.maxMessages === 0 || held <= p.maxMessages / 2) &&
      (p.maxBytes === 0 || this.q.bytes + this.reservedBytes <= p.maxBytes / 2) &&
      (p.transientMaxMessages === 0 || this.q.transientCount + this.reservedTransient <= p.transientMaxMessages / 2) &&
      (p.transientMaxBytes === 0 || this.q.transientBytes + this.reservedTransientBytes <= p.transientMaxBytes / 2)
    );
  }

  private resetHold(why: string): void {
    if (this.slow)
      this.log.info({ queue: this.q.name, why }, 'slow consumer no more: publishers are held back again when its subscription is full');
    this.slow = false;
    this.holding = false;
  }

  /** Refuses every held sender; later sends are refused too. */
  close(): void {
    this.closed = true;
    clearTimeout(this.holdTimer);
    this.disarmExpiry();
    for (const w of this.waiters) w.reject(new ClosedError(`queue ${this.q.name}`));
    this.waiters = [];
  }

  private fits(size: number, transient: boolean): boolean {
    return this.hasRoom(size) && (!transient || this.transientRoom(size));
  }

  private transientRoom(size: number): boolean {
    const p = this.q.policy;
    return (
      (p.transientMaxMessages === 0 || this.q.transientCount + this.reservedTransient < p.transientMaxMessages) &&
      (p.transientMaxBytes === 0 || this.q.transientBytes + this.reservedTransientBytes + size <= p.transientMaxBytes)
    );
  }

  private hasRoom(size: number): boolean {
    const p = this.q.policy;
    const held = p.backlogOnly ? this.q.readyCount : this.q.count + this.reservedCount;
    let max = p.maxMessages;
    // A consumer that keeps up is kept close behind: publishers wait at the online bound (policy.ts).
    const online = p.onlineMaxMessages ?? 0;
    if (p.backlogOnly && online > 0 && !this.slow && this.q.consumerCount > 0 && (max === 0 || online < max)) max = online;
    return (max === 0 || held < max) && (p.maxBytes === 0 || this.q.bytes + this.reservedBytes + size <= p.maxBytes);
  }

  /** Drops are logged when a burst starts, then at most every DROP_LOG_MS with the count since. */
  private droppedOne(limit: 'queue' | 'transient'): void {
    this.dropsUnlogged++;
    const now = Date.now();
    if (now - this.dropLoggedAt < DROP_LOG_MS) return;
    this.log.warn(
      { queue: this.q.name, policy: 'drop-oldest', limit, dropped: this.dropsUnlogged, droppedTotal: this.q.stats.dropped },
      limit === 'queue'
        ? 'queue full: dropping oldest messages (counted in stats.dropped)'
        : 'slow consumer: transient messages over the limit, dropping the oldest (counted in stats.dropped)',
    );
    this.dropLoggedAt = now;
    this.dropsUnlogged = 0;
  }

  private reserve(size: number, transient: boolean): void {
    this.reservedCount++;
    this.reservedBytes += size;
    if (transient) {
      this.reservedTransient++;
      this.reservedTransientBytes += size;
    }
  }

  private waitForRoom(size: number, boundedTransient: boolean, timeoutMs: number, transient: boolean): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError(`queue ${this.q.name}`));
    if (this.holdsForConsumers()) {
      this.holding = true;
      if (Date.now() - this.q.lastSettledAt >= this.q.policy.slowConsumerHoldMs && timeoutMs > 0) {
        // Its consumers have settled nothing for the whole hold already: slow at once, nobody waits.
        this.declareSlow();
        this.shed(size, boundedTransient);
        this.reserve(size, transient);
        return Promise.resolve();
      }
      this.watchHold();
    }
    this.q.stats.blocked++;
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ size, transient, boundedTransient, resolve, reject, deadline: Date.now() + timeoutMs, timeoutMs });
      if (!this.expiry) this.armExpiry();
    });
  }

  /** One timer for every waiting send, armed for the first in line (they wait in arrival order). */
  private armExpiry(): void {
    const first = this.waiters[0];
    if (!first) return;
    this.expiry = setTimeout(() => this.expireWaiters(), Math.max(0, first.deadline - Date.now()));
    this.expiry.unref();
  }

  private disarmExpiry(): void {
    clearTimeout(this.expiry);
    this.expiry = undefined;
  }

  /** Refuses the sends, from the front, whose wait is over. */
  private expireWaiters(): void {
    this.expiry = undefined;
    const now = Date.now();
    while (this.waiters.length > 0 && (this.waiters[0] as RoomWaiter).deadline <= now) {
      const w = this.waiters.shift() as RoomWaiter;
      this.q.stats.rejected++;
      const what = w.boundedTransient && !this.transientRoom(w.size) ? `${this.transientLimitText()} still reached` : 'still full';
      w.reject(new QueueFullError(this.q.name, `${what} after waiting ${w.timeoutMs} ms`));
    }
    this.armExpiry();
  }

  /**
   * While senders wait on a consumed subscription, checks every slowConsumerHoldMs whether its
   * consumers settled anything since: one timer per subscription, not one per waiting send.
   */
  private watchHold(): void {
    if (this.holdTimer) return;
    const holdMs = this.q.policy.slowConsumerHoldMs;
    const check = (): void => {
      this.holdTimer = undefined;
      if (this.waiters.length === 0 || !this.holdsForConsumers()) return;
      const quiet = Date.now() - this.q.lastSettledAt;
      if (quiet >= holdMs) {
        this.declareSlow();
        return;
      }
      this.holdTimer = setTimeout(check, holdMs - quiet);
      this.holdTimer.unref();
    };
    this.holdTimer = setTimeout(check, Math.max(0, this.q.lastSettledAt + holdMs - Date.now()));
    this.holdTimer.unref();
  }

  private transientLimitText(): string {
    const p = this.q.policy;
    return limitText(['transientMaxMessages', p.transientMaxMessages], ['transientMaxBytes', p.transientMaxBytes]);
  }

  private limitText(): string {
    const p = this.q.policy;
    return limitText(['maxMessages', p.maxMessages], ['maxBytes', p.maxBytes]);
  }
}

/** The limits that are set (above 0), as `name value, name value`. */
function limitText(...limits: Array<[string, number]>): string {
  return limits
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}
