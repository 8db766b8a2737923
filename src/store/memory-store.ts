// The memory store: the embedded default and the reference implementation of the Store contract.
// It keeps nothing across process restarts. Several handles may share one MemoryData (as several
// broker processes share one Redis), which is how the contract suite exercises fencing and
// recovery without a server.
import { ClosedError, FencedError } from '../core/errors.ts';
import { MAX_PRIORITY, messageSize, type Message } from '../core/message.ts';
import type {
  DedupRecord,
  EntryState,
  PagedStats,
  Promoted,
  QueuePage,
  QueueRecord,
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

interface PagedEntry {
  id: string;
  seq: number;
  priority: number;
  size: number;
}

interface Scheduled extends PagedEntry {
  due: number;
}

/** Paged-out entries of one priority in insertion order (a sorted array read from `head`). */
class Lane {
  items: PagedEntry[] = [];
  head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  insert(e: PagedEntry): void {
    let lo = this.head;
    let hi = this.items.length;
    if (hi === lo || (this.items[hi - 1] as PagedEntry).seq < e.seq) {
      this.items.push(e);
      return;
    }
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.items[mid] as PagedEntry).seq < e.seq) lo = mid + 1;
      else hi = mid;
    }
    this.items.splice(lo, 0, e);
  }

  peek(): PagedEntry | undefined {
    return this.items[this.head];
  }

  shift(): void {
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  remove(id: string): PagedEntry | undefined {
    for (let i = this.head; i < this.items.length; i++) {
      const e = this.items[i] as PagedEntry;
      if (e.id === id) {
        this.items.splice(i, 1);
        return e;
      }
    }
    return undefined;
  }
}

/**
 * A queue's paged-out entries: the due ones in one insertion-ordered lane per priority, the
 * scheduled ones in a list sorted by due time.
 */
class PagedOut {
  readonly byPriority: Lane[] = Array.from({ length: MAX_PRIORITY + 1 }, () => new Lane());
  readonly scheduled: Scheduled[] = [];
  count = 0;
  bytes = 0;
  scheduledBytes = 0;

  add(e: PagedEntry): void {
    (this.byPriority[e.priority] as Lane).insert(e);
    this.count++;
    this.bytes += e.size;
  }

  schedule(s: Scheduled): void {
    let lo = 0;
    let hi = this.scheduled.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.scheduled[mid] as Scheduled).due <= s.due) lo = mid + 1;
      else hi = mid;
    }
    this.scheduled.splice(lo, 0, s);
    this.scheduledBytes += s.size;
  }

  /** The next entry in dispatch order (highest priority first), taken out. */
  take(): PagedEntry | undefined {
    for (let p = MAX_PRIORITY; p >= 0; p--) {
      const lane = this.byPriority[p] as Lane;
      const e = lane.peek();
      if (!e) continue;
      lane.shift();
      this.count--;
      this.bytes -= e.size;
      return e;
    }
    return undefined;
  }

  peek(): PagedEntry | undefined {
    for (let p = MAX_PRIORITY; p >= 0; p--) {
      const e = (this.byPriority[p] as Lane).peek();
      if (e) return e;
    }
    return undefined;
  }

  /** Moves the scheduled entries due at `now` to the due ones. */
  promote(now: number): { count: number; bytes: number } {
    let n = 0;
    let bytes = 0;
    while (n < this.scheduled.length && (this.scheduled[n] as Scheduled).due <= now) {
      const s = this.scheduled[n++] as Scheduled;
      this.add({ id: s.id, seq: s.seq, priority: s.priority, size: s.size });
      bytes += s.size;
    }
    this.scheduled.splice(0, n);
    this.scheduledBytes -= bytes;
    return { count: n, bytes };
  }

  delete(id: string): boolean {
    for (const lane of this.byPriority) {
      const e = lane.remove(id);
      if (!e) continue;
      this.count--;
      this.bytes -= e.size;
      return true;
    }
    const i = this.scheduled.findIndex((s) => s.id === id);
    if (i < 0) return false;
    this.scheduledBytes -= (this.scheduled[i] as Scheduled).size;
    this.scheduled.splice(i, 1);
    return true;
  }
}

export class MemoryData {
  epoch = 0;
  readonly queues = new Map<string, QueueRecord>();
  /** Per queue: message id -> state, in insertion order (Map keeps it). */
  readonly entries = new Map<string, Map<string, EntryState>>();
  readonly paged = new Map<string, PagedOut>();
  /** Insertion sequence of paged-out entries (orders them within a priority). */
  pagedSeq = 0;
  /** Per queue: ids paged out (due or scheduled), for `readQueue` to skip. */
  readonly pagedIds = new Map<string, Set<string>>();
  readonly bodies = new Map<string, Body>();
  readonly subscriptions = new Map<string, SubscriptionRecord>();
  readonly retained = new Map<string, Message>();
  readonly dedup = new Map<string, number>();
  readonly sessions = new Map<string, SessionRecord>();
}

export class MemoryStore implements Store {
  readonly kind = 'memory';
  private closed = false;
  /** Open page cursors: each continues its queue's iteration where the last page stopped. */
  private readonly cursors = new Map<string, Iterator<[string, EntryState]>>();
  private nextCursor = 1;

  constructor(
    readonly epoch = 1,
    private readonly data = new MemoryData(),
  ) {}

  async open(): Promise<void> {
    if (this.epoch < this.data.epoch) throw new FencedError(this.epoch, this.data.epoch);
    this.data.epoch = this.epoch;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cursors.clear();
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
            p = new PagedOut();
            d.paged.set(op.queue, p);
          }
          const e = { id: op.message.id, seq: ++d.pagedSeq, priority: op.message.priority, size: messageSize(op.message) };
          if (op.state.deliverAt > 0) p.schedule({ ...e, due: op.state.deliverAt });
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

  async promoteDue(queue: string, now: number): Promise<Promoted> {
    if (this.closed) throw new ClosedError('memory store');
    if (this.epoch < this.data.epoch) throw new FencedError(this.epoch, this.data.epoch);
    const p = this.data.paged.get(queue);
    if (!p) return { count: 0, bytes: 0, nextDue: 0 };
    return { ...p.promote(now), nextDue: p.scheduled[0]?.due ?? 0 };
  }

  async pagedStats(queue: string): Promise<PagedStats> {
    const p = this.data.paged.get(queue);
    return {
      count: p?.count ?? 0,
      bytes: p?.bytes ?? 0,
      scheduledCount: p?.scheduled.length ?? 0,
      scheduledBytes: p?.scheduledBytes ?? 0,
      nextDue: p?.scheduled[0]?.due ?? 0,
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
    return { messages: this.data.bodies.size, entries };
  }
}

function copyState(s: EntryState): EntryState {
  const c: EntryState = { deliveryCount: s.deliveryCount, deliverAt: s.deliverAt, delivered: s.delivered };
  if (s.annotations) c.annotations = { ...s.annotations };
  return c;
}
