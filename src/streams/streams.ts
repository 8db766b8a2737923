// The streams of the active broker: ordered, replayable logs split into shards by partition key
// (Kinesis's model), kept in the store (src/store/stream-store.ts) and read from any position by any
// number of readers. This class owns their descriptions (made here, there after a restart or a
// takeover), routes records to shards, reshards (split, merge, a target count) keeping each key's
// order for readers that finish a parent before its children, enforces retention and PROVISIONED
// limits, and tells readers when records arrive. Records live only in the store: a stream of ten
// million records costs the broker no more memory than one of ten.
import type { Logger } from 'pino';
import { FencedError, JunctionError } from '../shared/errors.ts';
import type {
  ConsumerPositions,
  ShardRecord,
  ShardStats,
  StreamEntry,
  StreamMode,
  StreamRecord,
  StreamStore,
} from '../store/stream-store.ts';
import type { Consumer } from '../core/consumer.ts';
import type { Authorizer, ClientContext, Permission } from '../core/principal.ts';
import type { StreamsSettings } from './config.ts';
import { StreamSubscription, type StreamSubscribeOptions } from './stream-subscription.ts';
import { evenRanges, hashKeyOf, inRange, rangeSize } from './hash-keys.ts';
import { sequenceNumberOf, shardIdOf, shardNumberOf } from './sequence-numbers.ts';
import { StreamArgumentError, StreamInUseError, StreamLimitError, StreamNotFoundError, ThroughputExceededError } from './stream-errors.ts';
import { RateWindow, type ShardRates } from './throughput.ts';

export type { ShardRecord, StreamEntry, StreamMode, StreamRecord } from '../store/stream-store.ts';
export { compareEntryIds } from '../store/stream-store.ts';

export const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;
export const MIN_RETENTION_HOURS = 24;
export const MAX_RETENTION_HOURS = 8760;
/** Shards an ON_DEMAND stream starts with (Kinesis's figure). */
export const ON_DEMAND_SHARDS = 4;
export const MAX_RECORD_BYTES = 1024 * 1024;
/** Kinesis's bound on a stream's registered consumers. */
export const MAX_REGISTERED_CONSUMERS = 20;

export interface PutInput {
  key: string;
  /** Routes the record by this hash key instead of the partition key's. */
  explicitHashKey?: bigint;
  data: Buffer;
}

export type PutResult = { shardId: string; sequenceNumber: string; entryId: string } | { error: JunctionError };

export interface StreamCounters {
  incomingRecords: number;
  incomingBytes: number;
  outgoingRecords: number;
  outgoingBytes: number;
  /** The age of the last record GetRecords returned, when it returned any (Kinesis's IteratorAgeMilliseconds). */
  iteratorAgeMs: number;
  throttled: number;
}

export interface ShardView extends ShardRecord {
  stats: ShardStats;
}

export interface StreamView {
  record: StreamRecord;
  shards: ShardView[];
  counters: StreamCounters;
  consumers: Record<string, ConsumerPositions>;
}

export interface StreamsOptions {
  store: StreamStore;
  log: Logger;
  settings: StreamsSettings;
  /** Who may read and write a stream (authorized as queue `stream.<name>`); absent, anyone. */
  authorizer?: Authorizer;
  now?: () => number;
}

interface StreamState {
  record: StreamRecord;
  rates: Map<string, ShardRates>;
  /** Appends under way: a reshard waits for them before it closes a shard. */
  inFlight: Set<Promise<unknown>>;
  /** A reshard or a change under way: puts wait for it, changes queue behind it. */
  gate: Promise<void>;
  counters: StreamCounters;
  deleted: boolean;
}

export class Streams {
  private readonly streams = new Map<string, StreamState>();
  private readonly listeners = new Map<string, Set<() => void>>();
  private readonly making = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;
  private readonly now: () => number;

  constructor(private readonly o: StreamsOptions) {
    this.now = o.now ?? Date.now;
  }

  get settings(): StreamsSettings {
    return this.o.settings;
  }

