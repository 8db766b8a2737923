// The memory store's streams: the reference implementation of the StreamStore contract. Shards are
// arrays in arrival order (ids never go back, as Redis Streams' do); like the rest of the memory
// store, several handles share one MemoryStreamData, and each shard keeps the epoch that last
// claimed it, so fencing behaves as on Redis.
import { FencedError, StreamShardMissingError } from '../shared/errors.ts';
import {
  compareEntryIds,
  type AppendRecord,
  type ConsumerPositions,
  type ShardStats,
  type StreamEntry,
  type StreamRecord,
  type StreamStore,
} from './stream-store.ts';

interface ShardLog {
  epoch: number;
  entries: StreamEntry[];
  lastMs: number;
  lastN: number;
}

export class MemoryStreamData {
  readonly streams = new Map<string, StreamRecord>();
  readonly shards = new Map<string, ShardLog>();
  readonly positions = new Map<string, Map<string, ConsumerPositions>>();
}

const shardKey = (stream: string, shard: string): string => `${stream}\u0000${shard}`;

export class MemoryStreamStore implements StreamStore {
  constructor(
    private readonly epoch: number,
    private readonly data: MemoryStreamData,
    /** The store's own epoch and open state (descriptions are fenced as its batches are). */
    private readonly check: () => void,
  ) {}

  async loadStreams(): Promise<StreamRecord[]> {
    return [...this.data.streams.values()].map((s) => structuredClone(s));
  }

  async putStream(stream: StreamRecord): Promise<void> {
    this.check();
    this.data.streams.set(stream.name, structuredClone(stream));
  }

  async deleteStream(stream: StreamRecord): Promise<void> {
    this.check();
    this.data.streams.delete(stream.name);
    for (const s of stream.shards) this.data.shards.delete(shardKey(stream.name, s.id));
    this.data.positions.delete(stream.name);
  }

  async claimShards(stream: string, shards: readonly string[]): Promise<void> {
    this.check();
    for (const id of shards) {
      const k = shardKey(stream, id);
      const log = this.data.shards.get(k);
      if (!log) this.data.shards.set(k, { epoch: this.epoch, entries: [], lastMs: 0, lastN: -1 });
      else if (log.epoch > this.epoch) throw new FencedError(this.epoch, log.epoch);
      else log.epoch = this.epoch;
    }
  }

  private shard(stream: string, shard: string, write: boolean): ShardLog | undefined {
    const log = this.data.shards.get(shardKey(stream, shard));
    if (write) {
      if (!log) throw new StreamShardMissingError(stream, shard);
      if (log.epoch > this.epoch) throw new FencedError(this.epoch, log.epoch);
    }
    return log;
  }

  async append(stream: string, shard: string, records: readonly AppendRecord[]): Promise<string[]> {
    const log = this.shard(stream, shard, true) as ShardLog;
    const ids: string[] = [];
    const now = Date.now();
    for (const r of records) {
      if (now > log.lastMs) {
        log.lastMs = now;
        log.lastN = 0;
      } else log.lastN++;
      const id = `${log.lastMs}-${log.lastN}`;
      log.entries.push({ id, at: log.lastMs, key: r.key, data: Buffer.from(r.data) });
      ids.push(id);
    }
    return ids;
  }

  async read(stream: string, shard: string, from: string, inclusive: boolean, limit: number): Promise<StreamEntry[]> {
    const log = this.shard(stream, shard, false);
    if (!log) return [];
    const start = firstIndex(log.entries, from, inclusive);
    return log.entries.slice(start, start + limit).map(copy);
  }

  async last(stream: string, shard: string): Promise<StreamEntry | undefined> {
    const e = this.shard(stream, shard, false)?.entries.at(-1);
    return e ? copy(e) : undefined;
  }

  async trim(stream: string, shard: string, beforeMs: number): Promise<number> {
    const log = this.shard(stream, shard, true) as ShardLog;
    const keep = firstIndex(log.entries, `${beforeMs}-0`, true);
    log.entries.splice(0, keep);
    return keep;
  }

  async shardStats(stream: string, shard: string): Promise<ShardStats> {
    const e = this.shard(stream, shard, false)?.entries ?? [];
    const first = e[0]?.id;
    const last = e.at(-1)?.id;
    return { records: e.length, ...(first !== undefined ? { first } : {}), ...(last !== undefined ? { last } : {}) };
  }

  async putPositions(stream: string, consumer: string, positions: ConsumerPositions): Promise<void> {
    this.check();
    let all = this.data.positions.get(stream);
    if (!all) {
      all = new Map();
      this.data.positions.set(stream, all);
    }
    all.set(consumer, { ...all.get(consumer), ...positions });
  }

  async loadPositions(stream: string): Promise<Record<string, ConsumerPositions>> {
    return Object.fromEntries(
      [...(this.data.positions.get(stream) ?? new Map<string, ConsumerPositions>())].map(([k, v]) => [k, { ...v }]),
    );
  }
}

/** The index of the first entry at or after `from` (after, when not inclusive). */
function firstIndex(entries: readonly StreamEntry[], from: string, inclusive: boolean): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const c = compareEntryIds((entries[mid] as StreamEntry).id, from);
    if (c < 0 || (c === 0 && !inclusive)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function copy(e: StreamEntry): StreamEntry {
  return { ...e, data: Buffer.from(e.data) };
}
