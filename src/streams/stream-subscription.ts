// A protocol consumer of a stream (STOMP, AMQP), RabbitMQ streams' way: it attaches at an offset
// (first, last, next, a numeric offset, a timestamp) and reads every shard, a parent to its end
// before its children (so each key keeps its order across a reshard), into a bounded read-ahead.
// It hosts a core Consumer, so the adapters' credit, prefetch, acknowledgement and drain work as
// for a queue; acknowledging only moves the reader on (nothing leaves a stream), and a named
// consumer's positions are stored on the broker, so it resumes where it left off.
import type { Logger } from 'pino';
import { Consumer, type ConsumerHost, type ConsumerOptions, type Delivery, type ReleaseOptions } from '../core/consumer.ts';
import type { Message } from '../core/message.ts';
import type { StoreOp } from '../store/store.ts';
import type { ConsumerPositions, ShardRecord, StreamEntry, StreamRecord } from '../store/stream-store.ts';
import { streamOffsetOf, type OffsetSpec } from './offsets.ts';
import { sequenceNumberOf, shardNumberOf } from './sequence-numbers.ts';

const READ_BATCH = 200;
const MAX_READ_AHEAD = 1000;
const POSITION_FLUSH_MS = 1000;
/** A reader caught up waits for an append; this bounds the wait should a notice be missed. */
const IDLE_POLL_MS = 1000;

export const STREAM_OFFSET_PROPERTY = 'x-stream-offset';
export const STREAM_SHARD_PROPERTY = 'x-stream-shard';
export const PARTITION_KEY_PROPERTY = 'x-stream-partition-key';
export const SEQUENCE_NUMBER_PROPERTY = 'x-stream-sequence-number';

interface Cursor {
  from: string;
  inclusive: boolean;
  done: boolean;
}

interface Pending {
  shard: string;
  entry: StreamEntry;
  redelivered: boolean;
}

/** Per shard: ids delivered in order, with whether each is settled; the position is the last of a settled run from the start. */
interface Track {
  ids: string[];
  settled: Set<string>;
}

/** What a subscription reads through (the Streams of the active broker). */
export interface StreamSource {
  has(name: string): boolean;
  get(name: string): StreamRecord;
  read(name: string, shard: string, from: string, inclusive: boolean, limit: number): Promise<StreamEntry[]>;
  last(name: string, shard: string): Promise<StreamEntry | undefined>;
  positions(name: string): Promise<Record<string, ConsumerPositions>>;
  putPositions(name: string, consumer: string, positions: ConsumerPositions): Promise<void>;
  onChange(name: string, listener: () => void): () => void;
  /** Counts records handed to a reader (the stream's outgoing records and bytes, its iterator age). */
  noteRead(name: string, shard: string, entries: readonly StreamEntry[]): void;
}

export interface StreamSubscribeOptions extends ConsumerOptions {
  offset: OffsetSpec;
  /** A named consumer: its positions are stored, and it resumes from them (the offset applies only the first time). */
  consumerName?: string;
}

export class StreamSubscription implements ConsumerHost {
  readonly consumer: Consumer;
  private readonly cursors = new Map<string, Cursor>();
  private readonly pending: Pending[] = [];
  private readonly tracks = new Map<string, Track>();
  private readonly positions: ConsumerPositions = {};
  private dirty = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private reading = false;
  /** A fill was asked for while one was reading. */
  private again = false;
  private closed = false;
  private readonly unwatch: () => void;
  private readonly readAhead: number;

  constructor(
    private readonly streams: StreamSource,
    readonly name: string,
    private readonly opts: StreamSubscribeOptions,
    private readonly log: Logger,
  ) {
    this.consumer = new Consumer(this, opts);
    this.readAhead = Math.min(MAX_READ_AHEAD, Math.max(READ_BATCH, opts.prefetch ?? READ_BATCH));
    this.unwatch = streams.onChange(name, () => this.wake());
  }

