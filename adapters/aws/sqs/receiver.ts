// The receiving side of one SQS queue: one core consumer in explicit-credit mode shared by every
// ReceiveMessage on the queue, the receives waiting their turn (long polls, first come first
// served: each in turn grants credit for as many messages as it asked for), and the messages in
// flight, each under its receipt and visibility deadline. A deadline that passes returns the
// message to the queue as a failed delivery (the receive count grows; a redrive policy's
// maxReceiveCount sends it to the dead-letter queue); DeleteMessage acknowledges it. On a FIFO
// queue a message group is held while any of its messages is in flight, so each group is worked
// through strictly in order.
import type { Broker } from '../../../src/core/broker.ts';
import type { Consumer, Delivery } from '../../../src/core/consumer.ts';
import { AwsError } from '../errors.ts';
import { newReceipt, readReceipt } from './receipts.ts';
import { VisibilityDeadlines } from './visibility-deadlines.ts';

export interface Received {
  delivery: Delivery;
  receiptHandle: string;
  firstReceivedAt: number;
}

interface InFlight {
  readonly delivery: Delivery;
  readonly receivedAt: number;
  visibleAt: number;
}

interface Waiter {
  readonly max: number;
  readonly visibilityMs: number;
  readonly got: Delivery[];
  timer: NodeJS.Timeout | undefined;
  finishing: boolean;
  done: (r: Received[]) => void;
}

/** Visibility may be extended to at most 12 hours after the receive, as SQS allows. */
const MAX_VISIBILITY_MS = 43_200_000;
/** First receive times kept for ApproximateFirstReceiveTimestamp (bounded; oldest forgotten). */
const FIRST_RECEIVES = 100_000;

export class QueueReceiver {
  private consumer: Consumer | undefined;
  private attaching: Promise<Consumer> | undefined;
  private readonly waiters: Waiter[] = [];
  private readonly inflight = new Map<string, InFlight>();
  private readonly heldGroups = new Map<string, number>();
  private readonly firstReceived = new Map<string, number>();
  /**
   * Receives whose visibility ran out, by receive id, to the message's broker id: until the
   * message is received again its last receipt still deletes it, as in SQS. Bounded, oldest first out.
   */
  private readonly lapsed = new Map<string, string>();
  private readonly lapsedByMessage = new Map<string, string>();
  private readonly deadlines = new VisibilityDeadlines((id) => this.onDeadline(id));
  private closed = false;

  constructor(
    private readonly broker: Broker,
    readonly queue: string,
    private readonly fifo: boolean,
    private readonly waitingChanged: (delta: number) => void,
  ) {}

  get inflightCount(): number {
    return this.inflight.size;
  }

  /** Messages for one ReceiveMessage: at once when there are some, else when one arrives or `waitMs` passes. */
  async receive(max: number, waitMs: number, visibilityMs: number, signal: AbortSignal): Promise<Received[]> {
    const consumer = await this.attach();
    // A receive already waiting means nothing can be delivered now: a short poll answers at once.
    if (waitMs <= 0 && this.waiters.length > 0) return [];
    return new Promise((resolve) => {
      const w: Waiter = { max, visibilityMs, got: [], timer: undefined, finishing: false, done: resolve };
      this.waiters.push(w);
      if (waitMs > 0) {
        this.waitingChanged(1);
        w.timer = setTimeout(() => this.finish(w), waitMs);
      }
      signal.addEventListener('abort', () => this.finish(w, true), { once: true });
      if (this.waiters[0] === w) this.begin(w, consumer, waitMs);
    });
  }

  private begin(w: Waiter, consumer: Consumer, waitMs: number): void {
    consumer.addCredit(w.max);
    if (w.got.length > 0 || waitMs <= 0) this.finish(w);
  }

  private onMessage(d: Delivery): void {
    const w = this.waiters[0];
    if (!w || w.finishing || w.got.length >= w.max) {
      // Credit left over from a receive that just ended: the message goes back untouched.
      this.settle(d.tag, { failed: false, delay: false });
      return;
    }
    w.got.push(d);
    if (w.got.length === 1) queueMicrotask(() => this.finish(w));
  }

  private finish(w: Waiter, abandoned = false): void {
    if (w.finishing) return;
    const i = this.waiters.indexOf(w);
    if (i < 0) return;
    w.finishing = true;
    if (w.timer !== undefined) {
      clearTimeout(w.timer);
      w.timer = undefined;
      this.waitingChanged(-1);
    }
    if (i === 0) this.consumer?.withdrawCredit();
    this.waiters.splice(i, 1);
    const now = Date.now();
    const out: Received[] = [];
    for (const d of w.got) {
      if (abandoned) {
        this.settle(d.tag, { failed: false, delay: false });
        continue;
      }
      out.push(this.track(d, now, w.visibilityMs));
    }
    w.done(out);
    const next = this.waiters[0];
    if (i === 0 && next && this.consumer) this.begin(next, this.consumer, next.timer !== undefined ? 1 : 0);
  }

  private track(d: Delivery, now: number, visibilityMs: number): Received {
    this.forgetLapsed(d.message.id);
    const { handle, receiveId } = newReceipt(this.queue);
    const f: InFlight = { delivery: d, receivedAt: now, visibleAt: now + visibilityMs };
    this.inflight.set(receiveId, f);
    this.deadlines.add(receiveId, f.visibleAt);
    const gid = this.fifo ? d.message.groupId : undefined;
    if (gid !== undefined) this.heldGroups.set(gid, (this.heldGroups.get(gid) ?? 0) + 1);
    let first = this.firstReceived.get(d.message.id);
    if (first === undefined) {
      first = now;
      this.firstReceived.set(d.message.id, now);
      if (this.firstReceived.size > FIRST_RECEIVES) this.firstReceived.delete(this.firstReceived.keys().next().value as string);
    }
    return { delivery: d, receiptHandle: handle, firstReceivedAt: first };
  }

