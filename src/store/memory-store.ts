// The memory store: the embedded default and the reference implementation of the Store contract.
// It keeps nothing across process restarts. Several handles may share one MemoryData (as several
// broker processes share one Redis), which is how the contract suite exercises fencing and
// recovery without a server.
import { ClosedError, FencedError } from '../shared/errors.ts';
import type { Message } from '../core/message.ts';
import { MemoryStreamData, MemoryStreamStore } from './memory-stream-store.ts';
import { PagedIndex } from './paged-index.ts';
import type {
  DedupRecord,
  EntryState,
  PagedStats,
  Promoted,
  QueuePage,
  QueueRecord,
  SecurityRecord,
  SessionRecord,
  Store,
  StoreOp,
  StoreStats,
  StoredEntry,
  SubscriptionRecord,
} from './store.ts';

interface Body {
  message: Message;
  refs: number;
}

export class MemoryData {
  epoch = 0;
  readonly queues = new Map<string, QueueRecord>();
  /** Per queue: message id -> state, in insertion order (Map keeps it). */
  readonly entries = new Map<string, Map<string, EntryState>>();
  readonly paged = new Map<string, PagedIndex>();
  /** Insertion sequence of paged-out entries (orders them within a priority). */
  pagedSeq = 0;
  /** Per queue: ids paged out (due or scheduled), for `readQueue` to skip. */
  readonly pagedIds = new Map<string, Set<string>>();
  readonly bodies = new Map<string, Body>();
  readonly subscriptions = new Map<string, SubscriptionRecord>();
  readonly retained = new Map<string, Message>();
  readonly dedup = new Map<string, number>();
  readonly sessions = new Map<string, SessionRecord>();
  security: SecurityRecord | undefined;
  readonly streams = new MemoryStreamData();
}

export class MemoryStore implements Store {
  readonly kind = 'memory';
  private closed = false;
  /** Open page cursors: each continues its queue's iteration where the last page stopped. */
  private readonly cursors = new Map<string, Iterator<[string, EntryState]>>();
  private nextCursor = 1;
  readonly streams: MemoryStreamStore;

  constructor(
    readonly epoch = 1,
    private readonly data = new MemoryData(),
  ) {
    this.streams = new MemoryStreamStore(epoch, data.streams, () => {
      if (this.closed) throw new ClosedError('memory store');
      if (this.epoch < this.data.epoch) throw new FencedError(this.epoch, this.data.epoch);
    });
  }

  async open(): Promise<void> {
    if (this.epoch < this.data.epoch) throw new FencedError(this.epoch, this.data.epoch);
    this.data.epoch = this.epoch;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cursors.clear();
  }

  isAvailable(): boolean {
    return !this.closed;
  }

  async ping(): Promise<void> {
    if (this.closed) throw new ClosedError('memory store');
  }

  async apply(ops: readonly StoreOp[]): Promise<void> {
    if (this.closed) throw new ClosedError('memory store');
    if (this.epoch < this.data.epoch) throw new FencedError(this.epoch, this.data.epoch);
    for (const op of ops) this.applyOne(op);
  }

  private applyOne(op: StoreOp): void {
    const d = this.data;
    switch (op.type) {
      case 'declareQueue':
        if (!d.queues.has(op.queue.name)) d.queues.set(op.queue.name, { ...op.queue });
        return;
      case 'deleteQueue': {
        const q = d.entries.get(op.queue);
        if (q) for (const id of q.keys()) this.release(id);
        d.entries.delete(op.queue);
        d.paged.delete(op.queue);
        d.pagedIds.delete(op.queue);
        d.queues.delete(op.queue);
        return;
      }
      case 'enqueue': {
        let q = d.entries.get(op.queue);
        if (!q) {
          q = new Map();
          d.entries.set(op.queue, q);
        }
        if (q.has(op.message.id)) {
          q.set(op.message.id, copyState(op.state));
          return;
        }
        q.set(op.message.id, copyState(op.state));
        if (op.paged) {
          let p = d.paged.get(op.queue);
          if (!p) {
            p = new PagedIndex();
            d.paged.set(op.queue, p);
          }
          const e = { id: op.message.id, seq: ++d.pagedSeq, priority: op.message.priority, size: op.size };
          if (op.state.deliverAt > 0) p.schedule(e, op.state.deliverAt);
          else p.add(e);
          let ids = d.pagedIds.get(op.queue);
          if (!ids) {
            ids = new Set();
            d.pagedIds.set(op.queue, ids);
          }
          ids.add(op.message.id);
        }
        const body = d.bodies.get(op.message.id);
        if (body) body.refs++;
        else d.bodies.set(op.message.id, { message: op.message, refs: 1 });
        return;
      }
      case 'update': {
        const q = d.entries.get(op.queue);
        if (q?.has(op.messageId)) q.set(op.messageId, copyState(op.state));
        return;
      }
      case 'remove': {
        const q = d.entries.get(op.queue);
        if (q?.delete(op.messageId)) {
          if (d.pagedIds.get(op.queue)?.delete(op.messageId)) d.paged.get(op.queue)?.delete(op.messageId);
          this.release(op.messageId);
        }
        return;
      }
      case 'putSubscription':
        d.subscriptions.set(op.subscription.name, { ...op.subscription });
        return;
      case 'deleteSubscription':
        d.subscriptions.delete(op.name);
        return;
      case 'putRetained':
        if (op.message === null) d.retained.delete(op.topic);
        else d.retained.set(op.topic, op.message);
        return;
      case 'putDedup': {
        d.dedup.delete(op.record.key);
        d.dedup.set(op.record.key, op.record.expiresAt);
        // Records arrive roughly in expiry order: drop a couple of expired ones from the front each time.
        const now = Date.now();
        let n = 0;
        for (const [k, until] of d.dedup) {
          if (until > now || n++ >= 2) break;
          d.dedup.delete(k);
        }
        return;
      }
      case 'putSession':
        d.sessions.set(op.session.id, structuredClone(op.session));
        return;
      case 'deleteSession':
        d.sessions.delete(op.id);
        return;
      case 'putSecurity':
        d.security = structuredClone(op.record);
        return;
    }
  }