  /** Places the cursors (from stored positions, else the offset) and starts reading. */
  async start(): Promise<void> {
    const record = this.streams.get(this.name);
    const stored = this.opts.consumerName !== undefined ? (await this.streams.positions(this.name))[this.opts.consumerName] : undefined;
    const shards = record.shards;
    const byId = new Map(shards.map((s) => [s.id, s]));
    const place = (s: ShardRecord, from: string, inclusive: boolean): void => {
      this.cursors.set(s.id, { from, inclusive, done: false });
      // Its ancestors are behind the position: not read.
      const stack = [s.parent, s.adjacentParent];
      while (stack.length > 0) {
        const p = stack.pop();
        if (p === undefined || this.cursors.has(p)) continue;
        this.cursors.set(p, { from: '0-0', inclusive: true, done: true });
        const ps = byId.get(p);
        if (ps) stack.push(ps.parent, ps.adjacentParent);
      }
    };
    if (stored && Object.keys(stored).length > 0) {
      for (const [id, pos] of Object.entries(stored)) {
        const s = byId.get(id);
        if (s) place(s, pos, false);
        this.positions[id] = pos;
      }
      const spec = this.opts.offset;
      for (const s of shards) if (!this.cursors.has(s.id) && this.isRoot(s, byId)) this.cursors.set(s.id, this.startOf(spec));
    } else {
      const spec = this.opts.offset;
      if (spec.kind === 'next' || spec.kind === 'last') {
        for (const s of shards.filter((x) => x.closedAt === undefined)) {
          const last = await this.streams.last(this.name, s.id);
          place(s, last?.id ?? '0-0', spec.kind === 'last' || last === undefined);
        }
      } else {
        for (const s of shards) if (this.isRoot(s, byId)) this.cursors.set(s.id, this.startOf(spec));
      }
    }
    void this.fill();
  }

  // ---- ConsumerHost ----------------------------------------------------------------------------

  removal(): StoreOp | undefined {
    return undefined;
  }

  ack(c: Consumer, tag: number): void {
    this.settled(c, tag);
    this.dispatch();
  }

  /** A stream keeps its records: a rejected one is passed over, as an acknowledged one. */
  reject(c: Consumer, tag: number): void {
    this.settled(c, tag);
    this.dispatch();
  }

  release(c: Consumer, tag: number, _opts: ReleaseOptions): void {
    const p = c.inflight.get(tag) as Pending | undefined;
    if (!p) return;
    c.inflight.delete(tag);
    this.pending.unshift({ ...p, redelivered: true });
    this.dispatch();
  }

  detach(c: Consumer): void {
    if (this.closed) return;
    this.closed = true;
    c.inflight.clear();
    this.pending.length = 0;
    this.unwatch();
    clearTimeout(this.idleTimer);
    clearTimeout(this.flushTimer);
    void this.flush();
  }

  dispatch(): void {
    const c = this.consumer;
    while (!this.closed && this.pending.length > 0 && c.available() > 0) {
      const p = this.pending.shift() as Pending;
      const tag = c.nextTag++;
      c.inflight.set(tag, p);
      if (c.creditMode === 'explicit') c.credit--;
      let track = this.tracks.get(p.shard);
      if (!track) {
        track = { ids: [], settled: new Set() };
        this.tracks.set(p.shard, track);
      }
      if (!p.redelivered) {
        track.ids.push(p.entry.id);
        this.streams.noteRead(this.name, p.shard, [p.entry]);
      }
      c.deliver(this.delivery(tag, p));
    }
    if (this.pending.length < this.readAhead / 2) void this.fill();
  }

  // ---- reading ---------------------------------------------------------------------------------

  private wake(): void {
    if (this.closed) return;
    if (!this.streams.has(this.name)) {
      this.closed = true;
      this.unwatch();
      this.consumer.endedByBroker(`stream ${this.name} was deleted`);
      return;
    }
    void this.fill();
  }

  private async fill(): Promise<void> {
    if (this.closed) return;
    if (this.reading) {
      // Records may have come after this read looked: it reads once more.
      this.again = true;
      return;
    }
    this.reading = true;
    this.again = false;
    clearTimeout(this.idleTimer);
    try {
      let got = 0;
      while (!this.closed && this.pending.length < this.readAhead && this.streams.has(this.name)) {
        this.startChildren();
        const active = [...this.cursors].filter(([, c]) => !c.done);
        let pass = 0;
        for (const [shard, cur] of active) {
          const entries = await this.streams.read(this.name, shard, cur.from, cur.inclusive, READ_BATCH);
          for (const entry of entries) this.pending.push({ shard, entry, redelivered: false });
          const last = entries.at(-1);
          if (last) {
            cur.from = last.id;
            cur.inclusive = false;
          } else if (this.shardOf(shard)?.closedAt !== undefined || this.shardOf(shard) === undefined) cur.done = true;
          pass += entries.length;
        }
        got += pass;
        if (pass > 0) this.dispatch();
        else if (!active.some(([s]) => this.cursors.get(s)?.done)) break;
      }
      if (got === 0 && !this.closed && !this.again) this.idleTimer = setTimeout(() => void this.fill(), IDLE_POLL_MS);
    } catch (err) {
      this.log.warn({ err, stream: this.name }, 'stream consumer: read failed; retrying');
      if (!this.closed) this.idleTimer = setTimeout(() => void this.fill(), IDLE_POLL_MS);
    } finally {
      this.reading = false;
    }
    if (this.again) void this.fill();
  }

