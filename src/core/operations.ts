// What an operator does to a running broker through the admin API and the CLI, beside what clients
// do: view queues, create one by name, purge, move or copy messages by id or selector, redrive a
// dead-letter queue, delete a subscription, count what the store holds and watch its writer. The broker hands it
// the few internals it needs (OperationsHost); nothing here runs on a client's path.
import { type Destination, validateName } from './destination.ts';
import { InvalidDestinationError, NotFoundError } from '../shared/errors.ts';
import type { Message, PropertyValue } from './message.ts';
import type { ClientContext } from './principal.ts';
import type { BrowsedMessage, QueueBrowser } from './queue-browser.ts';
import type { Queue, QueueStats } from './queue.ts';
import { compileOptionalSelector } from './selector/index.ts';
import type { StoreWriter } from './store-writer.ts';
import { SUB_PREFIX, type Subscriptions } from './subscriptions.ts';

export interface QueueInfo {
  name: string;
  label: string;
  durable: boolean;
  messages: number;
  ready: number;
  /** Messages only in the store (beyond the queue's memory windows), ready or scheduled. */
  paged: number;
  /** Messages held only in memory (non-persistent, or in a non-durable subscription), not in flight. */
  transient: number;
  inflight: number;
  /** Messages waiting for their delivery time (delayed sends, redelivery backoff). */
  delayed: number;
  consumers: number;
  bytes: number;
  stats: QueueStats;
}

/** The broker's internals operator actions use. */
export interface OperationsHost {
  assertRunning(): void;
  queue(name: string): Queue | undefined;
  queues(): Iterable<Queue>;
  /** Creates and declares a queue. */
  createQueue(name: string): Queue;
  /** Copies a message into a queue (created if needed) as a new delivery; never refused. */
  move(target: string, message: Message, annotations: Record<string, PropertyValue>): void;
  browse(req: { destination: Destination }, ctx: ClientContext): QueueBrowser;
  readonly subscriptions: Subscriptions;
  retainedCount(): number;
  readonly writer: StoreWriter;
}

const OPERATOR: ClientContext = { connectionId: 'admin' };

export class Operations {
  constructor(private readonly host: OperationsHost) {}

  getQueue(name: string): QueueInfo | undefined {
    const q = this.host.queue(name);
    return q && info(q);
  }

  listQueues(): QueueInfo[] {
    return [...this.host.queues()].map(info);
  }

  /** Creates queue `name`; false when it already existed. */
  createQueue(name: string): boolean {
    this.host.assertRunning();
    validateName(name, false);
    if (this.host.queue(name)) return false;
    this.host.createQueue(name);
    return true;
  }

  /** Removes a subscription (durable or shared) by its queue's name, with its messages. */
  deleteSubscription(name: string): void {
    const subs = this.host.subscriptions;
    const rec = subs.list().find((s) => s.name === name);
    if (!rec) throw new NotFoundError(`Subscription ${name} does not exist`, { subscription: name });
    if (rec.shared) subs.unsubscribeShared(rec.subscriptionName as string, name.startsWith(`${SUB_PREFIX}sd:`));
    else if (rec.clientId !== undefined && rec.subscriptionName !== undefined) subs.unsubscribeDurable(rec.clientId, rec.subscriptionName);
    else
      throw new InvalidDestinationError(`Subscription ${name} belongs to a live consumer; close its connection instead`, {
        subscription: name,
      });
  }

  /** Removes every ready message of a queue (in memory and paged out); resolves with how many. */
  purgeQueue(name: string): Promise<number> {
    this.host.assertRunning();
    return this.queueOrThrow(name).takeReady(
      () => true,
      () => {},
    );
  }

  /** Removes the ready messages of a queue whose broker ids are `ids` (not those in flight); resolves with how many. */
  removeMessages(name: string, ids: readonly string[]): Promise<number> {
    this.host.assertRunning();
    const wanted = new Set(ids);
    return this.queueOrThrow(name).takeReady(
      (v) => wanted.has(v.message.id),
      () => {},
      wanted.size,
    );
  }

