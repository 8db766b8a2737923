// A consumer attached to one queue: its credit (a prefetch window refilled as it settles, or
// explicit credit granted by the adapter, as AMQP does), its unsettled deliveries, and the
// settlement calls an adapter makes (ack, release, reject).
import { uuid } from '../shared/ids.ts';
import { UnknownDeliveryError } from '../shared/errors.ts';
import type { Message, PropertyValue } from './message.ts';
import type { Selector } from './selector/index.ts';
import type { StoreOp } from '../store/store.ts';

export type CreditMode = 'window' | 'explicit';

export interface Delivery {
  /** Unique per consumer; pass it back to settle. */
  readonly tag: number;
  readonly consumerId: string;
  /** The queue it came from (a subscription's queue for topic consumers). */
  readonly queue: string;
  readonly message: Message;
  /** Failed deliveries before this one. */
  readonly deliveryCount: number;
  readonly redelivered: boolean;
  /** No consumer has held it before (released ones included), as AMQP's first-acquirer says. */
  readonly firstAcquirer: boolean;
  /** Facts the queue added: dead-letter reason, original destination. */
  readonly annotations: Readonly<Record<string, PropertyValue>> | undefined;
}

export interface ReleaseOptions {
  /** Counts as a failed delivery (deliveryCount + 1, redelivery backoff, DLQ at maxDeliveries). Default true. */
  failed?: boolean;
  /** Apply the redelivery backoff delay. Default true when failed. */
  delay?: boolean;
  /** Never offer this message to this consumer again (AMQP modified undeliverable-here). */
  undeliverableHere?: boolean;
}

/** Why the broker ended a consumer its client did not close. */
export type AbortCause = 'slow-consumer' | 'not-authorized';

export interface ConsumerOptions {
  connectionId?: string;
  selector?: Selector | undefined;
  creditMode?: CreditMode;
  /** Window size (window mode) or initial credit (explicit mode). */
  prefetch?: number;
  exclusive?: boolean;
  /**
   * A test the adapter keeps on each message before it is offered, besides the selector (SQS FIFO
   * holds a message group while a receive of it is in flight). When what it answers changes, the
   * adapter calls `redispatch()`.
   */
  admit?: (message: Message) => boolean;
  onMessage: (delivery: Delivery) => void;
  /** Called when the broker ends the consumer (its queue was deleted, broker shutdown). */
  onClosed?: (reason: string) => void;
  /**
   * Called when the broker ends the consumer as a slow consumer (policy `slowConsumer: disconnect`):
   * the adapter tells its client and closes what its protocol can close (the link, else the
   * connection). Without it, `onClosed` is called.
   */
  onAborted?: (reason: string, cause: AbortCause) => void;
}

/** What a Consumer needs from its queue. */
export interface ConsumerHost {
  readonly name: string;
  /** `stored`: the removal is already in the store (a committed transaction's batch). */
  ack(c: Consumer, tag: number, stored?: boolean): void;
  /** The store operation that removes an unsettled delivery's message from the queue, if it is stored. */
  removal(c: Consumer, tag: number): StoreOp | undefined;
  release(c: Consumer, tag: number, opts: ReleaseOptions): void;
  reject(c: Consumer, tag: number, reason: string): void;
  detach(c: Consumer): void;
  dispatch(): void;
}

export class Consumer {
  readonly id = uuid();
  readonly connectionId: string | undefined;
  readonly selector: Selector | undefined;
  readonly creditMode: CreditMode;
  readonly prefetch: number;
  readonly exclusive: boolean;
  readonly admit: ((message: Message) => boolean) | undefined;
  /** Unsettled deliveries by tag. The queue owns the values. */
  readonly inflight = new Map<number, unknown>();
  credit: number;
  nextTag = 1;
  closed = false;
  /** Unsettled deliveries a transaction has settled, pending its commit: they leave the window. */
  private transacted: Set<number> | undefined;
  private readonly onMessage: (d: Delivery) => void;
  private readonly onClosedCb: ((reason: string) => void) | undefined;
  private readonly onAbortedCb: ((reason: string, cause: AbortCause) => void) | undefined;

