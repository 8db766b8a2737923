// A publish ticket: one send to one queue, prepared by the queue (`Queue.prepare`) with room
// reserved under its limits, its place (in memory or only in the store) chosen and its store
// operation built. The publisher writes the operations of all its tickets in one store batch, then
// commits every ticket, or aborts every ticket if the write failed, so a message reaches all its
// queues or none. A class rather than closures, since one is made per message and queue.
import type { StoreOp } from '../store/store.ts';
import type { Message, PropertyValue } from './message.ts';
import type { Placement } from './paging.ts';

/** What a ticket asks of the queue that issued it. */
export interface TicketIssuer {
  commitTicket(t: PublishTicket): void;
  abortTicket(t: PublishTicket): void;
}

export class PublishTicket {
  constructor(
    private readonly issuer: TicketIssuer,
    /** The store operation that keeps the message in this queue; undefined when it is not stored. */
    readonly op: StoreOp | undefined,
    readonly message: Message,
    readonly size: number,
    readonly durable: boolean,
    /** Room was reserved under the queue's limits (a move takes none). */
    readonly reserved: boolean,
    readonly annotations: Record<string, PropertyValue> | undefined,
    readonly placement: Placement,
  ) {}

  /** The store write is done: the queue holds the message from now on. */
  commit(): void {
    this.issuer.commitTicket(this);
  }

  /** The send did not happen: the room and placement it held are free again. */
  abort(): void {
    this.issuer.abortTicket(this);
  }
}
