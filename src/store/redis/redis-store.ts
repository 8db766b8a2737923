// The Redis store: the system of record. Every mutation is a Lua script that first checks the
// caller's fencing epoch, so a broker that lost its lock cannot write. A batch from `apply` is one
// call of apply.lua carrying every operation, so a batch lands whole or not at all, and batches land
// in the order they were applied (one connection).
import { randomUUID } from 'node:crypto';
import type { RedisOptions } from 'ioredis';
import { ConfigError, FencedError, SealedRecordError, StoreDataLostError, StoreUnavailableError } from '../../shared/errors.ts';
import type { Message } from '../../core/message.ts';
import type {
  DedupRecord,
  PagedStats,
  Promoted,
  QueuePage,
  QueueRecord,
  ResealProgress,
  ResealReport,
  SecurityRecord,
  SessionRecord,
  Store,
  StoreOp,
  StoreStats,
  StoredEntry,
  SubscriptionRecord,
} from '../store.ts';
import type { Sealer } from '../sealer.ts';
import { RecordCodec, type RefusedRecord } from './codec.ts';
import { createRedisClient, describeConnection, explain, type RedisClient, type RedisConnection } from './connect.ts';
import { Keys } from './keys.ts';
import { RedisStreamStore } from './redis-stream-store.ts';
import { resealAll } from './reseal.ts';
import { checkSealingKeys, registerActiveKey } from './sealing-keys.ts';
import { defineScripts, type ScriptCall, type ScriptName } from './scripts.ts';

export interface RedisStoreOptions extends RedisConnection {
  /** The broker cluster's name: every key lives under its hash tag. */
  cluster: string;
  epoch: number;
  /** Client tuning (retries, timeouts). */
  redis?: RedisOptions;
  /** Replicas a batch must reach (WAIT) before it counts as written; 0 = none. */
  minReplicasToAck?: number;
  replicaAckTimeoutMs?: number;
  /**
   * False once this broker's lease may have lapsed: from then on every write is refused here, before
   * Redis (whose fencing would refuse it only once another broker has taken the lease).
   */
  leaseHeld?: () => boolean;
  /** security.encryption's keyring: values are sealed before they reach Redis. */
  sealer?: Sealer;
  /** A sealed value that did not open: it was not used, and stays in Redis for an operator. */
  onRefused?: (r: RefusedRecord) => void;
}

type Scripted = Record<ScriptName, ScriptCall>;

interface PendingCall {
  reject: (err: unknown) => void;
}

/** Where apply.lua finds the record hashes (indexes into its KEYS). */
const SUBSCRIPTIONS = 6;
const RETAINED = 7;
const SESSIONS = 9;
const SECURITY = 10;
/** How many ids one readQueue call may skip over (paged-out entries) before returning a short page. */
const READ_BUDGET = 20_000;

export class RedisStore implements Store {
  readonly kind = 'redis';
  /**
   * Measured with `bench core --store redis` (64 to 1000 tried): batches of about 250 operations
   * let Redis run one while the broker settles the one before; one batch per turn was 35% slower.
   */
  readonly batchSize = 250;
  readonly epoch: number;
  /** The id of the data this handle opened (the data-id key), once open. */
  private dataId: string | undefined;
  private readonly redis: RedisClient;
  private readonly keys: Keys;
  private readonly where: string;
  /** Commands sent and not yet answered. */
  private readonly pendingCalls = new Set<PendingCall>();

  private readonly minReplicas: number;
  private readonly replicaTimeoutMs: number;
  private readonly leaseHeld: () => boolean;
  private readonly codec: RecordCodec;
  private readonly onRefused: (r: RefusedRecord) => void;
  readonly streams: RedisStreamStore;

