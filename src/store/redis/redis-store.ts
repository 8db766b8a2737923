// The Redis store: the system of record. Every mutation is a Lua script that first checks the
// caller's fencing epoch, so a broker that lost its lock cannot write. A batch from `apply` goes to
// Redis as one pipeline on one connection, so batches land in the order they were applied.
import { Redis, type RedisOptions } from 'ioredis';
import { FencedError, StoreUnavailableError } from '../../core/errors.ts';
import type { Message } from '../../core/message.ts';
import type {
  DedupRecord,
  EntryState,
  QueuePage,
  QueueRecord,
  SessionRecord,
  Store,
  StoreOp,
  StoreStats,
  SubscriptionRecord,
} from '../store.ts';
import { decodeMessage, encodeMessage } from './codec.ts';
import { Keys } from './keys.ts';
import { defineScripts, type ScriptCall, type ScriptName } from './scripts.ts';

export interface RedisStoreOptions {
  /** `redis://[user:pass@]host:port[/db]` or `rediss://` for TLS. */
  url: string;
  cluster: string;
  epoch: number;
  redis?: RedisOptions;
}

type Scripted = Record<ScriptName, ScriptCall>;

export class RedisStore implements Store {
  readonly kind = 'redis';
  readonly epoch: number;
  private readonly redis: Redis;
  private readonly keys: Keys;

  constructor(opts: RedisStoreOptions) {
    this.epoch = opts.epoch;
    this.keys = new Keys(opts.cluster);
    this.redis = new Redis(opts.url, { lazyConnect: true, maxRetriesPerRequest: 3, ...opts.redis });
    this.redis.on('error', () => {
      // Connection errors surface as rejected commands; ioredis reconnects by itself.
    });
    defineScripts(this.redis);
  }

