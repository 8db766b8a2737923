// The broker core: the registry of queues, topic routing, publishing (route, dedup, a ticket per
// target queue, one store write, commit), consuming from queues and topics, temporary queues,
// retained messages and adapter session state. Topic subscriptions are in subscriptions.ts, and
// rebuilding state from the store at start in recovery.ts. Protocol-free: adapters translate
// frames into these calls.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Store, SessionRecord, StoreOp, SubscriptionLimits, SubscriptionRecord } from '../store/store.ts';
import type { Consumer, ConsumerOptions } from './consumer.ts';
import { DedupWindow } from './dedup.ts';
import { formatAddress, type Destination, validateName } from './destination.ts';
import { ClosedError, FencedError, InvalidDestinationError, NotAuthorizedError, NotFoundError } from '../shared/errors.ts';
import { createMessage, type Message, type MessageInput, type PropertyValue } from './message.ts';
import { applyLimits, PolicyResolver } from './policy.ts';
import type { Authorizer, ClientContext, Permission } from './principal.ts';
import type { PageSource } from './paging.ts';
import type { PublishTicket } from './publish-ticket.ts';
import { QueueBrowser, type BrowsedMessage } from './queue-browser.ts';
import { Connections } from './connections.ts';
import { emptyStats, Queue, type QueueInit, type QueueStats } from './queue.ts';
import { RetainedMessages } from './retained.ts';
import { Router, virtualTopicOf, type Route } from './router.ts';
import { compileOptionalSelector } from './selector/index.ts';
import type { MemoryGuard } from './memory-guard.ts';
import { recover } from './recovery.ts';
import { StoreWriter } from './store-writer.ts';
import { SUB_PREFIX, Subscriptions, type SubscribeRequest } from './subscriptions.ts';
import { isRepeating, Scheduler } from './scheduler.ts';
import type { Transaction } from './transaction.ts';

export interface BrokerOptions {
  store: Store;
  log: Logger;
  policies?: PolicyResolver;
  authorizer?: Authorizer;
  /** Create queues on first use (default true); otherwise only configured or existing ones. */
  autoCreate?: boolean;
  /** Queues created at start whether or not anything used them yet. */
  queues?: readonly string[];
  virtualTopics?: boolean;
  expirySweepMs?: number;
  dedupMaxEntries?: number;
  now?: () => number;
  /** Called when a store write fails; a FencedError means this broker lost the lock. */
  onStoreError?: (err: unknown) => void;
  /** Holds publishes back while memory is above the high watermark. */
  memory?: MemoryGuard;
}

export interface PublishResult {
  messageId: string;
  /** Queues the message went to (0 for a topic nobody subscribes to). */
  routed: number;
  /** True when a message with the same dedupId was accepted within the window. */
  duplicate: boolean;
}

export type { SubscribeRequest } from './subscriptions.ts';

/** A publish checked and routed, its store operations not yet written. */
class StagedPublish {
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

export interface PublishOptions {
  /**
   * Adapter session state written in the same atomic store batch as the message, so both or
   * neither survive a crash (MQTT QoS 2: the message and the packet id that marks it received).
   */
  session?: SessionRecord;
}

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
  consumers: number;
  bytes: number;
  stats: QueueStats;
}

export class Broker {
  readonly store: Store;
  readonly log: Logger;
  /** The client connections adapters registered, for operators. */
  readonly connections = new Connections();
  /** Repeated and cron-scheduled messages (AMQ_SCHEDULED_PERIOD, _REPEAT, _CRON). */
  private readonly scheduler: Scheduler;
  /** What deleted queues counted, so totals across queues never go down. */
  readonly retiredStats: QueueStats = emptyStats();
  readonly authorizer: Authorizer | undefined;
  private readonly policies: PolicyResolver;
  private readonly writer: StoreWriter;
  /** Paging through the writer, so the store has every write issued before. */
  private readonly pager: PageSource;
  private readonly router = new Router();
  private readonly queues = new Map<string, Queue>();
  private readonly subscriptions: Subscriptions;
  private readonly vtRoutes = new Map<string, Route>();
  private readonly temporary = new Map<string, string>();
  private readonly dedup: DedupWindow;
  private readonly retained = new RetainedMessages();
  private readonly now: () => number;
  private readonly autoCreate: boolean;
  private readonly virtualTopics: boolean;
  private readonly configuredQueues: readonly string[];
  private readonly expirySweepMs: number;
  private sweepTimer: NodeJS.Timeout | undefined;
  readonly memory: MemoryGuard | undefined;
  private state: 'new' | 'running' | 'closed' = 'new';

