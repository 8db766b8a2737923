// A publish between routing and its store write: the message, the queues it goes to with a ticket
// each (the room it took in them), and the store operations to write in one batch; then commit (it
// becomes deliverable) or abort (the room is given back, the dedup id forgotten).
import type { SessionRecord, StoreOp } from '../store/store.ts';
import type { DedupWindow } from './dedup.ts';
import type { Message } from './message.ts';
import type { PublishTicket } from './publish-ticket.ts';
import type { Queue } from './queue.ts';

export interface PublishResult {
  messageId: string;
  /** Queues the message went to (0 for a topic nobody subscribes to). */
  routed: number;
  /** True when a message with the same dedupId was accepted within the window. */
  duplicate: boolean;
}

/** A publish checked and routed, its store operations not yet written. */
export class StagedPublish {
  readonly result: PublishResult;
  /** A repeating message (AMQ_SCHEDULED_PERIOD/CRON): the scheduler takes it instead. */
  repeating = false;
  targets: Queue[] = [];
  readonly tickets: PublishTicket[] = [];
  readonly ops: StoreOp[] = [];
  /** The dedup id it recorded, forgotten if it is aborted. */
  dedup: { window: DedupWindow; key: string; until: number } | undefined;

  constructor(readonly message: Message) {
    this.result = { messageId: message.id, routed: 0, duplicate: false };
  }

  /** The store operations: the tickets', then the session record and the dedup record with them. */
  seal(session: SessionRecord | undefined): void {
    for (const t of this.tickets) if (t.op) this.ops.push(t.op);
    if (this.ops.length > 0 || session) {
      if (session) this.ops.push({ type: 'putSession', session });
      if (this.dedup) this.ops.push({ type: 'putDedup', record: { key: this.dedup.key, expiresAt: this.dedup.until } });
    }
  }

  /** The write is in: the message becomes deliverable. */
  commit(): void {
    for (const t of this.tickets) t.commit();
    this.result.routed = this.targets.length;
  }

  /** The write failed or will not happen: the room it took is given back. */
  abort(): void {
    for (const t of this.tickets) t.abort();
    if (this.dedup) this.dedup.window.forget(this.dedup.key);
  }
}
