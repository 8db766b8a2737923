// The broker core, what clients do through their adapters: the registry of queues, topic routing,
// publishing (route, dedup, a ticket per target queue, one store write, commit), consuming from
// queues and topics, temporary queues, retained messages and adapter session state. Around it:
// topic subscriptions (subscriptions.ts), a transaction's commit (transaction-commit.ts), rebuilding
// state at start (recovery.ts), and what operators do (operations.ts). Protocol-free: adapters
// translate frames into these calls.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { SecurityRecord, Store, SessionRecord, SubscriptionLimits, SubscriptionReader, SubscriptionRecord } from '../store/store.ts';
import type { Consumer, ConsumerOptions } from './consumer.ts';
import { DedupWindow } from './dedup.ts';
import { formatAddress, type Destination, validateName } from './destination.ts';
import { ClosedError, FencedError, InvalidDestinationError, NotAuthorizedError, NotFoundError } from '../shared/errors.ts';
import { createMessage, type Message, type MessageInput, type PropertyValue } from './message.ts';
import { applyLimits, applyRules, PolicyResolver, type QueueRules } from './policy.ts';
import type { Authorizer, ClientContext, Permission } from './principal.ts';
import type { PageSource } from './paging.ts';
import type { PublishTicket } from './publish-ticket.ts';
import { QueueBrowser } from './queue-browser.ts';
import { Connections } from './connections.ts';
import { emptyStats, Queue, type QueueInit, type QueueStats } from './queue.ts';
import { RetainedMessages } from './retained.ts';
import { Router, virtualTopicOf, type Route } from './router.ts';
import { compileOptionalSelector } from './selector/index.ts';
import type { MemoryGuard } from './memory-guard.ts';
import { recover } from './recovery.ts';
import { StoreWriter } from './store-writer.ts';
import { Subscriptions, type SubscribeRequest } from './subscriptions.ts';
import { isRepeating, Scheduler } from './scheduler.ts';
import type { Transaction } from './transaction.ts';
import { commitTransaction } from './transaction-commit.ts';
import { reviewAccess, type AccessReview } from './access-review.ts';
import { KeyRotation } from './key-rotation.ts';
import { Operations, type QueueInfo } from './operations.ts';
import { StagedPublish, type PublishResult } from './staged-publish.ts';

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

export type { PublishResult };
export type { QueueInfo };
export type { SubscribeRequest } from './subscriptions.ts';

export interface PublishOptions {
  /**
   * Adapter session state written in the same atomic store batch as the message, so both or
   * neither survive a crash (MQTT QoS 2: the message and the packet id that marks it received).
   */
  session?: SessionRecord;
}

export class Broker {
  readonly store: Store;
  readonly log: Logger;
  /** The client connections adapters registered, for operators. */
  readonly connections = new Connections();
  /** What operators do (the admin API and CLI): views, purge, move, redrive... */
  readonly operations: Operations;
  /** `junction keys rotate`: re-sealing what the store holds with the active key. */
  readonly keyRotation: KeyRotation;
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
  /** Rules adapters set on named queues at run time (setQueueRules). */
  private readonly queueRules = new Map<string, QueueRules>();
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
      mayRead: (reader) => (this.authorizer ? (this.authorizer.mayRead?.(reader) ?? (() => false)) : () => true),
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
    this.operations = new Operations({
      assertRunning: () => this.assertRunning(),
      queue: (name) => this.queues.get(name),
      queues: () => this.queues.values(),
      createQueue: (name) => this.createQueue(name, true),
      move: (target, m, annotations) => this.move(target, m, annotations),
      browse: (req, ctx) => this.browse(req, ctx),
      subscriptions: this.subscriptions,
      retainedCount: () => this.retained.size,
      writer: this.writer,
    });
    this.keyRotation = new KeyRotation(this.store, this.log);
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
      this.authorizer.check(ctx.principal, permission, d, {
        temporary: d.kind === 'queue' && this.temporary.has(d.name),
        clientId: ctx.clientId,
        from: this.connections.get(ctx.connectionId)?.remoteAddress,
      });
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
    if (!init.subscription) applyRules(policy, this.queueRules.get(init.name));
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