  constructor(
    private readonly host: ConsumerHost,
    opts: ConsumerOptions,
  ) {
    this.connectionId = opts.connectionId;
    this.selector = opts.selector;
    this.creditMode = opts.creditMode ?? 'window';
    this.prefetch = Math.max(0, opts.prefetch ?? 1000);
    this.credit = this.creditMode === 'explicit' ? this.prefetch : 0;
    this.exclusive = opts.exclusive ?? false;
    this.admit = opts.admit;
    this.onMessage = opts.onMessage;
    this.onClosedCb = opts.onClosed;
    this.onAbortedCb = opts.onAborted;
  }

  get queueName(): string {
    return this.host.name;
  }

  /** Deliveries this consumer may still receive now. */
  available(): number {
    if (this.closed) return 0;
    if (this.creditMode !== 'window') return this.credit;
    return this.prefetch - this.inflight.size + (this.transacted ? this.transactedCount(this.transacted) : 0);
  }

  private transactedCount(transacted: Set<number>): number {
    for (const t of transacted) if (!this.inflight.has(t)) transacted.delete(t);
    return transacted.size;
  }

  /** True while `tag` is delivered to this consumer and not yet settled. */
  holds(tag: number): boolean {
    return !this.closed && this.inflight.has(tag);
  }

  /** A transaction settled `tag`: until it commits or rolls back, it no longer counts against the window. */
  holdForTransaction(tag: number): void {
    if (!this.holds(tag) || this.transacted?.has(tag)) return;
    (this.transacted ??= new Set()).add(tag);
    if (this.creditMode === 'window') this.host.dispatch();
  }

  removal(tag: number): StoreOp | undefined {
    return this.host.removal(this, tag);
  }

  /** `stored`: the removal is already in the store (a committed transaction's batch). */
  ack(tag: number, stored = false): void {
    if (this.transacted) this.untransact(tag);
    this.host.ack(this, tag, stored);
  }

  /** Acknowledges `tag` and every earlier unsettled delivery (STOMP `client` ack mode). */
  ackUpTo(tag: number): number {
    if (!this.inflight.has(tag)) throw new UnknownDeliveryError(tag, this.id);
    const tags = [...this.inflight.keys()].filter((t) => t <= tag);
    for (const t of tags) this.host.ack(this, t);
    return tags.length;
  }

  release(tag: number, opts: ReleaseOptions = {}): void {
    if (this.transacted) this.untransact(tag);
    this.host.release(this, tag, opts);
  }

  reject(tag: number, reason: string): void {
    if (this.transacted) this.untransact(tag);
    this.host.reject(this, tag, reason);
  }

  private untransact(tag: number): void {
    if (!this.transacted) return;
    this.transacted.delete(tag);
    if (this.transacted.size === 0) this.transacted = undefined;
  }

  /** Explicit mode: grant more credit. */
  addCredit(n: number): void {
    if (this.creditMode !== 'explicit' || n <= 0) return;
    this.credit += n;
    this.host.dispatch();
  }

  /** Offers the queue's messages again (what `admit` answers changed). */
  redispatch(): void {
    if (!this.closed) this.host.dispatch();
  }

  /** Explicit mode: drops the remaining credit without offering anything more; returns it. */
  withdrawCredit(): number {
    const left = this.credit;
    this.credit = 0;
    return left;
  }

  /** Explicit mode: deliver what is available now, then drop the remaining credit; returns it. */
  drain(): number {
    this.host.dispatch();
    const left = this.credit;
    this.credit = 0;
    return left;
  }

  /** Detaches; unsettled deliveries return to the queue as failed deliveries. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.detach(this);
  }

  /** @internal The queue hands over a delivery. */
  deliver(d: Delivery): void {
    this.onMessage(d);
  }

  /** The broker ended this consumer (a slow consumer, or rights revoked): detached, then its adapter is told. */
  abort(reason: string, cause: AbortCause = 'slow-consumer'): void {
    if (this.closed) return;
    this.close();
    if (this.onAbortedCb) this.onAbortedCb(reason, cause);
    else this.onClosedCb?.(reason);
  }

  /** @internal The broker ended this consumer. */
  endedByBroker(reason: string): void {
    this.closed = true;
    this.onClosedCb?.(reason);
  }
}