  constructor(opts: BrokerOptions) {
    this.store = opts.store;
    this.log = opts.log;
    this.authorizer = opts.authorizer;
    this.policies = opts.policies ?? new PolicyResolver();
    this.now = opts.now ?? Date.now;
    this.autoCreate = opts.autoCreate ?? true;
    this.virtualTopics = opts.virtualTopics ?? true;
    this.configuredQueues = opts.queues ?? [];
    this.expirySweepMs = opts.expirySweepMs ?? 5000;
    this.dedup = new DedupWindow(opts.dedupMaxEntries);
    this.memory = opts.memory;
    this.memory?.track(() => this.memoryBytes());
    const onStoreError = opts.onStoreError;
    this.writer = new StoreWriter(
      this.store,
      (err, ops) => {
        this.log.error({ err, ops: ops.length, fenced: err instanceof FencedError }, 'store write failed');
        onStoreError?.(err);
      },
      this.log,
    );
    this.pager = {
      pageIn: (queue, maxCount, maxBytes) => this.writer.pageIn(queue, maxCount, maxBytes),
      promoteDue: (queue, now) => this.writer.promoteDue(queue, now),
    };
    this.subscriptions = new Subscriptions({
      router: this.router,
      writer: this.writer,
      now: this.now,
      openQueue: (init, dlqLabel, limits) => {
        const q = this.newQueue(init, dlqLabel, limits);
        this.queues.set(q.name, q);
        return q;
      },
      dropQueue: (q, reason) => this.dropQueue(q, reason),
    });
    this.scheduler = new Scheduler({
      publish: async (input, session) => {
        await this.publish(input, { connectionId: 'scheduler' }, { session });
      },
      putSession: (rec) => this.putSession(rec),
      deleteSession: (id) => this.deleteSession(id),
      listSessions: (prefix) => this.listSessions(prefix),
      log: this.log,
      now: () => this.now(),
    });
  }

  // ---- lifecycle -------------------------------------------------------------------------

  /** Opens the store and rebuilds working state from it; in-flight messages become redelivered. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new ClosedError('broker');
    await this.store.open();
    const restored = await recover(
      this.store,
      {
        dedup: this.dedup,
        retained: this.retained,
        subscriptions: this.subscriptions,
        queue: (name) => this.queues.get(name),
        openQueue: (name) => this.createQueue(name, false),
        deleteQueue: (name) => this.writer.write({ type: 'deleteQueue', queue: name }),
      },
      this.now(),
    );
    for (const name of this.configuredQueues) if (!this.queues.has(name)) this.createQueue(validateName(name, false), true);
    await this.writer.flush();
    this.state = 'running';
    await this.scheduler.start();
    this.memory?.start();
    if (this.expirySweepMs > 0) {
      this.sweepTimer = setInterval(() => this.sweep(), this.expirySweepMs);
      this.sweepTimer.unref();
    }
    this.log.info(
      { store: this.store.kind, queues: this.queues.size, subscriptions: this.subscriptions.size, messages: restored },
      'broker core started',
    );
  }

  /** Ends every consumer, waits for pending store writes, closes the store. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.scheduler.close();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.memory?.stop();
    for (const q of this.queues.values()) q.close('broker shutting down');
    await this.writer.flush(true);
    await this.store.close();
  }

  get running(): boolean {
    return this.state === 'running';
  }

  private assertRunning(): void {
    if (this.state !== 'running') throw new ClosedError('broker');
  }

  private authorize(ctx: ClientContext, permission: Permission, d: Destination): void {
    if (ctx.principal && this.authorizer) {
      this.authorizer.check(ctx.principal, permission, d, d.kind === 'queue' && this.temporary.has(d.name));
    }
  }

  // ---- queues ----------------------------------------------------------------------------

  /** A queue wired to this broker's store writer, mover and clock, under the policy for `label`. */
  private newQueue(
    init: Pick<QueueInit, 'name' | 'label' | 'durable' | 'subscription' | 'onIdle'>,
    dlqLabel: string,
    limits?: SubscriptionLimits,
  ): Queue {
    const policy = this.policies.resolve(init.name, init.label, dlqLabel);
    applyLimits(policy, limits);
    return new Queue({
      ...init,
      policy,
      writer: this.writer,
      mover: (target, m, ann) => this.move(target, m, ann),
      pager: init.durable ? this.pager : undefined,
      log: this.log,
      now: this.now,
    });
  }