  /**
   * A fresh epoch for a broker starting without the lease lock: one more than any before, so the
   * newest broker's writes win and every older one is fenced.
   */
  static async claimEpoch(url: string, cluster: string, redis?: RedisOptions): Promise<number> {
    const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3, ...redis });
    r.on('error', () => {});
    try {
      await r.connect();
      return await r.incr(new Keys(cluster).epochCounter);
    } catch (err) {
      throw new StoreUnavailableError(`Cannot reach Redis at ${redactUrl(url)}: ${(err as Error).message}`, err);
    } finally {
      r.disconnect();
    }
  }

  private get scripts(): Scripted {
    return this.redis as unknown as Scripted;
  }

  async open(): Promise<void> {
    if (this.redis.status === 'wait') await this.call(() => this.redis.connect());
    await this.call(() => this.scripts.open(this.keys.epoch, this.epoch));
  }

  async close(): Promise<void> {
    if (this.redis.status === 'end' || this.redis.status === 'wait') {
      this.redis.disconnect();
      return;
    }
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  async apply(ops: readonly StoreOp[]): Promise<void> {
    if (ops.length === 0) return;
    const p = this.redis.pipeline();
    const s = p as unknown as Scripted;
    const k = this.keys;
    const e = this.epoch;
    for (const op of ops) {
      switch (op.type) {
        case 'declareQueue':
          void s.declareQueue(k.epoch, k.queues, e, op.queue.name, op.queue.createdAt);
          break;
        case 'deleteQueue':
          void s.deleteQueue(k.epoch, k.queues, k.queue(op.queue), k.queueState(op.queue), k.bodies, k.refs, e, op.queue);
          break;
        case 'enqueue':
          void s.enqueue(
            k.epoch, k.seq, k.queue(op.queue), k.queueState(op.queue), k.bodies, k.refs, k.queues,
            e, op.message.id, encodeMessage(op.message), JSON.stringify(op.state), op.queue,
          );
          break;
        case 'update':
          void s.update(k.epoch, k.queueState(op.queue), e, op.messageId, JSON.stringify(op.state));
          break;
        case 'remove':
          void s.remove(k.epoch, k.queue(op.queue), k.queueState(op.queue), k.bodies, k.refs, e, op.messageId);
          break;
        case 'putSubscription':
          void s.hashSet(k.epoch, k.subscriptions, e, op.subscription.name, JSON.stringify(op.subscription));
          break;
        case 'deleteSubscription':
          void s.hashDelete(k.epoch, k.subscriptions, e, op.name);
          break;
        case 'putRetained':
          if (op.message === null) void s.hashDelete(k.epoch, k.retained, e, op.topic);
          else void s.hashSet(k.epoch, k.retained, e, op.topic, encodeMessage(op.message));
          break;
        case 'putDedup':
          void s.putDedup(k.epoch, k.dedup, e, op.record.key, op.record.expiresAt, Date.now());
          break;
        case 'putSession':
          void s.hashSet(k.epoch, k.sessions, e, op.session.id, JSON.stringify(op.session));
          break;
        case 'deleteSession':
          void s.hashDelete(k.epoch, k.sessions, e, op.id);
          break;
      }
    }
    const results = await this.call(() => p.exec());
    for (const [err] of results ?? []) {
      if (err) throw this.classify(err);
    }
  }

  /** A fencing refusal becomes FencedError, a lost link StoreUnavailableError; others pass as they are. */
  private classify(err: unknown): Error {
    const e = err instanceof Error ? err : new Error(String(err));
    const fenced = /FENCED (\d+)/.exec(e.message);
    if (fenced) return new FencedError(this.epoch, Number(fenced[1]));
    if (
      e.name === 'MaxRetriesPerRequestError' ||
      /Connection is closed|ECONNREFUSED|ECONNRESET|Stream isn't writeable/i.test(e.message)
    ) {
      return new StoreUnavailableError(`Redis is unavailable: ${e.message}`, e);
    }
    return e;
  }

  private async call<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      throw this.classify(err);
    }
  }

  async loadQueues(): Promise<QueueRecord[]> {
    const all = await this.call(() => this.redis.hgetall(this.keys.queues));
    return Object.entries(all).map(([name, createdAt]) => ({ name, createdAt: Number(createdAt) }));
  }

  async readQueue(queue: string, cursor: string | undefined, limit: number): Promise<QueuePage> {
    const min = cursor === undefined ? '-inf' : `(${cursor}`;
    const flat = await this.call(() =>
      this.redis.zrange(this.keys.queue(queue), min, '+inf', 'BYSCORE', 'LIMIT', 0, limit, 'WITHSCORES'),
    );
    const ids: string[] = [];
    let last = '';
    for (let i = 0; i < flat.length; i += 2) {
      ids.push(flat[i] as string);
      last = flat[i + 1] as string;
    }
    const out: QueuePage = { entries: [] };
    if (ids.length === 0) return out;
    const [bodies, states] = await this.call(() =>
      Promise.all([this.redis.hmgetBuffer(this.keys.bodies, ...ids), this.redis.hmget(this.keys.queueState(queue), ...ids)]),
    );
    for (let i = 0; i < ids.length; i++) {
      const body = bodies[i];
      const state = states[i];
      if (body && state) out.entries.push({ message: decodeMessage(body), state: JSON.parse(state) as EntryState });
    }
    if (ids.length === limit) out.cursor = last;
    return out;
  }

  async loadSubscriptions(): Promise<SubscriptionRecord[]> {
    const all = await this.call(() => this.redis.hvals(this.keys.subscriptions));
    return all.map((v) => JSON.parse(v) as SubscriptionRecord);
  }

  async loadRetained(): Promise<Message[]> {
    const all = await this.call(() => this.redis.hvalsBuffer(this.keys.retained));
    return all.map(decodeMessage);
  }

  async loadDedup(now: number): Promise<DedupRecord[]> {
    const flat = await this.call(() => this.redis.zrangebyscore(this.keys.dedup, `(${now}`, '+inf', 'WITHSCORES'));
    const out: DedupRecord[] = [];
    for (let i = 0; i < flat.length; i += 2) out.push({ key: flat[i] as string, expiresAt: Number(flat[i + 1]) });
    return out;
  }

  async getSession(id: string): Promise<SessionRecord | undefined> {
    const v = await this.call(() => this.redis.hget(this.keys.sessions, id));
    return v === null ? undefined : (JSON.parse(v) as SessionRecord);
  }

  async stats(): Promise<StoreStats> {
    const [messages, refs] = await this.call(() =>
      Promise.all([this.redis.hlen(this.keys.bodies), this.redis.hvals(this.keys.refs)]),
    );
    return { messages, entries: refs.reduce((n, r) => n + Number(r), 0) };
  }
}

/** The URL without its password, for logs and errors. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
