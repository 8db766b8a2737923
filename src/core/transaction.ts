// A local transaction of one client session (STOMP BEGIN/COMMIT/ABORT, AMQP declare/discharge):
// the messages it sends and the deliveries it acknowledges wait here, invisible to everyone, until
// Broker.commit stores them in one atomic batch. Rollback forgets the sends and returns the
// acknowledged deliveries to their queues as failed deliveries (redelivered, as a JMS rollback).
// Other settlements made inside a transaction (AMQP released/modified/rejected, STOMP NACK) take
// effect after the commit, or become a rollback's failed delivery.
import type { Consumer } from './consumer.ts';
import type { MessageInput } from './message.ts';

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

  get isEnded(): boolean {
    return this.ended;
  }

  send(input: MessageInput): void {
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
