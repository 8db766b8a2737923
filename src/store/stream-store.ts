// The stream store: what a durable broker keeps of its streams, beside the queue Store. A stream's
// description (its shards and their lineage, retention, mode, tags) is one record; each shard is an
// append-only log of records (partition key, data), each with an id that orders it within its shard
// (`<ms>-<n>`: the store's clock when the record arrived, then a counter within that millisecond,
// never going back); named consumers keep their positions per shard. Nothing is held in broker
// memory: a reader asks for a page at a time.
// Fencing: descriptions and positions are fenced like every store write; each shard's log has its
// own fence (on Redis Cluster the shards live apart from the rest), claimed with `claimShards` by
// every broker that becomes active, before its first append.

/** Where a shard's hash keys begin and end, as decimal strings of 128-bit numbers. */
export interface HashKeyRange {
  start: string;
  end: string;
}

export interface ShardRecord {
  /** `shardId-000000000000`, numbered in the order shards were made. */
  id: string;
  range: HashKeyRange;
  parent?: string;
  adjacentParent?: string;
  openedAt: number;
  /** Set when a reshard closed the shard: it takes no more records, and readers go on to its children. */
  closedAt?: number;
  /** The id of the last record it took, when it closed with any. */
  endingId?: string;
}

export type StreamMode = 'PROVISIONED' | 'ON_DEMAND';

export interface StreamRecord {
  name: string;
  createdAt: number;
  retentionHours: number;
  mode: StreamMode;
  shards: ShardRecord[];
  /** The number the next shard made takes. */
  nextShard: number;
  tags: Record<string, string>;
  /** StartStreamEncryption's key id (the records rest sealed when the broker's encryption is on). */
  encryptionKeyId?: string;
  /** Monitoring metrics a client enabled (kept and reported, as Kinesis does). */
  shardLevelMetrics?: string[];
  /** Registered (enhanced fan-out) consumers: each subscribes to shards by its own ARN. */
  consumers?: Array<{ name: string; createdAt: number }>;
  updatedAt: number;
}

export interface AppendRecord {
  key: string;
  data: Buffer;
}

export interface StreamEntry {
  /** `<ms>-<n>`: orders the record within its shard. */
  id: string;
  /** When it arrived (the id's milliseconds). */
  at: number;
  key: string;
  data: Buffer;
}

export interface ShardStats {
  records: number;
  first?: string;
  last?: string;
}

/** A named consumer's positions: per shard, the id of the last record it is done with. */
export type ConsumerPositions = Record<string, string>;

export interface StreamStore {
  loadStreams(): Promise<StreamRecord[]>;
  /** Writes the description (a new stream, a reshard, a retention change...). Fenced. */
  putStream(stream: StreamRecord): Promise<void>;
  /** Removes the description, every shard's records and the consumers' positions. Fenced. */
  deleteStream(stream: StreamRecord): Promise<void>;
  /** Makes this handle's epoch the fence of these shards (older handles are refused from then on). */
  claimShards(stream: string, shards: readonly string[]): Promise<void>;
  /** Appends records in order to one shard and returns their ids. Fenced (the shard must be claimed). */
  append(stream: string, shard: string, records: readonly AppendRecord[]): Promise<string[]>;
  /** Up to `limit` records of a shard from `from` on (`from` itself only when `inclusive`); `0-0` is the start. */
  read(stream: string, shard: string, from: string, inclusive: boolean, limit: number): Promise<StreamEntry[]>;
  /** The shard's newest record, if any. */
  last(stream: string, shard: string): Promise<StreamEntry | undefined>;
  /** Removes the shard's records that arrived before `beforeMs`; returns how many went. Fenced. */
  trim(stream: string, shard: string, beforeMs: number): Promise<number>;
  shardStats(stream: string, shard: string): Promise<ShardStats>;
  /** Stores a named consumer's positions (merged into what it had). Fenced. */
  putPositions(stream: string, consumer: string, positions: ConsumerPositions): Promise<void>;
  /** Every named consumer of a stream and its positions. */
  loadPositions(stream: string): Promise<Record<string, ConsumerPositions>>;
}

/** Orders two record ids (`<ms>-<n>`). */
export function compareEntryIds(a: string, b: string): number {
  const [am, an] = splitId(a);
  const [bm, bn] = splitId(b);
  return am !== bm ? am - bm : an - bn;
}

export function splitId(id: string): [number, number] {
  const dash = id.indexOf('-');
  return [Number(id.slice(0, dash)), Number(id.slice(dash + 1))];
}
