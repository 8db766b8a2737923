// Browsing a queue (JMS QueueBrowser, STOMP `browser:true`, AMQP distribution-mode `copy`): a
// snapshot that removes and locks nothing. What the queue held in memory when the browse began
// (in flight first, then ready, in dispatch order) comes first, then what is paged out, read from
// the store a page at a time as the browse is consumed, so memory stays bounded however deep the
// queue is. Scheduled messages not yet due are not shown. Messages that move between memory and
// the store while a browse runs may be missed or shown twice: a browse is a view, not a lock.
import type { QueuePage } from '../store/store.ts';
import type { Message, PropertyValue } from './message.ts';
import type { Selector } from './selector/index.ts';

/** One message as a browser sees it. */
export interface BrowsedMessage {
  readonly message: Message;
  /** Failed deliveries so far. */
  readonly deliveryCount: number;
  readonly redelivered: boolean;
  readonly annotations: Readonly<Record<string, PropertyValue>> | undefined;
}

/** Reads paged-out entries from the store (after every write issued before). */
export type PagedReader = (cursor: string | undefined, limit: number) => Promise<QueuePage>;

/** Entries read from the store per page at least (a selector may pass few of them). */
const MIN_PAGE = 100;

export class QueueBrowser {
  /** Messages taken in but not yet handed out (the resident snapshot first). */
  private pending: BrowsedMessage[];
  private cursor: string | undefined;
  private storeDone: boolean;

  constructor(
    resident: BrowsedMessage[],
    private readonly readPaged: PagedReader | undefined,
    private readonly selector: Selector | undefined,
  ) {
    this.pending = resident.filter((b) => this.accepts(b));
    this.storeDone = readPaged === undefined;
  }

  /** Up to `max` further messages the selector accepts; an empty answer ends the browse. */
  async next(max: number): Promise<BrowsedMessage[]> {
    while (this.pending.length < max && !this.storeDone && this.readPaged) {
      const page = await this.readPaged(this.cursor, Math.max(max, MIN_PAGE));
      this.cursor = page.cursor;
      this.storeDone = page.cursor === undefined;
      for (const { message, state } of page.entries) {
        const b: BrowsedMessage = {
          message,
          deliveryCount: state.deliveryCount,
          redelivered: state.deliveryCount > 0,
          annotations: state.annotations,
        };
        if (this.accepts(b)) this.pending.push(b);
      }
    }
    return this.pending.splice(0, max);
  }

  private accepts(b: BrowsedMessage): boolean {
    return !this.selector || this.selector.matches({ message: b.message, deliveryCount: b.deliveryCount, annotations: b.annotations });
  }
}