  private createQueue(name: string, declare: boolean): Queue {
    const q = this.newQueue({ name, label: `queue://${name}`, durable: true }, name);
    this.queues.set(name, q);
    if (declare) this.writer.write({ type: 'declareQueue', queue: { name, createdAt: this.now() } });
    const vt = this.virtualTopics ? virtualTopicOf(name) : undefined;
    if (vt !== undefined) {
      const route: Route = { queue: q, pattern: vt, selector: compileOptionalSelector(q.policy.virtualTopicSelector) };
      this.vtRoutes.set(name, route);
      this.router.add(route);
    }
    return q;
  }

  /** The queue `name`, created on first use when allowed (creating needs the admin permission). */
  private ensureQueue(name: string, ctx: ClientContext): Queue {
    const existing = this.queues.get(name);
    if (existing) return existing;
    if (!this.autoCreate) throw new NotFoundError(`Queue ${name} does not exist and auto-creation is off`, { queue: name });
    this.authorize(ctx, 'admin', { kind: 'queue', name });
    return this.createQueue(name, true);
  }

  /** Copies a message into another queue (dead letters, expired messages); never refused. */
  private move(target: string, message: Message, annotations: Record<string, PropertyValue>): void {
    const q = this.queues.get(target) ?? this.createQueue(target, true);
    const ticket = q.prepareMove({ ...message, deliverAt: 0 }, annotations);
    if (ticket.op) this.writer.write(ticket.op);
    ticket.commit();
  }

  /** Deletes a queue and everything in it; its consumers are told. */
  deleteQueue(name: string): void {
    const q = this.queues.get(name);
    if (!q) throw new NotFoundError(`Queue ${name} does not exist`, { queue: name });
    this.dropQueue(q, 'queue deleted');
  }

  private dropQueue(q: Queue, reason: string): void {
    q.close(reason);
    for (const k of Object.keys(this.retiredStats) as Array<keyof QueueStats>) this.retiredStats[k] += q.stats[k];
    this.queues.delete(q.name);
    const vt = this.vtRoutes.get(q.name);
    if (vt) {
      this.router.remove(vt);
      this.vtRoutes.delete(q.name);
    }
    this.temporary.delete(q.name);
    if (q.durable) this.writer.write({ type: 'deleteQueue', queue: q.name });
  }

  /** Message bytes held in memory across all queues (paged-out ones excluded). */
  memoryBytes(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.memoryBytes;
    return n;
  }

  // ---- operations (the admin API) -------------------------------------------------------------

  private queueOrThrow(name: string): Queue {
    const q = this.queues.get(name);
    if (!q) throw new NotFoundError(`Queue ${name} does not exist`, { queue: name });
    return q;
  }

  /** Creates queue `name` (an operator's create); resolves false when it already existed. */
  createQueueByName(name: string): boolean {
    this.assertRunning();
    validateName(name, false);
    if (this.queues.has(name)) return false;
    this.createQueue(name, true);
    return true;
  }