  private release(messageId: string): void {
    const body = this.data.bodies.get(messageId);
    if (!body) return;
    if (--body.refs <= 0) this.data.bodies.delete(messageId);
  }

  async loadQueues(): Promise<QueueRecord[]> {
    const names = new Set([...this.data.queues.keys(), ...this.data.entries.keys()]);
    return [...names].map((name) => ({ ...(this.data.queues.get(name) ?? { name, createdAt: 0 }) }));
  }

  async readQueue(queue: string, cursor: string | undefined, limit: number): Promise<QueuePage> {
    const q = this.data.entries.get(queue);
    let it = cursor === undefined ? q?.entries() : this.cursors.get(cursor);
    if (cursor !== undefined) this.cursors.delete(cursor);
    const out: QueuePage = { entries: [] };
    if (!it) return out;
    while (out.entries.length < limit) {
      const next = it.next();
      if (next.done) {
        it = undefined;
        break;
      }
      const [id, state] = next.value;
      if (this.data.pagedIds.get(queue)?.has(id)) continue;
      const body = this.data.bodies.get(id);
      if (body) out.entries.push({ message: body.message, state: copyState(state) });
    }
    if (it) {
      out.cursor = String(this.nextCursor++);
      this.cursors.set(out.cursor, it);
    }
    return out;
  }

  async pageIn(queue: string, maxCount: number, maxBytes: number): Promise<StoredEntry[]> {
    if (this.closed) throw new ClosedError('memory store');
    if (this.epoch < this.data.epoch) throw new FencedError(this.epoch, this.data.epoch);
    const p = this.data.paged.get(queue);
    const states = this.data.entries.get(queue);
    const ids = this.data.pagedIds.get(queue);
    const out: StoredEntry[] = [];
    if (!p || !states || !ids) return out;
    let bytes = 0;
    while (out.length < maxCount) {
      const next = p.peek();
      if (!next || (out.length > 0 && bytes + next.size > maxBytes)) break;
      p.take();
      ids.delete(next.id);
      bytes += next.size;
      const body = this.data.bodies.get(next.id);
      const state = states.get(next.id);
      if (body && state) out.push({ message: body.message, state: copyState(state) });
    }
    return out;
  }

  async browsePaged(queue: string, cursor: string | undefined, limit: number): Promise<QueuePage> {
    const p = this.data.paged.get(queue);
    const states = this.data.entries.get(queue);
    const out: QueuePage = { entries: [] };
    if (!p || !states) return out;
    const [priority, seq] = (cursor ?? '').split(':').map(Number);
    const after = cursor === undefined ? undefined : { priority: priority as number, seq: seq as number };
    const found = p.page(after, limit);
    for (const e of found) {
      const body = this.data.bodies.get(e.id);
      const state = states.get(e.id);
      if (body && state) out.entries.push({ message: body.message, state: copyState(state) });
    }
    const last = found[found.length - 1];
    if (found.length === limit && last) out.cursor = `${last.priority}:${last.seq}`;
    return out;
  }

  async promoteDue(queue: string, now: number): Promise<Promoted> {
    if (this.closed) throw new ClosedError('memory store');
    if (this.epoch < this.data.epoch) throw new FencedError(this.epoch, this.data.epoch);
    const p = this.data.paged.get(queue);
    if (!p) return { count: 0, bytes: 0, nextDue: 0 };
    return { ...p.promote(now), nextDue: p.nextDue };
  }

  async pagedStats(queue: string): Promise<PagedStats> {
    const p = this.data.paged.get(queue);
    return {
      count: p?.count ?? 0,
      bytes: p?.bytes ?? 0,
      scheduledCount: p?.scheduledCount ?? 0,
      scheduledBytes: p?.scheduledBytes ?? 0,
      nextDue: p?.nextDue ?? 0,
    };
  }

  async loadSubscriptions(): Promise<SubscriptionRecord[]> {
    return [...this.data.subscriptions.values()].map((s) => ({ ...s }));
  }

  async loadRetained(): Promise<Message[]> {
    return [...this.data.retained.values()];
  }

  async loadDedup(now: number): Promise<DedupRecord[]> {
    const out: DedupRecord[] = [];
    for (const [key, expiresAt] of this.data.dedup) {
      if (expiresAt > now) out.push({ key, expiresAt });
      else this.data.dedup.delete(key);
    }
    return out;
  }

  async loadSecurity(): Promise<SecurityRecord | undefined> {
    return this.data.security && structuredClone(this.data.security);
  }

  async getSession(id: string): Promise<SessionRecord | undefined> {
    const s = this.data.sessions.get(id);
    return s && structuredClone(s);
  }

  async listSessions(prefix: string): Promise<SessionRecord[]> {
    const out: SessionRecord[] = [];
    for (const [id, s] of this.data.sessions) if (id.startsWith(prefix)) out.push(structuredClone(s));
    return out;
  }

  async stats(): Promise<StoreStats> {
    let entries = 0;
    for (const q of this.data.entries.values()) entries += q.size;
    return { messages: this.data.bodies.size, entries, sessions: this.data.sessions.size };
  }
}

function copyState(s: EntryState): EntryState {
  const c: EntryState = { deliveryCount: s.deliveryCount, deliverAt: s.deliverAt, delivered: s.delivered };
  if (s.annotations) c.annotations = { ...s.annotations };
  return c;
}