  /** Shards whose parents are read to their end start from their first record. */
  private startChildren(): void {
    if (!this.streams.has(this.name)) return;
    for (const s of this.streams.get(this.name).shards) {
      if (this.cursors.has(s.id)) continue;
      const parents = [s.parent, s.adjacentParent].filter((p): p is string => p !== undefined);
      if (parents.length > 0 && parents.every((p) => this.cursors.get(p)?.done === true))
        this.cursors.set(s.id, this.startOf(this.opts.offset));
    }
  }

  private startOf(spec: OffsetSpec): Cursor {
    switch (spec.kind) {
      case 'at':
        return { from: spec.entryId, inclusive: true, done: false };
      case 'timestamp':
        return { from: `${spec.ms}-0`, inclusive: true, done: false };
      default:
        return { from: '0-0', inclusive: true, done: false };
    }
  }

  private isRoot(s: ShardRecord, byId: Map<string, ShardRecord>): boolean {
    return (s.parent === undefined || !byId.has(s.parent)) && (s.adjacentParent === undefined || !byId.has(s.adjacentParent));
  }

  private shardOf(id: string): ShardRecord | undefined {
    return this.streams.has(this.name) ? this.streams.get(this.name).shards.find((s) => s.id === id) : undefined;
  }

  // ---- positions -------------------------------------------------------------------------------

  private settled(c: Consumer, tag: number): void {
    const p = c.inflight.get(tag) as Pending | undefined;
    if (!p) return;
    c.inflight.delete(tag);
    const track = this.tracks.get(p.shard);
    if (!track) return;
    track.settled.add(p.entry.id);
    let moved = false;
    while (track.ids.length > 0 && track.settled.has(track.ids[0] as string)) {
      const id = track.ids.shift() as string;
      track.settled.delete(id);
      this.positions[p.shard] = id;
      moved = true;
    }
    if (moved && this.opts.consumerName !== undefined) {
      this.dirty = true;
      this.flushTimer ??= setTimeout(() => {
        this.flushTimer = undefined;
        void this.flush();
      }, POSITION_FLUSH_MS);
    }
  }

  private async flush(): Promise<void> {
    if (!this.dirty || this.opts.consumerName === undefined || !this.streams.has(this.name)) return;
    this.dirty = false;
    try {
      await this.streams.putPositions(this.name, this.opts.consumerName, { ...this.positions });
    } catch (err) {
      this.dirty = true;
      this.log.warn({ err, stream: this.name, consumer: this.opts.consumerName }, 'stream consumer: its position was not stored');
    }
  }

  private delivery(tag: number, p: Pending): Delivery {
    const n = shardNumberOf(p.shard);
    const message: Message = {
      id: `${this.name}/${p.shard}/${p.entry.id}`,
      destination: { kind: 'queue', name: this.name },
      body: p.entry.data,
      properties: {
        [STREAM_OFFSET_PROPERTY]: streamOffsetOf(p.entry.id),
        [STREAM_SHARD_PROPERTY]: p.shard,
        [PARTITION_KEY_PROPERTY]: p.entry.key,
        [SEQUENCE_NUMBER_PROPERTY]: sequenceNumberOf(p.entry.id, n),
      },
      priority: 4,
      persistent: true,
      expiresAt: 0,
      deliverAt: 0,
      timestamp: p.entry.at,
    };
    return {
      tag,
      consumerId: this.consumer.id,
      queue: this.name,
      message,
      deliveryCount: p.redelivered ? 1 : 0,
      redelivered: p.redelivered,
      firstAcquirer: !p.redelivered,
      annotations: undefined,
    };
  }
}