  async start(): Promise<void> {
    for (const record of await this.o.store.loadStreams()) {
      await this.o.store.claimShards(
        record.name,
        record.shards.map((s) => s.id),
      );
      this.streams.set(record.name, this.state(record));
    }
    this.timer = setInterval(() => void this.sweep(), this.o.settings.retentionCheckMs);
    this.timer.unref();
    if (this.streams.size > 0) this.o.log.info({ streams: this.streams.size }, 'streams loaded');
  }

  close(): void {
    clearInterval(this.timer);
    for (const set of this.listeners.values()) for (const l of set) l();
    this.listeners.clear();
  }

  list(): StreamRecord[] {
    return [...this.streams.values()].map((s) => s.record).sort((a, b) => a.name.localeCompare(b.name));
  }

  has(name: string): boolean {
    return this.streams.has(name);
  }

  get(name: string): StreamRecord {
    return this.stateOf(name).record;
  }

  counters(name: string): StreamCounters {
    return this.stateOf(name).counters;
  }

  shard(name: string, shardId: string): ShardRecord {
    const s = this.get(name).shards.find((x) => x.id === shardId);
    if (!s) throw new StreamNotFoundError(name, `Shard ${shardId} in stream ${name} not found`);
    return s;
  }

  openShards(name: string): ShardRecord[] {
    return this.get(name).shards.filter((s) => s.closedAt === undefined);
  }

  /** Children of a shard (the shards a reshard made from it). */
  children(name: string, shardId: string): ShardRecord[] {
    return this.get(name).shards.filter((s) => s.parent === shardId || s.adjacentParent === shardId);
  }

  // ---- making and removing ---------------------------------------------------------------------

  async create(
    name: string,
    shardCount: number | undefined,
    mode: StreamMode = 'PROVISIONED',
    tags: Record<string, string> = {},
  ): Promise<StreamRecord> {
    if (!STREAM_NAME.test(name)) throw new StreamArgumentError(`Stream name ${name} is not valid: 1 to 128 letters, digits, _ . -`);
    const count = shardCount ?? (mode === 'ON_DEMAND' ? ON_DEMAND_SHARDS : undefined);
    if (count === undefined) throw new StreamArgumentError('ShardCount is required for a PROVISIONED stream');
    if (!Number.isInteger(count) || count < 1) throw new StreamArgumentError(`ShardCount ${count} must be at least 1`);
    if (this.streams.has(name) || this.making.has(name)) throw new StreamInUseError(`Stream ${name} already exists`, name);
    this.checkShardLimits(name, count, count);
    this.making.add(name);
    try {
      const at = this.now();
      const record: StreamRecord = {
        name,
        createdAt: at,
        updatedAt: at,
        retentionHours: MIN_RETENTION_HOURS,
        mode,
        nextShard: count,
        tags: { ...tags },
        shards: evenRanges(count).map((range, i) => ({ id: shardIdOf(i), range, openedAt: at })),
      };
      await this.o.store.claimShards(
        name,
        record.shards.map((s) => s.id),
      );
      await this.o.store.putStream(record);
      this.streams.set(name, this.state(record));
      this.o.log.info({ stream: name, shards: count, mode }, 'stream created');
      return record;
    } finally {
      this.making.delete(name);
    }
  }

  async delete(name: string): Promise<void> {
    await this.change(name, async (s) => {
      await Promise.allSettled([...s.inFlight]);
      await this.o.store.deleteStream(s.record);
      s.deleted = true;
      this.streams.delete(name);
      this.o.log.info({ stream: name }, 'stream deleted');
      return undefined;
    });
    this.notify(name);
    this.listeners.delete(name);
  }

  // ---- records ---------------------------------------------------------------------------------