  constructor(opts: RedisStoreOptions) {
    this.codec = new RecordCodec(opts.sealer);
    this.onRefused = opts.onRefused ?? (() => {});
    this.epoch = opts.epoch;
    this.minReplicas = opts.minReplicasToAck ?? 0;
    this.replicaTimeoutMs = opts.replicaAckTimeoutMs ?? 1000;
    this.leaseHeld = opts.leaseHeld ?? (() => true);
    this.keys = new Keys(opts.cluster);
    this.where = describeConnection(opts);
    // No offline queue and no re-sending of commands left unanswered by a lost connection: while Redis
    // is away a command fails at once (publishers hear so fast), and the broker's writer, not the
    // client, retries settlements, in order, when it is back. (ioredis then drops such commands
    // without settling them: `call` refuses them itself when the connection closes.)
    this.redis = createRedisClient(opts, { enableOfflineQueue: false, autoResendUnfulfilledCommands: false, ...opts.redis });
    defineScripts(this.redis);
    this.redis.on('close', () => this.connectionLost());
    this.streams = new RedisStreamStore({
      redis: this.redis,
      keys: this.keys,
      epoch: this.epoch,
      sealer: opts.sealer,
      scripts: this.scripts,
      call: (f) => this.call(f),
      checkLease: () => this.checkLease(),
    });
  }

  /**
   * A fresh epoch for a broker starting without the lease lock: one more than any before, so the
   * newest broker's writes win and every older one is fenced.
   */
  static async claimEpoch(conn: RedisConnection, cluster: string, redis?: RedisOptions): Promise<number> {
    const r = createRedisClient(conn, redis);
    try {
      await r.connect();
      return await r.incr(new Keys(cluster).epochCounter);
    } catch (err) {
      throw new StoreUnavailableError(`Cannot reach ${describeConnection(conn)}: ${explain(r, err as Error)}`, err);
    } finally {
      r.disconnect();
    }
  }

  private get scripts(): Scripted {
    return this.redis as unknown as Scripted;
  }

  async open(): Promise<void> {
    if (this.redis.status === 'wait') await this.call(() => this.redis.connect());
    const id = await this.call(() => this.scripts.open(this.keys.epoch, this.keys.dataId, this.epoch, randomUUID()));
    this.dataId = String(id);
    const sealer = this.codec.sealer;
    await this.call(() => checkSealingKeys(this.redis, this.keys, sealer));
    if (sealer) await this.call(() => registerActiveKey(this.redis, this.keys, sealer));
  }

  /** Before a broker starts: whether `sealer` opens what the store holds (a ConfigError says what to fix). */
  static async checkKeys(conn: RedisConnection, cluster: string, sealer: Sealer | undefined, redis?: RedisOptions): Promise<void> {
    const r = createRedisClient(conn, redis);
    try {
      try {
        await r.connect();
      } catch (err) {
        throw new StoreUnavailableError(`Cannot reach ${describeConnection(conn)}: ${explain(r, err as Error)}`, err);
      }
      await checkSealingKeys(r, new Keys(cluster), sealer);
    } finally {
      r.disconnect();
    }
  }

