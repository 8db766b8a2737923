// Rebuilding the broker's working state from the store when it starts (after a restart, or when it
// takes over from another broker): the dedup window, retained messages, subscriptions, and every
// queue with its resident entries (in-flight ones become redelivered) and the count of what stays
// paged out. Queues of subscriptions that no longer exist are deleted.
import type { Store } from '../store/store.ts';
import type { DedupWindow } from './dedup.ts';
import type { Queue } from './queue.ts';
import type { RetainedMessages } from './retained.ts';
import { SUB_PREFIX, type Subscriptions } from './subscriptions.ts';

/** Entries read from the store per call. */
const PAGE = 1000;

/** Where recovered state goes. */
export interface RecoveryTarget {
  readonly dedup: DedupWindow;
  readonly retained: RetainedMessages;
  readonly subscriptions: Subscriptions;
  /** The queue of that name, if one is open (subscriptions open theirs). */
  queue(name: string): Queue | undefined;
  /** Opens a queue the store knows (it is declared there already). */
  openQueue(name: string): Queue;
  /** Deletes a queue from the store that nothing owns any more. */
  deleteQueue(name: string): void;
}

/** Loads everything; returns how many messages the queues hold. */
export async function recover(store: Store, into: RecoveryTarget, now: number): Promise<number> {
  for (const d of await store.loadDedup(now)) into.dedup.restore(d.key, d.expiresAt);
  for (const m of await store.loadRetained()) into.retained.set(m.destination.name, m);
  for (const rec of await store.loadSubscriptions()) into.subscriptions.restore(rec);
  let restored = 0;
  for (const q of await store.loadQueues()) {
    let queue = into.queue(q.name);
    if (!queue) {
      if (q.name.startsWith(SUB_PREFIX)) {
        into.deleteQueue(q.name);
        continue;
      }
      queue = into.openQueue(q.name);
    }
    let cursor: string | undefined;
    do {
      const page = await store.readQueue(q.name, cursor, PAGE);
      for (const e of page.entries) queue.restore(e.message, e.state);
      restored += page.entries.length;
      cursor = page.cursor;
    } while (cursor !== undefined);
    const paged = await store.pagedStats(q.name);
    if (paged.count + paged.scheduledCount > 0) {
      queue.restorePaged(paged);
      restored += paged.count + paged.scheduledCount;
    }
  }
  return restored;
}