  /**
   * Sets (undefined: clears) an adapter's rules for the named queue, over its configured policy,
   * now and whenever the queue is made again. They live in memory: the adapter that keeps them
   * (SQS queue attributes in its stored records) sets them again at start.
   */
  setQueueRules(name: string, rules: QueueRules | undefined): void {
    if (rules) this.queueRules.set(name, { ...rules });
    else this.queueRules.delete(name);
    const q = this.queues.get(name);
    if (!q || q.label !== `queue://${name}`) return;
    const policy = this.policies.resolve(name, q.label, name);
    applyRules(policy, rules);
    q.policy = policy;
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

  /** True when the named queue `name` exists (a topic subscription's queue is not one); cheaper than getQueue. */
  hasQueue(name: string): boolean {
    return this.queues.get(name)?.label === `queue://${name}`;
  }

  getQueue(name: string): QueueInfo | undefined {
    return this.operations.getQueue(name);
  }

  listQueues(): QueueInfo[] {
    return this.operations.listQueues();
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

  /** Commits a local transaction in one atomic store batch, or rolls it back (transaction-commit.ts). */
  commit(tx: Transaction, ctx: ClientContext): Promise<void> {
    return commitTransaction(tx, {
      assertRunning: () => this.assertRunning(),
      stage: (input) => this.stage(input, ctx),
      writer: this.writer,
    });
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
      consumer = await this.subscriptions.attach(req, opts, ctx, this.partialReader(req, ctx));
    }
    conn?.consumers.push({
      destination: `${d.kind}://${d.name}`,
      target: d,
      clientId: ctx.clientId,
      closed: () => consumer.closed,
      end: (reason) => consumer.abort(reason, 'not-authorized'),
    });
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

  /**
   * Authorizes a topic subscription: undefined when the subscriber may read every topic its
   * pattern matches, else the reader each message is checked against (a wildcard wider than its
   * rights, as Mosquitto's pattern ACLs allow). A shared subscription must be readable whole.
   */
  private partialReader(req: SubscribeRequest, ctx: ClientContext): SubscriptionReader | undefined {
    const d = req.destination;
    if (!ctx.principal || !this.authorizer) return undefined;
    if (!this.authorizer.readScope) {
      this.authorize(ctx, 'read', d);
      return undefined;
    }
    const scope = this.authorizer.readScope(ctx.principal, d, ctx.clientId);
    if (scope === 'all') return undefined;
    if (req.shared) {
      throw new NotAuthorizedError(
        `User ${ctx.principal.username} may read only part of topic://${d.name}: a shared subscription must be readable whole`,
        {
          user: ctx.principal.username,
          destination: `topic://${d.name}`,
        },
      );
    }
    return scope;
  }

  // ---- temporary destinations --------------------------------------------------------------

  private checkTemporaryOwner(name: string, ctx: ClientContext): void {
    const owner = this.temporary.get(name);
    if (owner !== undefined && owner !== ctx.connectionId) {
      throw new NotAuthorizedError(`Temporary queue ${name} can only be consumed by the connection that created it`, { queue: name });
    }
  }

  /**
   * A queue only `ctx`'s connection may consume from, deleted when that connection ends. `name`
   * is the client's when its protocol has it name its temporary queues (OpenWire); it starts TEMP.
   */
  createTemporaryQueue(ctx: ClientContext, name = `TEMP.${randomUUID()}`): Destination {
    this.assertRunning();
    if (!name.startsWith('TEMP.')) throw new InvalidDestinationError(`A temporary queue's name starts with TEMP., got "${name}"`, { name });
    if (this.queues.has(name)) throw new InvalidDestinationError(`Temporary queue ${name} already exists`, { name });
    const q = this.newQueue({ name, label: `queue://${name}`, durable: false }, name);
    this.queues.set(name, q);
    this.temporary.set(name, ctx.connectionId);
    return { kind: 'queue', name };
  }

  /** The connection that created a temporary queue deletes it (JMS TemporaryQueue.delete). */
  deleteTemporaryQueue(name: string, ctx: ClientContext): void {
    if (this.temporary.get(name) !== ctx.connectionId) return;
    const q = this.queues.get(name);
    if (q) this.dropQueue(q, 'temporary queue deleted by its owner');
    this.temporary.delete(name);
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

  // ---- users and rights set at run time ---------------------------------------------------

  /** Stores the users and authorization an operator set (the next active broker reads them at start). */
  async saveSecurity(record: SecurityRecord): Promise<void> {
    this.assertRunning();
    await this.writer.writeAndWait([{ type: 'putSecurity', record }]);
  }

  loadSecurity(): Promise<SecurityRecord | undefined> {
    return this.store.loadSecurity();
  }

  /** After users or rights changed: connected clients get them at once (see access-review.ts). */
  reviewAccess(): AccessReview {
    return this.authorizer ? reviewAccess(this.connections, this.authorizer) : { connectionsClosed: 0, consumersEnded: 0 };
  }

  // ---- retained messages and sessions ----------------------------------------------------

  /** Keeps `message` as the retained message of its topic (null clears it). */
  async retain(topicName: string, message: Message | null): Promise<void> {
    this.assertRunning();
    await this.writer.writeAndWait([{ type: 'putRetained', topic: topicName, message }]);
    this.retained.set(topicName, message);
  }

  /**
   * The retained messages `pattern` matches that the subscriber in `ctx` may read: a wildcard wider
   * than its rights brings only the topics its rights cover, as live messages do.
   */
  retainedFor(pattern: string, ctx?: ClientContext): Message[] {
    const found = this.retained.match(pattern, this.now());
    const principal = ctx?.principal;
    if (found.length === 0 || !principal || !this.authorizer?.readScope) return found;
    let scope: ReturnType<NonNullable<Authorizer['readScope']>>;
    try {
      scope = this.authorizer.readScope(principal, { kind: 'topic', name: pattern }, ctx.clientId);
    } catch {
      return [];
    }
    if (scope === 'all') return found;
    const mayRead = this.authorizer.mayRead?.(scope);
    return mayRead ? found.filter((m) => mayRead(m.destination.name)) : [];
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

  /** False while the store cannot be reached or writes made during an outage are still held. */
  get storeAvailable(): boolean {
    return this.writer.available;
  }
}
