// The Redis store's streams: one Redis Stream per shard (XADD with Redis's own ids, XRANGE to read,
// XTRIM MINID for retention), fenced by the shard's own epoch key beside it; descriptions and
// named consumers' positions in the cluster's slot, fenced as every store write. A record is one
// field: `r`, the partition key's length (2 bytes), the key and the data; with security.encryption,
// `s`, the same sealed for its stream and shard. (One field, not two: a read's reply has half the
// elements to decode, which is most of what reading costs the broker.)
import { StreamShardMissingError } from '../../shared/errors.ts';
import type { Sealer } from '../sealer.ts';
import type { AppendRecord, ConsumerPositions, ShardStats, StreamEntry, StreamRecord, StreamStore } from '../stream-store.ts';
import type { RedisClient } from './connect.ts';
import type { Keys } from './keys.ts';
import type { ScriptCall, ScriptName } from './scripts.ts';

function pack(key: string, data: Buffer): Buffer {
  const k = Buffer.from(key, 'utf8');
  const b = Buffer.allocUnsafe(2 + k.length + data.length);
  b.writeUInt16BE(k.length, 0);
  k.copy(b, 2);
  data.copy(b, 2 + k.length);
  return b;
}

function unpack(b: Buffer): { key: string; data: Buffer } {
  const n = b.readUInt16BE(0);
  return { key: b.toString('utf8', 2, 2 + n), data: b.subarray(2 + n) };
}

/** What the stream store borrows from its RedisStore: the connection, the keys, the epoch and the call discipline. */
export interface RedisStreamHost {
  redis: RedisClient;
  keys: Keys;
  epoch: number;
  sealer: Sealer | undefined;
  scripts: Record<ScriptName, ScriptCall>;
  /** Runs a command, classifying its failure (FencedError, StoreUnavailableError). */
  call<T>(f: () => Promise<T>): Promise<T>;
  /** Throws FencedError when this broker's lease may have lapsed. */
  checkLease(): void;
}

type RawEntry = [Buffer, Buffer[]];

export class RedisStreamStore implements StreamStore {
  constructor(private readonly h: RedisStreamHost) {}

  async loadStreams(): Promise<StreamRecord[]> {
    const all = await this.h.call(() => this.h.redis.hvals(this.h.keys.streams));
    return all.map((v) => JSON.parse(v) as StreamRecord);
  }

  async putStream(stream: StreamRecord): Promise<void> {
    this.h.checkLease();
    const k = this.h.keys;
    await this.h.call(() => this.s.streamPut(k.epoch, k.streams, this.h.epoch, stream.name, JSON.stringify(stream)));
  }

  async deleteStream(stream: StreamRecord): Promise<void> {
    this.h.checkLease();
    const k = this.h.keys;
    await this.h.call(() => this.s.streamDelete(k.epoch, k.streams, k.streamPositions(stream.name), this.h.epoch, stream.name));
    for (const shard of stream.shards) {
      await this.h.call(() => this.s.streamDrop(k.shardEpoch(stream.name, shard.id), k.shardLog(stream.name, shard.id), this.h.epoch));
    }
  }

  async claimShards(stream: string, shards: readonly string[]): Promise<void> {
    this.h.checkLease();
    const k = this.h.keys;
    await Promise.all(shards.map((id) => this.h.call(() => this.s.streamClaim(k.shardEpoch(stream, id), this.h.epoch))));
  }

  async append(stream: string, shard: string, records: readonly AppendRecord[]): Promise<string[]> {
    this.h.checkLease();
    const k = this.h.keys;
    const sealer = this.h.sealer;
    const parts: Buffer[] = [];
    for (const r of records) {
      const packed = pack(r.key, r.data);
      const value = sealer ? sealer.seal(packed, shardContext(stream, shard)) : packed;
      const length = Buffer.allocUnsafe(4);
      length.writeUInt32BE(value.length, 0);
      parts.push(length, value);
    }
    const argv: Array<string | number | Buffer> = [this.h.epoch, sealer ? 's' : 'r', Buffer.concat(parts)];
    try {
      const ids = (await this.h.call(() => this.s.streamAppend(k.shardEpoch(stream, shard), k.shardLog(stream, shard), argv))) as string[];
      return ids.map(String);
    } catch (err) {
      throw missing(err, stream, shard);
    }
  }

