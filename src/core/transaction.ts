// A local transaction of one client session (STOMP BEGIN/COMMIT/ABORT, AMQP declare/discharge):
// the messages it sends and the deliveries it acknowledges wait here, invisible to everyone, until
// Broker.commit stores them in one atomic batch. Rollback forgets the sends and returns the
// acknowledged deliveries to their queues as failed deliveries (redelivered, as a JMS rollback).
// Other settlements made inside a transaction (AMQP released/modified/rejected, STOMP NACK) take
// effect after the commit, or become a rollback's failed delivery. What a transaction holds is
// bounded: a send past its limits is refused (ResourceLimitError) and the transaction goes on.
import type { Consumer } from './consumer.ts';
import type { MessageInput } from './message.ts';
import { ResourceLimitError } from '../shared/errors.ts';

/** Bounds on what one transaction holds until it ends; 0 = no limit. */
export interface TransactionLimits {
  maxTransactionMessages: number;
  maxTransactionBytes: number;
}

export interface TransactedDelivery {
  readonly consumer: Consumer;
  readonly tag: number;
}

interface Deferred extends TransactedDelivery {
  readonly settle: () => void;
}

export class Transaction {
  readonly sends: MessageInput[] = [];
  readonly acks: TransactedDelivery[] = [];
  private readonly deferred: Deferred[] = [];
  private ended = false;
  private bytes = 0;

  constructor(private readonly limits: TransactionLimits = { maxTransactionMessages: 0, maxTransactionBytes: 0 }) {}

  get isEnded(): boolean {
    return this.ended;
  }

  send(input: MessageInput): void {
    const { maxTransactionMessages: maxMessages, maxTransactionBytes: maxBytes } = this.limits;
    if (maxMessages > 0 && this.sends.length >= maxMessages)
      throw new ResourceLimitError(`A transaction holds at most ${maxMessages} messages (limits.maxTransactionMessages); commit first`, {
        limit: maxMessages,
      });
    const bytes = this.bytes + input.body.byteLength;
    if (maxBytes > 0 && bytes > maxBytes)
      throw new ResourceLimitError(`A transaction holds at most ${maxBytes} body bytes (limits.maxTransactionBytes); commit first`, {
        limit: maxBytes,
      });
    this.bytes = bytes;
    this.sends.push(input);
  }

  /** `tag` is acknowledged when the transaction commits; meanwhile it no longer holds its consumer's window. */
  ack(consumer: Consumer, tag: number): void {
    consumer.holdForTransaction(tag);
    this.acks.push({ consumer, tag });
  }

  /** `settle` runs after the commit (a release, reject or modified outcome given inside the transaction). */
  defer(consumer: Consumer, tag: number, settle: () => void): void {
    consumer.holdForTransaction(tag);
    this.deferred.push({ consumer, tag, settle });
  }

  /** Called by Broker.commit once the batch is in. */
  committed(): void {
    this.ended = true;
    for (const d of this.deferred) if (d.consumer.holds(d.tag)) d.settle();
  }

  rollback(): void {
    if (this.ended) return;
    this.ended = true;
    for (const d of [...this.acks, ...this.deferred]) if (d.consumer.holds(d.tag)) d.consumer.release(d.tag);
  }
}