  /** Removes a subscription (durable or shared) by its queue's name, with its messages. */
  deleteSubscription(name: string): void {
    const rec = this.subscriptions.list().find((s) => s.name === name);
    if (!rec) throw new NotFoundError(`Subscription ${name} does not exist`, { subscription: name });
    if (rec.shared) this.unsubscribeShared(rec.subscriptionName as string, name.startsWith(`${SUB_PREFIX}sd:`));
    else if (rec.clientId !== undefined && rec.subscriptionName !== undefined) this.unsubscribeDurable(rec.clientId, rec.subscriptionName);
    else
      throw new InvalidDestinationError(`Subscription ${name} belongs to a live consumer; close its connection instead`, {
        subscription: name,
      });
  }

  /** Removes every ready message of a queue (in memory and paged out); resolves with how many. */
  purgeQueue(name: string): Promise<number> {
    this.assertRunning();
    return this.queueOrThrow(name).takeReady(
      () => true,
      () => {},
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
    this.assertRunning();
    validateName(to, false);
    if (from === to) throw new InvalidDestinationError(`Cannot move messages of ${from} to itself`, { queue: from });
    const source = this.queueOrThrow(from);
    const selector = compileOptionalSelector(pick.selector);
    const ids = pick.ids ? new Set(pick.ids) : undefined;
    const match = (v: BrowsedMessage): boolean => (!ids || ids.has(v.message.id)) && (!selector || selector.matches(v));
    const limit = pick.limit ?? ids?.size ?? Infinity;
    if (!pick.copy) return source.takeReady(match, (v) => this.move(to, v.message, { ...v.annotations }), limit);
    let copied = 0;
    const browser = this.browse({ destination: { kind: 'queue', name: from } }, { connectionId: 'admin' });
    for (let page = await browser.next(500); page.length > 0 && copied < limit; page = await browser.next(500)) {
      for (const v of page) {
        if (copied >= limit || !match(v)) continue;
        this.move(to, v.message, { ...v.annotations });
        copied++;
      }
    }
    return copied;
  }

  /**
   * Sends every ready message of a dead-letter queue back to the queue it came from (its
   * `originalDestination`), as a new delivery without its dead-letter annotations. Messages whose
   * origin no longer exists stay. Resolves with how many went and how many stayed.
   */
  async redrive(dlq: string): Promise<{ moved: number; kept: number }> {
    this.assertRunning();
    const source = this.queueOrThrow(dlq);
    const byLabel = new Map<string, string>();
    for (const q of this.queues.values()) byLabel.set(q.label, q.name);
    const origin = (v: BrowsedMessage): string | undefined => {
      const o = v.annotations?.originalDestination;
      const name = typeof o === 'string' ? byLabel.get(o) : undefined;
      return name === dlq ? undefined : name;
    };
    const moved = await source.takeReady(
      (v) => origin(v) !== undefined,
      (v) => {
        const { dlqDeliveryFailureCause: _cause, originalDestination: _origin, ...rest } = v.annotations ?? {};
        this.move(origin(v) as string, v.message, rest);
      },
    );
    return { moved, kept: source.readyCount };
  }

  getQueue(name: string): QueueInfo | undefined {
    const q = this.queues.get(name);
    return q && info(q);
  }

  listQueues(): QueueInfo[] {
    return [...this.queues.values()].map(info);
  }

  // ---- publish ---------------------------------------------------------------------------

  async publish(input: MessageInput, ctx: ClientContext, opts: PublishOptions = {}): Promise<PublishResult> {
    return this.publishNow(input, ctx, opts);
  }

  /**
   * publish() without a promise when none is needed: a message that needs no store write (not
   * persistent, or no durable target) and that every target admits at once is delivered and its
   * result returned before this returns; otherwise the result comes as a promise. Refusals throw,
   * or reject the promise. Adapters on a hot path (MQTT QoS 0) use it to skip a promise chain per
   * message.
   */
  publishNow(input: MessageInput, ctx: ClientContext, opts: PublishOptions = {}): PublishResult | Promise<PublishResult> {
    this.assertRunning();
    const memory = this.memory?.wait();
    if (memory) return this.publishAfter(memory, input, ctx, opts);
    const staged = this.route(input, ctx);
    if (staged.repeating) return this.scheduler.add(staged.message).then(() => staged.result);
    try {
      if (staged.targets.length > 0) {
        if (this.mustRefuse(staged)) return this.finishPublish(staged, -1, undefined, opts);
        const targets = staged.targets;
        for (let i = 0; i < targets.length; i++) {
          const ticket = (targets[i] as Queue).prepare(staged.message);
          if (ticket instanceof Promise) return this.finishPublish(staged, i, ticket, opts);
          staged.tickets.push(ticket);
        }
      }
      staged.seal(opts.session);
      if (staged.ops.length > 0) return this.finishPublish(staged, staged.targets.length, undefined, opts);
      // Nothing to write (no subscriber, or not persistent): a broker that lost its lease still must not acknowledge it.
      this.store.assertWritable?.();
    } catch (err) {
      staged.abort();
      throw err;
    }
    staged.commit();
    return staged.result;
  }

  private async publishAfter(memory: Promise<void>, input: MessageInput, ctx: ClientContext, opts: PublishOptions): Promise<PublishResult> {
    await memory;
    return this.publishNow(input, ctx, opts);
  }

  /**
   * The rest of a publish once something must be waited for: `pending` is target `from`'s ticket
   * still coming, the targets after it are prepared here, then the store write. `from` -1: the
   * store is out and the publish is refused; `from` = the number of targets (no `pending`): all
   * tickets are in and sealed.
   */
  private async finishPublish(
    staged: StagedPublish,
    from: number,
    pending: Promise<PublishTicket> | undefined,
    opts: PublishOptions,
  ): Promise<PublishResult> {
    const targets = staged.targets;
    try {
      if (from < 0) throw await this.writer.outage();
      if (pending) {
        staged.tickets.push(await pending);
        for (let i = from + 1; i < targets.length; i++) staged.tickets.push(await (targets[i] as Queue).prepare(staged.message));
        staged.seal(opts.session);
      }
      if (staged.ops.length > 0) await this.writer.writeAndWait(staged.ops);
      else this.store.assertWritable?.();
    } catch (err) {
      staged.abort();
      throw err;
    }
    staged.commit();
    return staged.result;
  }

  /** Everything a publish does before the store write; the caller writes `ops`, then commits or aborts. */
  private async stage(input: MessageInput, ctx: ClientContext): Promise<StagedPublish> {
    this.assertRunning();
    const memory = this.memory?.wait();
    if (memory) {
      await memory;
      this.assertRunning();
    }
    const staged = this.route(input, ctx);
    if (staged.repeating) {
      await this.scheduler.add(staged.message);
      return staged;
    }
    try {
      if (staged.targets.length > 0) {
        if (this.mustRefuse(staged)) throw await this.writer.outage();
        for (const q of staged.targets) staged.tickets.push(await q.prepare(staged.message));
      }
    } catch (err) {
      staged.abort();
      throw err;
    }
    staged.seal(undefined);
    return staged;
  }

  /** The message, checked, authorized and routed; a duplicate or an expired one goes nowhere. */
  private route(input: MessageInput, ctx: ClientContext): StagedPublish {
    const now = this.now();
    const message = createMessage(input, ctx.principal?.username, now);
    const dest = message.destination;
    this.authorize(ctx, 'write', dest);
    this.connections.published(ctx.connectionId, dest);
    const staged = new StagedPublish(message);
    if (isRepeating(message)) {
      staged.repeating = true;
      return staged;
    }
    const targets =
      dest.kind === 'queue' ? [this.ensureQueue(dest.name, ctx)] : this.router.route(message, ctx.clientId ?? ctx.connectionId);
    if (message.dedupId !== undefined) {
      const key = DedupWindow.key(formatAddress(dest), message.dedupId);
      const window = targets[0]?.policy.dedupWindowMs ?? this.policies.resolve('', formatAddress(dest), '').dedupWindowMs;
      const until = now + window;
      if (this.dedup.checkAndRecord(key, now, until)) {
        staged.result.duplicate = true;
        return staged;
      }
      staged.dedup = { window: this.dedup, key, until };
    }
    if (message.expiresAt > 0 && message.expiresAt <= now) return staged;
    staged.targets = targets;
    return staged;
  }

  /** A persistent message for a durable queue is refused at once while the store is away. */
  private mustRefuse(staged: StagedPublish): boolean {
    return staged.message.persistent && !this.writer.available && staged.targets.some((q) => q.durable);
  }

  /**
   * Commits a local transaction (STOMP BEGIN/COMMIT, AMQP declare/discharge): its messages are
   * published and its acknowledged deliveries removed in one atomic store batch, so a crash keeps
   * all of it or none. When the batch fails nothing is applied and the transaction is rolled back.
   * Deliveries whose consumer has gone meanwhile went back to their queue and are left there.
   */
  async commit(tx: Transaction, ctx: ClientContext): Promise<void> {
    const staged: StagedPublish[] = [];
    let acks: Transaction['acks'];
    try {
      this.assertRunning();
      for (const input of tx.sends) staged.push(await this.stage(input, ctx));
      acks = tx.acks.filter((a) => a.consumer.holds(a.tag));
      const ops: StoreOp[] = staged.flatMap((st) => st.ops);
      for (const a of acks) {
        const op = a.consumer.removal(a.tag);
        if (op) ops.push(op);
      }
      if (ops.length > 0) {
        if (!this.writer.available) throw await this.writer.outage();
        await this.writer.writeAndWait(ops);
      }
    } catch (err) {
      for (const st of staged) st.abort();
      tx.rollback();
      throw err;
    }
    for (const st of staged) st.commit();
    for (const a of acks) if (a.consumer.holds(a.tag)) a.consumer.ack(a.tag, true);
    tx.committed();
  }

  // ---- browse ----------------------------------------------------------------------------

  /** A snapshot of a queue's messages that removes and locks nothing (queue-browser.ts). */
  browse(req: { destination: Destination; selector?: string | undefined }, ctx: ClientContext): QueueBrowser {
    this.assertRunning();
    const d = req.destination;
    if (d.kind !== 'queue') throw new InvalidDestinationError(`Only queues can be browsed, not topic ${d.name}`, { destination: d.name });
    validateName(d.name, false);
    this.authorize(ctx, 'read', d);
    this.checkTemporaryOwner(d.name, ctx);
    const selector = compileOptionalSelector(req.selector);
    const q = this.queues.get(d.name);
    if (!q) return new QueueBrowser([], undefined, selector);
    const readPaged = q.durable ? (cursor: string | undefined, limit: number) => this.writer.browsePaged(q.name, cursor, limit) : undefined;
    return new QueueBrowser(q.browseSnapshot(), readPaged, selector);
  }

  // ---- subscribe -------------------------------------------------------------------------

  /** Attaches a consumer to a queue, or to a topic through a subscription queue. */
  async subscribe(req: SubscribeRequest, ctx: ClientContext): Promise<Consumer> {
    this.assertRunning();
    const selector = compileOptionalSelector(req.selector);
    const opts: ConsumerOptions = { ...req, selector };
    if (ctx.connectionId !== undefined) opts.connectionId = ctx.connectionId;
    const conn = this.connections.get(ctx.connectionId);
    if (conn) {
      const deliver = req.onMessage;
      opts.onMessage = (delivery) => {
        this.connections.delivered(conn);
        deliver(delivery);
      };
    }
    const d = req.destination;
    let consumer: Consumer;
    if (d.kind === 'queue') {
      validateName(d.name, false);
      this.authorize(ctx, 'read', d);
      this.checkTemporaryOwner(d.name, ctx);
      consumer = this.ensureQueue(d.name, ctx).attach(opts);
    } else {
      validateName(d.name, true);
      this.authorize(ctx, 'read', d);
      consumer = await this.subscriptions.attach(req, opts, ctx);
    }
    conn?.consumers.push({ destination: `${d.kind}://${d.name}`, closed: () => consumer.closed });
    return consumer;
  }

  /** Removes a durable subscription (JMS unsubscribe); refused while a consumer is attached. */
  unsubscribeDurable(clientId: string, name: string): void {
    this.subscriptions.unsubscribeDurable(clientId, name);
  }

  /** Removes a shared subscription and its queued messages; refused while consumers are attached. */
  unsubscribeShared(name: string, durable: boolean): void {
    this.subscriptions.unsubscribeShared(name, durable);
  }

  listSubscriptions(): SubscriptionRecord[] {
    return this.subscriptions.list();
  }

  /** What this broker keeps in the store, as its memory counts it: what a store that lost its data lost. */
  holdings(): { queues: number; messages: number; subscriptions: number; retained: number } {
    let queues = 0;
    let messages = 0;
    for (const q of this.queues.values()) {
      if (!q.durable) continue;
      queues++;
      messages += q.storedCount;
    }
    return { queues, messages, subscriptions: this.subscriptions.list().length, retained: this.retained.size };
  }

  // ---- temporary destinations --------------------------------------------------------------

  private checkTemporaryOwner(name: string, ctx: ClientContext): void {
    const owner = this.temporary.get(name);
    if (owner !== undefined && owner !== ctx.connectionId) {
      throw new NotAuthorizedError(`Temporary queue ${name} can only be consumed by the connection that created it`, { queue: name });
    }
  }

  /** A queue only `ctx`'s connection may consume from, deleted when that connection ends. */
  createTemporaryQueue(ctx: ClientContext): Destination {
    this.assertRunning();
    const name = `TEMP.${randomUUID()}`;
    const q = this.newQueue({ name, label: `queue://${name}`, durable: false }, name);
    this.queues.set(name, q);
    this.temporary.set(name, ctx.connectionId);
    return { kind: 'queue', name };
  }

  /** A connection ended: its temporary queues go. (Its consumers are closed by the adapter.) */
  connectionClosed(connectionId: string): void {
    this.connections.remove(connectionId);
    for (const [name, owner] of [...this.temporary]) {
      if (owner !== connectionId) continue;
      const q = this.queues.get(name);
      if (q) this.dropQueue(q, 'temporary queue owner disconnected');
      this.temporary.delete(name);
    }
  }

  // ---- retained messages and sessions ----------------------------------------------------

  /** Keeps `message` as the retained message of its topic (null clears it). */
  async retain(topicName: string, message: Message | null): Promise<void> {
    this.assertRunning();
    await this.writer.writeAndWait([{ type: 'putRetained', topic: topicName, message }]);
    this.retained.set(topicName, message);
  }

  retainedFor(pattern: string): Message[] {
    return this.retained.match(pattern, this.now());
  }

  getSession(id: string): Promise<SessionRecord | undefined> {
    return this.store.getSession(id);
  }

  putSession(session: SessionRecord): Promise<void> {
    return this.writer.writeAndWait([{ type: 'putSession', session }]);
  }

  listSessions(prefix: string): Promise<SessionRecord[]> {
    return this.store.listSessions(prefix);
  }

  deleteSession(id: string): Promise<void> {
    return this.writer.writeAndWait([{ type: 'deleteSession', id }]);
  }

  // ---- housekeeping ----------------------------------------------------------------------

  /** Expires messages past their TTL and prunes the dedup window; runs on a timer. */
  sweep(): void {
    const now = this.now();
    for (const q of this.queues.values()) q.sweepExpired(now);
    this.dedup.prune(now);
  }

  /** Resolves when every store write issued so far has finished. */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** `f` hears how long each store batch took, in seconds. */
  observeStoreBatches(f: ((seconds: number) => void) | undefined): void {
    this.writer.onBatchDone = f;
  }

  writerStats(): { batches: number; ops: number; elided: number; held: number; retried: number } {
    const w = this.writer;
    return { batches: w.batches, ops: w.ops, elided: w.elided, held: w.held, retried: w.retried };
  }

  /** False while the store cannot be reached or writes made during an outage are still held. */
  get storeAvailable(): boolean {
    return this.writer.available;
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
    consumers: q.consumerCount,
    bytes: q.bytes,
    stats: { ...q.stats },
  };
}