  async read(stream: string, shard: string, from: string, inclusive: boolean, limit: number): Promise<StreamEntry[]> {
    const key = this.h.keys.shardLog(stream, shard);
    const raw = (await this.h.call(() =>
      this.h.redis.xrangeBuffer(key, inclusive ? from : `(${from}`, '+', 'COUNT', limit),
    )) as unknown as RawEntry[];
    return raw.map((e) => this.entry(stream, shard, e));
  }

  async last(stream: string, shard: string): Promise<StreamEntry | undefined> {
    const key = this.h.keys.shardLog(stream, shard);
    const raw = (await this.h.call(() => this.h.redis.xrevrangeBuffer(key, '+', '-', 'COUNT', 1))) as unknown as RawEntry[];
    return raw[0] ? this.entry(stream, shard, raw[0]) : undefined;
  }

  async trim(stream: string, shard: string, beforeMs: number): Promise<number> {
    this.h.checkLease();
    const k = this.h.keys;
    try {
      return Number(
        await this.h.call(() => this.s.streamTrim(k.shardEpoch(stream, shard), k.shardLog(stream, shard), this.h.epoch, `${beforeMs}-0`)),
      );
    } catch (err) {
      throw missing(err, stream, shard);
    }
  }

  async shardStats(stream: string, shard: string): Promise<ShardStats> {
    const key = this.h.keys.shardLog(stream, shard);
    const [records, first, last] = await this.h.call(() =>
      Promise.all([
        this.h.redis.xlen(key),
        this.h.redis.xrange(key, '-', '+', 'COUNT', 1),
        this.h.redis.xrevrange(key, '+', '-', 'COUNT', 1),
      ]),
    );
    const f = first[0]?.[0];
    const l = last[0]?.[0];
    return { records, ...(f !== undefined ? { first: f } : {}), ...(l !== undefined ? { last: l } : {}) };
  }

  async putPositions(stream: string, consumer: string, positions: ConsumerPositions): Promise<void> {
    this.h.checkLease();
    const k = this.h.keys;
    await this.h.call(() => this.s.streamPositions(k.epoch, k.streamPositions(stream), this.h.epoch, consumer, JSON.stringify(positions)));
  }

  async loadPositions(stream: string): Promise<Record<string, ConsumerPositions>> {
    const all = await this.h.call(() => this.h.redis.hgetall(this.h.keys.streamPositions(stream)));
    return Object.fromEntries(Object.entries(all).map(([c, v]) => [c, JSON.parse(v) as ConsumerPositions]));
  }

  private get s(): Record<ScriptName, ScriptCall> {
    return this.h.scripts;
  }

  private entry(stream: string, shard: string, [rawId, fields]: RawEntry): StreamEntry {
    return this.record(stream, shard, rawId.toString(), fields[0]?.toString() ?? 'r', fields[1] ?? Buffer.alloc(2));
  }

  private record(stream: string, shard: string, id: string, name: string, value: Buffer): StreamEntry {
    const at = Number(id.slice(0, id.indexOf('-')));
    if (name === 's') {
      if (!this.h.sealer) throw new Error(`Record ${id} of ${stream}/${shard} is sealed, and security.encryption gives no keys`);
      return { id, at, ...unpack(this.h.sealer.open(value, shardContext(stream, shard)).plain) };
    }
    return { id, at, ...unpack(value) };
  }
}

function shardContext(stream: string, shard: string): string {
  return `stream\n${stream}\n${shard}`;
}

function missing(err: unknown, stream: string, shard: string): unknown {
  return err instanceof Error && /^NOSHARD/.test(err.message) ? new StreamShardMissingError(stream, shard) : err;
}