  /** Appends records, each to the open shard its hash key falls in; the results in the order given. */
  async put(name: string, inputs: readonly PutInput[]): Promise<PutResult[]> {
    let s = this.stateOf(name);
    await s.gate;
    s = this.stateOf(name);
    const open = s.record.shards.filter((x) => x.closedAt === undefined);
    const results: PutResult[] = new Array<PutResult>(inputs.length);
    const groups = new Map<ShardRecord, number[]>();
    const now = this.now();
    const enforce = s.record.mode === 'PROVISIONED' && this.o.settings.provisioned.enforce;
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i] as PutInput;
      const hash = input.explicitHashKey ?? hashKeyOf(input.key);
      const shard = open.find((x) => inRange(hash, x.range)) as ShardRecord;
      if (enforce) {
        const r = this.rates(s, shard.id);
        if (!r.records.take(1, now) || !r.writeBytes.take(input.data.length + Buffer.byteLength(input.key), now)) {
          s.counters.throttled++;
          results[i] = { error: new ThroughputExceededError(name, shard.id, 'write') };
          continue;
        }
      }
      let g = groups.get(shard);
      if (!g) {
        g = [];
        groups.set(shard, g);
      }
      g.push(i);
    }
    const appends = [...groups].map(async ([shard, indexes]) => {
      const records = indexes.map((i) => ({ key: (inputs[i] as PutInput).key, data: (inputs[i] as PutInput).data }));
      try {
        const ids = await this.o.store.append(name, shard.id, records);
        const n = shardNumberOf(shard.id);
        indexes.forEach((i, k) => {
          const entryId = ids[k] as string;
          results[i] = { shardId: shard.id, entryId, sequenceNumber: sequenceNumberOf(entryId, n) };
          s.counters.incomingRecords++;
          s.counters.incomingBytes += (inputs[i] as PutInput).data.length;
        });
      } catch (err) {
        if (err instanceof FencedError) throw err;
        const e = err instanceof JunctionError ? err : new JunctionError('store-unavailable', (err as Error).message);
        for (const i of indexes) results[i] = { error: e };
      }
    });
    const all = Promise.all(appends);
    s.inFlight.add(all);
    try {
      await all;
    } finally {
      s.inFlight.delete(all);
    }
    if (groups.size > 0) this.notify(name);
    return results;
  }

  /** Up to `limit` records of a shard from `from` on. */
  async read(name: string, shardId: string, from: string, inclusive: boolean, limit: number): Promise<StreamEntry[]> {
    this.shard(name, shardId);
    return this.o.store.read(name, shardId, from, inclusive, limit);
  }

  async last(name: string, shardId: string): Promise<StreamEntry | undefined> {
    return this.o.store.last(name, shardId);
  }

  /** A GetRecords call on a PROVISIONED shard: refused when the shard's calls this second are spent. */
  admitRead(name: string, shardId: string): void {
    const s = this.stateOf(name);
    if (s.record.mode !== 'PROVISIONED' || !this.o.settings.provisioned.enforce) return;
    const r = this.rates(s, shardId);
    const now = this.now();
    if (!r.reads.take(1, now) || !r.readBytes.take(0, now)) {
      s.counters.throttled++;
      throw new ThroughputExceededError(name, shardId, 'read');
    }
  }

  /** What a read returned, for the counters and the read-bytes allowance. */
  noteRead(name: string, shardId: string, entries: readonly StreamEntry[]): void {
    const s = this.streams.get(name);
    if (!s) return;
    let bytes = 0;
    for (const e of entries) bytes += e.data.length;
    s.counters.outgoingRecords += entries.length;
    s.counters.outgoingBytes += bytes;
    const last = entries.at(-1);
    if (last) s.counters.iteratorAgeMs = Math.max(0, this.now() - last.at);
    if (s.record.mode === 'PROVISIONED' && bytes > 0) this.rates(s, shardId).readBytes.take(bytes, this.now());
  }

  /** Calls `listener` whenever records are appended to the stream (or it changes or goes). */
  onChange(name: string, listener: () => void): () => void {
    let set = this.listeners.get(name);
    if (!set) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  // ---- resharding ------------------------------------------------------------------------------

  async split(name: string, shardId: string, newStartingHashKey: bigint): Promise<void> {
    await this.reshard(
      name,
      (r, at) => {
        const parent = this.openShard(r, shardId);
        const start = BigInt(parent.range.start);
        const end = BigInt(parent.range.end);
        if (newStartingHashKey <= start || newStartingHashKey > end)
          throw new StreamArgumentError(
            `NewStartingHashKey ${newStartingHashKey} must lie inside shard ${shardId}'s range, after its first hash key (${start} < key <= ${end})`,
          );
        this.checkShardLimits(name, r.shards.filter((s) => s.closedAt === undefined).length + 1, 1);
        return [
          {
            id: shardIdOf(r.nextShard++),
            range: { start: parent.range.start, end: (newStartingHashKey - 1n).toString() },
            parent: shardId,
            openedAt: at,
          },
          {
            id: shardIdOf(r.nextShard++),
            range: { start: newStartingHashKey.toString(), end: parent.range.end },
            parent: shardId,
            openedAt: at,
          },
        ];
      },
      [shardId],
    );
  }

  async merge(name: string, shardId: string, adjacentShardId: string): Promise<void> {
    await this.reshard(
      name,
      (r, at) => {
        const a = this.openShard(r, shardId);
        const b = this.openShard(r, adjacentShardId);
        const [lo, hi] = BigInt(a.range.start) < BigInt(b.range.start) ? [a, b] : [b, a];
        if (BigInt(lo.range.end) + 1n !== BigInt(hi.range.start))
          throw new StreamArgumentError(`Shards ${shardId} and ${adjacentShardId} are not adjacent: their hash key ranges do not meet`);
        return [
          {
            id: shardIdOf(r.nextShard++),
            range: { start: lo.range.start, end: hi.range.end },
            parent: shardId,
            adjacentParent: adjacentShardId,
            openedAt: at,
          },
        ];
      },
      [shardId, adjacentShardId],
    );
  }

  /**
   * Brings the open shards to `target` (UNIFORM_SCALING) by splitting the widest shard or merging
   * the narrowest adjacent pair, one step at a time, each step a parent/child link as Kinesis's own.
   */
  async updateShardCount(name: string, target: number): Promise<{ current: number; target: number }> {
    const current = this.openShards(name).length;
    if (!Number.isInteger(target) || target < 1) throw new StreamArgumentError(`TargetShardCount ${target} must be at least 1`);
    if (target > current * 2 || target < Math.ceil(current / 2))
      throw new StreamArgumentError(`TargetShardCount ${target} must be between half and double the ${current} open shards`);
    this.checkShardLimits(name, target, Math.max(0, target - current));
    await this.change(name, async (s) => {
      for (;;) {
        const open = s.record.shards
          .filter((x) => x.closedAt === undefined)
          .sort((x, y) => (BigInt(x.range.start) < BigInt(y.range.start) ? -1 : 1));
        if (open.length === target) break;
        if (open.length < target) {
          const widest = open.reduce((w, x) => (rangeSize(x.range) > rangeSize(w.range) ? x : w));
          const mid = BigInt(widest.range.start) + rangeSize(widest.range) / 2n;
          await this.applyReshard(
            s,
            (r, at) => [
              {
                id: shardIdOf(r.nextShard++),
                range: { start: widest.range.start, end: (mid - 1n).toString() },
                parent: widest.id,
                openedAt: at,
              },
              { id: shardIdOf(r.nextShard++), range: { start: mid.toString(), end: widest.range.end }, parent: widest.id, openedAt: at },
            ],
            [widest.id],
          );
        } else {
          let best = 0;
          for (let i = 1; i + 1 < open.length; i++) {
            const size = rangeSize((open[i] as ShardRecord).range) + rangeSize((open[i + 1] as ShardRecord).range);
            const bestSize = rangeSize((open[best] as ShardRecord).range) + rangeSize((open[best + 1] as ShardRecord).range);
            if (size < bestSize) best = i;
          }
          const lo = open[best] as ShardRecord;
          const hi = open[best + 1] as ShardRecord;
          await this.applyReshard(
            s,
            (r, at) => [
              {
                id: shardIdOf(r.nextShard++),
                range: { start: lo.range.start, end: hi.range.end },
                parent: lo.id,
                adjacentParent: hi.id,
                openedAt: at,
              },
            ],
            [lo.id, hi.id],
          );
        }
      }
      return undefined;
    });
    return { current, target };
  }

  // ---- settings --------------------------------------------------------------------------------

  async setRetention(name: string, hours: number, direction: 'increase' | 'decrease'): Promise<void> {
    if (!Number.isInteger(hours) || hours < MIN_RETENTION_HOURS || hours > MAX_RETENTION_HOURS)
      throw new StreamArgumentError(`RetentionPeriodHours ${hours} must be between ${MIN_RETENTION_HOURS} and ${MAX_RETENTION_HOURS}`);
    await this.update(name, (r) => {
      if (direction === 'increase' && hours < r.retentionHours)
        throw new StreamArgumentError(
          `Requested retention period (${hours} hours) for stream ${name} can not be shorter than existing retention period (${r.retentionHours} hours). Use DecreaseRetentionPeriod API.`,
        );
      if (direction === 'decrease' && hours > r.retentionHours)
        throw new StreamArgumentError(
          `Requested retention period (${hours} hours) for stream ${name} can not be longer than existing retention period (${r.retentionHours} hours). Use IncreaseRetentionPeriod API.`,
        );
      r.retentionHours = hours;
    });
    if (direction === 'decrease') await this.trimStream(name);
  }

  async setMode(name: string, mode: StreamMode): Promise<void> {
    await this.update(name, (r) => {
      r.mode = mode;
    });
  }

  async tag(name: string, tags: Record<string, string>): Promise<void> {
    await this.update(name, (r) => {
      const all = { ...r.tags, ...tags };
      if (Object.keys(all).length > 50) throw new StreamArgumentError(`A stream has at most 50 tags`);
      r.tags = all;
    });
  }

  async untag(name: string, keys: readonly string[]): Promise<void> {
    await this.update(name, (r) => {
      for (const k of keys) delete r.tags[k];
    });
  }

  async setEncryption(name: string, keyId: string | undefined): Promise<void> {
    await this.update(name, (r) => {
      if (keyId === undefined) delete r.encryptionKeyId;
      else r.encryptionKeyId = keyId;
    });
  }

  /** Turns shard-level metrics on or off; returns what was on before and after. */
  async setMonitoring(name: string, metrics: readonly string[], on: boolean): Promise<{ before: string[]; after: string[] }> {
    let before: string[] = [];
    let after: string[] = [];
    await this.update(name, (r) => {
      before = [...(r.shardLevelMetrics ?? [])];
      const set = new Set(before);
      for (const m of metrics) {
        if (on) set.add(m);
        else set.delete(m);
      }
      after = [...set].sort();
      r.shardLevelMetrics = after;
    });
    return { before, after };
  }

  // ---- registered consumers (Kinesis enhanced fan-out) -------------------------------------------

  async registerConsumer(name: string, consumer: string): Promise<{ name: string; createdAt: number }> {
    let made = { name: consumer, createdAt: this.now() };
    await this.update(name, (r) => {
      const all = r.consumers ?? [];
      const existing = all.find((c) => c.name === consumer);
      if (existing) throw new StreamInUseError(`Consumer ${consumer} of stream ${name} already exists`, name);
      if (all.length >= MAX_REGISTERED_CONSUMERS)
        throw new StreamLimitError(`Stream ${name} has ${MAX_REGISTERED_CONSUMERS} registered consumers, the most it may have`, {
          stream: name,
        });
      made = { name: consumer, createdAt: this.now() };
      r.consumers = [...all, made];
    });
    return made;
  }

  async deregisterConsumer(name: string, consumer: string): Promise<void> {
    this.consumer(name, consumer);
    await this.update(name, (r) => {
      r.consumers = (r.consumers ?? []).filter((c) => c.name !== consumer);
    });
  }

  consumer(name: string, consumer: string): { name: string; createdAt: number } {
    const c = (this.get(name).consumers ?? []).find((x) => x.name === consumer);
    if (!c) throw new StreamNotFoundError(name, `Consumer ${consumer} of stream ${name} not found`);
    return c;
  }

  // ---- protocol consumers and publishers ----------------------------------------------------------

  /** Throws NotAuthorizedError when the client may not do `permission` on the stream. */
  authorize(ctx: ClientContext, permission: Permission, name: string): void {
    if (ctx.principal && this.o.authorizer)
      this.o.authorizer.check(ctx.principal, permission, streamAuthority(name), { clientId: ctx.clientId });
  }

  /** A consumer of the stream from an offset (or a named consumer's stored positions), as protocol adapters attach one. */
  async subscribe(name: string, opts: StreamSubscribeOptions, ctx: ClientContext): Promise<Consumer> {
    this.stateOf(name);
    this.authorize(ctx, 'read', name);
    const sub = new StreamSubscription(
      this,
      name,
      { ...opts, ...(ctx.connectionId !== undefined ? { connectionId: ctx.connectionId } : {}) },
      this.o.log,
    );
    await sub.start();
    return sub.consumer;
  }

  /** A protocol publisher's record, acknowledged once stored. */
  async publish(name: string, input: PutInput, ctx: ClientContext): Promise<PutResult> {
    this.stateOf(name);
    this.authorize(ctx, 'write', name);
    if (input.data.length + Buffer.byteLength(input.key) > MAX_RECORD_BYTES)
      throw new StreamArgumentError(`A record holds at most ${MAX_RECORD_BYTES} bytes of data and partition key`);
    const [r] = await this.put(name, [input]);
    if (!r) throw new StreamArgumentError('nothing to put');
    if ('error' in r) throw r.error;
    return r;
  }

  // ---- named consumers -------------------------------------------------------------------------

  positions(name: string): Promise<Record<string, ConsumerPositions>> {
    this.stateOf(name);
    return this.o.store.loadPositions(name);
  }

  /**
   * Places a named consumer at the stream's tip, on every shard (a position it had before is
   * replaced): what is put from now on is its to read, even if it first attaches later (a broker
   * restart in between).
   */
  async placeAtTip(name: string, consumer: string): Promise<void> {
    const positions: ConsumerPositions = {};
    for (const s of this.get(name).shards) positions[s.id] = (await this.o.store.last(name, s.id))?.id ?? '0-0';
    await this.putPositions(name, consumer, positions);
  }

  async putPositions(name: string, consumer: string, positions: ConsumerPositions): Promise<void> {
    this.stateOf(name);
    await this.o.store.putPositions(name, consumer, positions);
  }

  // ---- operating -------------------------------------------------------------------------------

  async view(name: string): Promise<StreamView> {
    const s = this.stateOf(name);
    const shards = await Promise.all(s.record.shards.map(async (x) => ({ ...x, stats: await this.o.store.shardStats(name, x.id) })));
    return { record: s.record, shards, counters: { ...s.counters }, consumers: await this.o.store.loadPositions(name) };
  }

  /** Removes what is older than each stream's retention. */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      for (const name of [...this.streams.keys()]) {
        try {
          await this.trimStream(name);
        } catch (err) {
          this.o.log.warn({ err, stream: name }, 'stream retention: trim failed, retried at the next sweep');
        }
      }
    } finally {
      this.sweeping = false;
    }
  }

  private async trimStream(name: string): Promise<void> {
    const s = this.streams.get(name);
    if (!s) return;
    const cutoff = this.now() - s.record.retentionHours * 3_600_000;
    let removed = 0;
    for (const shard of s.record.shards) removed += await this.o.store.trim(name, shard.id, cutoff);
    if (removed > 0)
      this.o.log.info({ stream: name, removed, retentionHours: s.record.retentionHours }, 'stream records past retention removed');
  }

  // ---- internals -------------------------------------------------------------------------------

  private state(record: StreamRecord): StreamState {
    return {
      record,
      rates: new Map(),
      inFlight: new Set(),
      gate: Promise.resolve(),
      counters: { incomingRecords: 0, incomingBytes: 0, outgoingRecords: 0, outgoingBytes: 0, iteratorAgeMs: 0, throttled: 0 },
      deleted: false,
    };
  }

  private stateOf(name: string): StreamState {
    const s = this.streams.get(name);
    if (!s) throw new StreamNotFoundError(name);
    return s;
  }

  private rates(s: StreamState, shardId: string): ShardRates {
    let r = s.rates.get(shardId);
    if (!r) {
      const p = this.o.settings.provisioned;
      r = {
        records: new RateWindow(p.writeRecordsPerSecond),
        writeBytes: new RateWindow(p.writeBytesPerSecond),
        reads: new RateWindow(p.readCallsPerSecond),
        readBytes: new RateWindow(p.readBytesPerSecond),
      };
      s.rates.set(shardId, r);
    }
    return r;
  }

  private notify(name: string): void {
    const set = this.listeners.get(name);
    if (set) for (const l of [...set]) l();
  }

  private checkShardLimits(name: string, openAfter: number, added: number): void {
    const max = this.o.settings.maxShardsPerStream;
    if (openAfter > max)
      throw new StreamLimitError(`Stream ${name} would have ${openAfter} open shards; the limit is ${max} (streams.maxShardsPerStream)`, {
        stream: name,
      });
    let total = 0;
    for (const s of this.streams.values()) total += s.record.shards.filter((x) => x.closedAt === undefined).length;
    if (total + added > this.o.settings.maxShards)
      throw new StreamLimitError(
        `This request would pass the broker's shard limit of ${this.o.settings.maxShards} open shards (streams.maxShards)`,
        { stream: name },
      );
  }

  private openShard(r: StreamRecord, shardId: string): ShardRecord {
    const s = r.shards.find((x) => x.id === shardId);
    if (!s) throw new StreamNotFoundError(r.name, `Shard ${shardId} in stream ${r.name} not found`);
    if (s.closedAt !== undefined)
      throw new StreamInUseError(`Shard ${shardId} in stream ${r.name} is closed: a reshard already replaced it`, r.name);
    return s;
  }

  /** Runs `f` alone on the stream: puts wait, other changes queue behind. */
  private async change<T>(name: string, f: (s: StreamState) => Promise<T>): Promise<T> {
    const s = this.stateOf(name);
    const before = s.gate;
    let release!: () => void;
    s.gate = new Promise<void>((r) => (release = r));
    try {
      await before;
      if (s.deleted) throw new StreamNotFoundError(name);
      return await f(s);
    } finally {
      release();
    }
  }

  private async update(name: string, edit: (r: StreamRecord) => void): Promise<void> {
    await this.change(name, async (s) => {
      const next = structuredClone(s.record);
      edit(next);
      next.updatedAt = this.now();
      await this.o.store.putStream(next);
      s.record = next;
    });
    this.notify(name);
  }

  private async reshard(name: string, make: (r: StreamRecord, at: number) => ShardRecord[], parents: string[]): Promise<void> {
    await this.change(name, (s) => this.applyReshard(s, make, parents));
  }

  /** Inside `change`: waits for appends under way, closes the parents, opens the children, and writes it down before any record goes to a child. */
  private async applyReshard(s: StreamState, make: (r: StreamRecord, at: number) => ShardRecord[], parents: string[]): Promise<void> {
    await Promise.allSettled([...s.inFlight]);
    const next = structuredClone(s.record);
    const at = this.now();
    const children = make(next, at);
    for (const id of parents) {
      const p = next.shards.find((x) => x.id === id) as ShardRecord;
      p.closedAt = at;
      const last = await this.o.store.last(next.name, id);
      if (last) p.endingId = last.id;
    }
    next.shards.push(...children);
    next.updatedAt = at;
    await this.o.store.claimShards(
      next.name,
      children.map((c) => c.id),
    );
    await this.o.store.putStream(next);
    s.record = next;
    this.o.log.info({ stream: next.name, closed: parents, opened: children.map((c) => c.id) }, 'stream resharded');
    this.notify(next.name);
  }
}

/** Stream X is authorized as queue `stream.X`: write to put records, read to read them, admin to make, change or delete it. */
export function streamAuthority(name: string): { kind: 'queue'; name: string } {
  return { kind: 'queue', name: `stream.${name}` };
}