  async close(): Promise<void> {
    if (this.redis.status === 'end' || this.redis.status === 'wait') {
      this.redis.disconnect();
      return;
    }
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  isAvailable(): boolean {
    return this.redis.status === 'ready';
  }

  async ping(): Promise<void> {
    await this.call(() => this.redis.ping());
  }

  async apply(ops: readonly StoreOp[]): Promise<void> {
    if (ops.length === 0) return;
    const k = this.keys;
    const keys: string[] = [k.epoch, k.seq, k.queues, k.bodies, k.refs, k.subscriptions, k.retained, k.dedup, k.sessions, k.security];
    const bases = new Map<string, number>();
    const base = (queue: string): number => {
      let b = bases.get(queue);
      if (b === undefined) {
        b = keys.length + 1;
        bases.set(queue, b);
        keys.push(
          k.queue(queue),
          k.queueState(queue),
          k.queuePaged(queue),
          k.queuePagedSizes(queue),
          k.queueScheduled(queue),
          k.queueScheduledSizes(queue),
        );
      }
      return b;
    };
    const argv: Array<string | number | Buffer> = [this.epoch, Date.now()];
    for (const op of ops) {
      switch (op.type) {
        case 'declareQueue':
          argv.push('Q', op.queue.name, op.queue.createdAt);
          break;
        case 'deleteQueue':
          argv.push('X', base(op.queue), op.queue);
          break;
        case 'enqueue':
          argv.push(
            'E',
            base(op.queue),
            op.queue,
            op.message.id,
            this.codec.message(op.message),
            this.codec.state(op.state, op.queue, op.message.id),
            op.paged ? op.message.priority : '',
            op.paged ? op.size : 0,
            op.paged && op.state.deliverAt > 0 ? op.state.deliverAt : '',
          );
          break;
        case 'update':
          argv.push('U', base(op.queue), op.messageId, this.codec.state(op.state, op.queue, op.messageId));
          break;
        case 'remove':
          argv.push('R', base(op.queue), op.messageId);
          break;
        case 'putSubscription':
          argv.push('S', SUBSCRIPTIONS, op.subscription.name, JSON.stringify(op.subscription));
          break;
        case 'deleteSubscription':
          argv.push('D', SUBSCRIPTIONS, op.name);
          break;
        case 'putRetained':
          if (op.message === null) argv.push('D', RETAINED, op.topic);
          else argv.push('S', RETAINED, op.topic, this.codec.message(op.message));
          break;
        case 'putDedup':
          argv.push('P', op.record.key, op.record.expiresAt);
          break;
        case 'putSession':
          argv.push('S', SESSIONS, op.session.id, this.codec.session(op.session));
          break;
        case 'deleteSession':
          argv.push('D', SESSIONS, op.id);
          break;
        case 'putSecurity':
          argv.push('S', SECURITY, 'record', this.codec.security(op.record));
          break;
      }
    }
    this.checkLease();
    await this.call(() => this.scripts.apply(keys.length, keys, argv));
    if (this.minReplicas > 0) await this.replicate();
  }

  assertWritable(): void {
    this.checkLease();
  }

  private checkLease(): void {
    if (!this.leaseHeld()) throw new FencedError(this.epoch, this.epoch, 'Store write refused: this broker no longer holds the lease');
  }

  /** Waits for the replicas; a batch they did not all confirm in time counts as not written (it is retried whole). */
  private async replicate(): Promise<void> {
    const got = await this.call(() => this.redis.wait(this.minReplicas, this.replicaTimeoutMs));
    if (got < this.minReplicas) {
      throw new StoreUnavailableError(
        `Redis confirmed the write on ${got} of the ${this.minReplicas} replica(s) store.redis.minReplicasToAck asks for ` +
          `within ${this.replicaTimeoutMs} ms (${this.where}); it is not acknowledged. Retry later.`,
        'replication',
      );
    }
  }

  async pageIn(queue: string, maxCount: number, maxBytes: number): Promise<StoredEntry[]> {
    this.checkLease();
    const k = this.keys;
    const flat = (await this.call(() =>
      this.scripts.pageInBuffer(
        k.epoch,
        k.queuePaged(queue),
        k.queuePagedSizes(queue),
        k.queueState(queue),
        k.bodies,
        this.epoch,
        maxCount,
        maxBytes,
      ),
    )) as Buffer[];
    const out: StoredEntry[] = [];
    for (let i = 0; i < flat.length; i += 3) {
      const body = flat[i + 1] as Buffer;
      if (body.length === 0) continue;
      const entry = this.entry(queue, (flat[i] as Buffer).toString(), body, flat[i + 2] as Buffer);
      if (entry) out.push(entry);
    }
    return out;
  }

  async promoteDue(queue: string, now: number): Promise<Promoted> {
    this.checkLease();
    const k = this.keys;
    const [count, bytes, nextDue] = (await this.call(() =>
      this.scripts.promoteDue(
        k.epoch,
        k.queue(queue),
        k.queuePaged(queue),
        k.queuePagedSizes(queue),
        k.queueScheduled(queue),
        k.queueScheduledSizes(queue),
        this.epoch,
        now,
      ),
    )) as [number, number, number];
    return { count, bytes, nextDue };
  }

  async pagedStats(queue: string): Promise<PagedStats> {
    const k = this.keys;
    const [count, bytes, scheduledCount, scheduledBytes, first] = await this.call(() =>
      Promise.all([
        this.redis.zcard(k.queuePaged(queue)),
        this.redis.hget(k.queuePagedSizes(queue), ''),
        this.redis.zcard(k.queueScheduled(queue)),
        this.redis.hget(k.queueScheduledSizes(queue), ''),
        this.redis.zrange(k.queueScheduled(queue), '0', '0', 'WITHSCORES'),
      ]),
    );
    return {
      count,
      bytes: Number(bytes ?? 0),
      scheduledCount,
      scheduledBytes: Number(scheduledBytes ?? 0),
      nextDue: first[1] === undefined ? 0 : Number(first[1]),
    };
  }

  /** A fencing refusal becomes FencedError, a lost link StoreUnavailableError; others pass as they are. */
  private classify(err: unknown): Error {
    const e = err instanceof Error ? err : new Error(String(err));
    const fenced = /FENCED (\d+)/.exec(e.message);
    if (fenced) return new FencedError(this.epoch, Number(fenced[1]));
    // Stepping down is the way back: a new activation takes a new epoch on what Redis now holds.
    if (/^DATALOST/.test(e.message)) return new StoreDataLostError(this.epoch, this.where);
    if (
      e.name === 'MaxRetriesPerRequestError' ||
      /Connection is closed|ECONNREFUSED|ECONNRESET|Stream isn't writeable|^LOADING|^OOM|^MASTERDOWN|^READONLY/i.test(e.message)
    ) {
      return new StoreUnavailableError(`Redis is unavailable (${this.where}): ${explain(this.redis, e)}`, e);
    }
    return e;
  }

  /**
   * Runs a command, refusing it with StoreUnavailableError as soon as the connection is lost before
   * its reply: ioredis, told not to re-send such commands, would otherwise leave them unsettled.
   */
  private call<T>(f: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const pending: PendingCall = { reject };
      this.pendingCalls.add(pending);
      f().then(
        (v) => {
          this.pendingCalls.delete(pending);
          resolve(v);
        },
        (err: unknown) => {
          this.pendingCalls.delete(pending);
          reject(this.classify(err));
        },
      );
    });
  }

  private connectionLost(): void {
    if (this.pendingCalls.size === 0) return;
    const err = new StoreUnavailableError(
      `Redis is unavailable (${this.where}): the connection was lost before it answered; the command may or may not have run`,
      'close',
    );
    for (const p of this.pendingCalls) p.reject(err);
    this.pendingCalls.clear();
  }

  async loadQueues(): Promise<QueueRecord[]> {
    const all = await this.call(() => this.redis.hgetall(this.keys.queues));
    return Object.entries(all).map(([name, createdAt]) => ({ name, createdAt: Number(createdAt) }));
  }

  async readQueue(queue: string, cursor: string | undefined, limit: number): Promise<QueuePage> {
    const k = this.keys;
    const flat = (await this.call(() =>
      this.scripts.readQueueBuffer(
        k.epoch,
        k.queue(queue),
        k.queuePaged(queue),
        k.queueState(queue),
        k.bodies,
        this.epoch,
        cursor ?? '',
        limit,
        Math.max(limit, READ_BUDGET),
      ),
    )) as Buffer[];
    return this.page(queue, flat);
  }

  async browsePaged(queue: string, cursor: string | undefined, limit: number): Promise<QueuePage> {
    const k = this.keys;
    const flat = (await this.call(() =>
      this.scripts.browsePagedBuffer(k.epoch, k.queuePaged(queue), k.queueState(queue), k.bodies, this.epoch, cursor ?? '', limit),
    )) as Buffer[];
    return this.page(queue, flat);
  }

  async loadSubscriptions(): Promise<SubscriptionRecord[]> {
    const all = await this.call(() => this.redis.hvals(this.keys.subscriptions));
    return all.map((v) => JSON.parse(v) as SubscriptionRecord);
  }

  async loadRetained(): Promise<Message[]> {
    const flat = await this.call(() => this.redis.hgetallBuffer(this.keys.retained));
    const out: Message[] = [];
    for (const [topic, value] of Object.entries(flat)) {
      try {
        out.push(this.codec.openMessage(value));
      } catch (err) {
        if (!this.refused('retained', `retained ${topic}`, err)) throw err;
      }
    }
    return out;
  }

  async loadDedup(now: number): Promise<DedupRecord[]> {
    const flat = await this.call(() => this.redis.zrangebyscore(this.keys.dedup, `(${now}`, '+inf', 'WITHSCORES'));
    const out: DedupRecord[] = [];
    for (let i = 0; i < flat.length; i += 2) out.push({ key: flat[i] as string, expiresAt: Number(flat[i + 1]) });
    return out;
  }

  async getSession(id: string): Promise<SessionRecord | undefined> {
    const v = await this.call(() => this.redis.hgetBuffer(this.keys.sessions, id));
    if (v === null) return undefined;
    try {
      return this.codec.openSession(v, id);
    } catch (err) {
      // Refused, not forgotten: a session taken for absent would be written over by a clean one.
      this.refused('session', `session ${id}`, err);
      throw err;
    }
  }

  async loadSecurity(): Promise<SecurityRecord | undefined> {
    const v = await this.call(() => this.redis.hgetBuffer(this.keys.security, 'record'));
    if (v === null) return undefined;
    try {
      return this.codec.openSecurity(v);
    } catch (err) {
      this.refused('security', 'security record', err);
      throw err;
    }
  }

  async listSessions(prefix: string): Promise<SessionRecord[]> {
    // HSCAN with a glob needs escaping; filtering the ids here keeps the prefix literal.
    const out: SessionRecord[] = [];
    let cursor = '0';
    do {
      const [next, flat] = await this.call(() => this.redis.hscanBuffer(this.keys.sessions, cursor, 'COUNT', 500));
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const id = (flat[i] as Buffer).toString();
        if (!id.startsWith(prefix)) continue;
        try {
          out.push(this.codec.openSession(flat[i + 1] as Buffer, id));
        } catch (err) {
          if (!this.refused('session', `session ${id}`, err)) throw err;
        }
      }
      cursor = next.toString();
    } while (cursor !== '0');
    return out;
  }

  async stats(): Promise<StoreStats> {
    const k = this.keys;
    const [messages, refs, sessions] = await this.call(() =>
      Promise.all([this.redis.hlen(k.bodies), this.redis.hvals(k.refs), this.redis.hlen(k.sessions)]),
    );
    // The refs hash counts only the holders beyond the first.
    return { messages, entries: messages + refs.reduce((n, r) => n + Number(r), 0), sessions };
  }

  async reseal(onProgress: (p: ResealProgress) => void = () => {}): Promise<ResealReport> {
    const sealer = this.codec.sealer;
    if (!sealer) throw new ConfigError('Nothing to rotate: security.encryption gives no keys');
    this.checkLease();
    const queues = (await this.loadQueues()).map((q) => q.name);
    return this.call(() =>
      resealAll(
        {
          redis: this.redis,
          keys: this.keys,
          codec: this.codec,
          sealer,
          replace: async (hash, field, read, sealed) => {
            this.checkLease();
            return (await this.scripts.reseal(this.keys.epoch, hash, this.epoch, field, read, sealed)) === 1;
          },
          onRefused: this.onRefused,
        },
        queues,
        onProgress,
      ),
    );
  }

  /** A page from a script's reply: the cursor ('' at the end), then id, message and state per entry. */
  private page(queue: string, flat: Buffer[]): QueuePage {
    const out: QueuePage = { entries: [] };
    for (let i = 1; i < flat.length; i += 3) {
      const entry = this.entry(queue, (flat[i] as Buffer).toString(), flat[i + 1] as Buffer, flat[i + 2] as Buffer);
      if (entry) out.entries.push(entry);
    }
    const next = (flat[0] as Buffer).toString();
    if (next !== '') out.cursor = next;
    return out;
  }

  /**
   * A queue entry as read, or undefined when a sealed part of it does not open: it is refused
   * (reported, never delivered altered) and stays in Redis as it is.
   */
  private entry(queue: string, id: string, body: Buffer, state: Buffer): StoredEntry | undefined {
    try {
      return { message: this.codec.openMessage(body, id), state: this.codec.openState(state, queue, id) };
    } catch (err) {
      if (!this.refused('message', `queue ${queue}, message ${id}`, err)) throw err;
      return undefined;
    }
  }

  /** Reports a sealed value that did not open; false when `err` is some other failure. */
  private refused(what: RefusedRecord['what'], where: string, err: unknown): boolean {
    if (!(err instanceof SealedRecordError)) return false;
    this.onRefused({ what, where, error: err });
    return true;
  }

  /** The data this handle opened is gone: its data id is missing, or another (the data was made anew since). */
  async dataLost(): Promise<boolean> {
    if (this.dataId === undefined) return false;
    return (await this.call(() => this.redis.get(this.keys.dataId))) !== this.dataId;
  }
}

export { redactUrl } from './connect.ts';