  /**
   * DeleteMessage: the receive's message is acknowledged. A receive whose visibility ran out still
   * deletes its message until someone receives it again; an older handle changes nothing.
   */
  async delete(handle: unknown): Promise<void> {
    const { receiveId } = readReceipt(handle, this.queue);
    const f = this.untrack(receiveId);
    if (f) {
      this.firstReceived.delete(f.delivery.message.id);
      this.settle(f.delivery.tag, 'ack');
      return;
    }
    const messageId = this.lapsed.get(receiveId);
    if (messageId === undefined) return;
    this.forgetLapsed(messageId);
    this.firstReceived.delete(messageId);
    await this.broker.operations.removeMessages(this.queue, [messageId]);
  }

  /** ChangeMessageVisibility: a new deadline from now (0 returns the message at once). */
  changeVisibility(handle: unknown, visibilityMs: number): void {
    const { receiveId } = readReceipt(handle, this.queue);
    const f = this.inflight.get(receiveId);
    if (!f)
      throw new AwsError(
        'AWS.SimpleQueueService.MessageNotInflight',
        'The message referred to is not in flight.',
        400,
        true,
        'MessageNotInflight',
      );
    const now = Date.now();
    if (now + visibilityMs - f.receivedAt > MAX_VISIBILITY_MS) {
      throw new AwsError(
        'InvalidParameterValue',
        `Value ${visibilityMs / 1000} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds]`,
      );
    }
    if (visibilityMs === 0) {
      this.untrack(receiveId);
      this.settle(f.delivery.tag, { failed: true, delay: false });
      return;
    }
    this.deadlines.remove(receiveId, f.visibleAt);
    f.visibleAt = now + visibilityMs;
    this.deadlines.add(receiveId, f.visibleAt);
  }

  /** PurgeQueue: what is in flight goes too. */
  purgeInflight(): void {
    for (const id of [...this.inflight.keys()]) {
      const f = this.untrack(id);
      if (f) this.settle(f.delivery.tag, 'ack');
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.deadlines.close();
    for (const w of [...this.waiters]) this.finish(w, true);
    this.consumer?.close();
  }

  private onDeadline(id: string): void {
    const f = this.untrack(id);
    if (!f) return;
    const messageId = f.delivery.message.id;
    this.lapsed.set(id, messageId);
    this.lapsedByMessage.set(messageId, id);
    if (this.lapsed.size > FIRST_RECEIVES) this.forgetLapsed(this.lapsed.values().next().value as string);
    this.settle(f.delivery.tag, { failed: true, delay: false });
  }

  /**
   * Acknowledges or releases a delivery the consumer still holds (a visibility timeout the queue's
   * own policy sets may have returned it already).
   */
  private settle(tag: number, how: 'ack' | { failed: boolean; delay: boolean }): void {
    const c = this.consumer;
    if (!c?.holds(tag)) return;
    if (how === 'ack') c.ack(tag);
    else c.release(tag, how);
  }

  private forgetLapsed(messageId: string): void {
    const id = this.lapsedByMessage.get(messageId);
    if (id === undefined) return;
    this.lapsedByMessage.delete(messageId);
    this.lapsed.delete(id);
  }

  private untrack(id: string): InFlight | undefined {
    const f = this.inflight.get(id);
    if (!f) return undefined;
    this.inflight.delete(id);
    this.deadlines.remove(id, f.visibleAt);
    const gid = this.fifo ? f.delivery.message.groupId : undefined;
    if (gid !== undefined) {
      const n = (this.heldGroups.get(gid) ?? 1) - 1;
      if (n > 0) this.heldGroups.set(gid, n);
      else {
        this.heldGroups.delete(gid);
        this.consumer?.redispatch();
      }
    }
    return f;
  }

  private attach(): Promise<Consumer> {
    if (this.consumer && !this.consumer.closed) return Promise.resolve(this.consumer);
    if (this.closed)
      return Promise.reject(
        new AwsError('AWS.SimpleQueueService.NonExistentQueue', 'The specified queue does not exist.', 400, true, 'QueueDoesNotExist'),
      );
    this.attaching ??= this.broker
      .subscribe(
        {
          destination: { kind: 'queue', name: this.queue },
          creditMode: 'explicit',
          prefetch: 0,
          ...(this.fifo ? { admit: (m) => m.groupId === undefined || !this.heldGroups.has(m.groupId) } : {}),
          onMessage: (d) => this.onMessage(d),
          onClosed: () => this.detached(),
          onAborted: () => this.detached(),
        },
        { connectionId: `sqs:${this.queue}` },
      )
      .then((c) => {
        this.consumer = c;
        return c;
      })
      .finally(() => {
        this.attaching = undefined;
      });
    return this.attaching;
  }

  /** The core ended the consumer (queue deleted, broker stopping): what was in flight is back in the queue. */
  private detached(): void {
    this.consumer = undefined;
    this.inflight.clear();
    this.heldGroups.clear();
    for (const w of [...this.waiters]) {
      w.got.length = 0;
      this.finish(w);
    }
  }
}