  /**
   * Moves (or copies) the ready messages of queue `from` that `ids` or `selector` pick (all when
   * neither is given) to queue `to`, created if needed; resolves with how many. A moved message
   * arrives as a new delivery (delivery count 0) with its annotations kept.
   */
  async moveMessages(
    from: string,
    to: string,
    pick: { ids?: readonly string[]; selector?: string; copy?: boolean; limit?: number } = {},
  ): Promise<number> {
    this.host.assertRunning();
    validateName(to, false);
    if (from === to) throw new InvalidDestinationError(`Cannot move messages of ${from} to itself`, { queue: from });
    const source = this.queueOrThrow(from);
    const selector = compileOptionalSelector(pick.selector);
    const ids = pick.ids ? new Set(pick.ids) : undefined;
    const match = (v: BrowsedMessage): boolean => (!ids || ids.has(v.message.id)) && (!selector || selector.matches(v));
    const limit = pick.limit ?? ids?.size ?? Infinity;
    if (!pick.copy) return source.takeReady(match, (v) => this.host.move(to, v.message, { ...v.annotations }), limit);
    let copied = 0;
    const browser = this.host.browse({ destination: { kind: 'queue', name: from } }, OPERATOR);
    for (let page = await browser.next(500); page.length > 0 && copied < limit; page = await browser.next(500)) {
      for (const v of page) {
        if (copied >= limit || !match(v)) continue;
        this.host.move(to, v.message, { ...v.annotations });
        copied++;
      }
    }
    return copied;
  }

  /**
   * Sends every ready message of a dead-letter queue back to the queue it came from (its
   * `originalDestination`), as a new delivery without its dead-letter annotations. Messages whose
   * origin no longer exists stay; at most `limit` go. Resolves with how many went and how many stayed.
   */
  async redrive(dlq: string, limit = Infinity): Promise<{ moved: number; kept: number }> {
    this.host.assertRunning();
    const source = this.queueOrThrow(dlq);
    const byLabel = new Map<string, string>();
    for (const q of this.host.queues()) byLabel.set(q.label, q.name);
    const origin = (v: BrowsedMessage): string | undefined => {
      const o = v.annotations?.originalDestination;
      const name = typeof o === 'string' ? byLabel.get(o) : undefined;
      return name === dlq ? undefined : name;
    };
    const moved = await source.takeReady(
      (v) => origin(v) !== undefined,
      (v) => {
        const { dlqDeliveryFailureCause: _cause, originalDestination: _origin, ...rest } = v.annotations ?? {};
        this.host.move(origin(v) as string, v.message, rest);
      },
      limit,
    );
    return { moved, kept: source.readyCount };
  }

  /** What this broker keeps in the store, as its memory counts it: what a store that lost its data lost. */
  holdings(): { queues: number; messages: number; subscriptions: number; retained: number } {
    let queues = 0;
    let messages = 0;
    for (const q of this.host.queues()) {
      if (!q.durable) continue;
      queues++;
      messages += q.storedCount;
    }
    return { queues, messages, subscriptions: this.host.subscriptions.list().length, retained: this.host.retainedCount() };
  }

  /** `f` hears how long each store batch took, in seconds. */
  observeStoreBatches(f: ((seconds: number) => void) | undefined): void {
    this.host.writer.onBatchDone = f;
  }

  /** What the store writer has done: batches, operations, writes elided, held and retried. */
  writerStats(): { batches: number; ops: number; elided: number; held: number; retried: number } {
    const w = this.host.writer;
    return { batches: w.batches, ops: w.ops, elided: w.elided, held: w.held, retried: w.retried };
  }

  private queueOrThrow(name: string): Queue {
    const q = this.host.queue(name);
    if (!q) throw new NotFoundError(`Queue ${name} does not exist`, { queue: name });
    return q;
  }
}

function info(q: Queue): QueueInfo {
  return {
    name: q.name,
    label: q.label,
    durable: q.durable,
    messages: q.count,
    ready: q.readyCount,
    paged: q.pagedCount,
    transient: q.transientCount,
    inflight: q.inflightCount,
    delayed: q.count - q.readyCount - q.inflightCount,
    consumers: q.consumerCount,
    bytes: q.bytes,
    stats: { ...q.stats },
  };
}
