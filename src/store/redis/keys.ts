// The Redis key layout of one broker cluster. Every key carries the hash tag `{junction:<cluster>}`,
// so all of them live in one slot and every script stays valid on Redis Cluster; but a stream
// shard's keys carry a tag of their own, so that on Redis Cluster the shards of a stream spread over
// the nodes (each shard's scripts touch only its own two keys).

export class Keys {
  readonly epoch: string;
  /** Hands out epochs to brokers starting without the lease lock. */
  readonly epochCounter: string;
  readonly seq: string;
  readonly queues: string;
  readonly bodies: string;
  readonly refs: string;
  readonly subscriptions: string;
  readonly retained: string;
  readonly dedup: string;
  readonly sessions: string;
  /** The lease lock's token (expires with the lease) and its holder's registration. */
  readonly lease: string;
  readonly leaseHolder: string;
  /** Made by the first broker to open the data, kept by the others: gone or changed only when the data was lost. */
  readonly dataId: string;
  /** security.encryption: the id of each key values may be sealed with, and a value it sealed to prove it. */
  readonly sealingKeys: string;
  /** Users and authorization set through the admin API (field `record`). */
  readonly security: string;
  /** Stream descriptions, by name (JSON). */
  readonly streams: string;
  private readonly prefix: string;

  constructor(private readonly cluster: string) {
    this.prefix = `{junction:${cluster}}`;
    this.streams = `${this.prefix}:streams`;
    this.epoch = `${this.prefix}:epoch`;
    this.epochCounter = `${this.prefix}:epoch-counter`;
    this.seq = `${this.prefix}:seq`;
    this.queues = `${this.prefix}:queues`;
    this.bodies = `${this.prefix}:bodies`;
    this.refs = `${this.prefix}:refs`;
    this.subscriptions = `${this.prefix}:subs`;
    this.retained = `${this.prefix}:retained`;
    this.dedup = `${this.prefix}:dedup`;
    this.sessions = `${this.prefix}:sessions`;
    this.lease = `${this.prefix}:lease`;
    this.leaseHolder = `${this.prefix}:lease-holder`;
    this.dataId = `${this.prefix}:data-id`;
    this.sealingKeys = `${this.prefix}:sealing-keys`;
    this.security = `${this.prefix}:security`;
  }

  /** Message ids of a queue, scored by insertion sequence. */
  queue(name: string): string {
    return `${this.prefix}:q:${name}`;
  }

  /** Per-queue state of each message id. */
  queueState(name: string): string {
    return `${this.prefix}:qs:${name}`;
  }

  /** Message ids of a queue paged out of the broker's memory, scored by priority, then sequence. */
  queuePaged(name: string): string {
    return `${this.prefix}:qp:${name}`;
  }

  /** Sizes of a queue's paged-out entries; the field '' holds their total. */
  queuePagedSizes(name: string): string {
    return `${this.prefix}:qpz:${name}`;
  }

  /** Paged-out entries not yet due, scored by their delivery time. */
  queueScheduled(name: string): string {
    return `${this.prefix}:qd:${name}`;
  }

  /** `priority:size` of each scheduled paged-out entry; the field '' holds the total size. */
  queueScheduledSizes(name: string): string {
    return `${this.prefix}:qdz:${name}`;
  }

  /** Named consumers' positions in a stream (consumer -> JSON of shard -> record id). */
  streamPositions(stream: string): string {
    return `${this.prefix}:stream-positions:${stream}`;
  }

  /** A stream shard's log (a Redis Stream). */
  shardLog(stream: string, shard: string): string {
    return `{junction:${this.cluster}:stream:${stream}:${shard}}:log`;
  }

  /** The epoch that last claimed the shard: its fence. */
  shardEpoch(stream: string, shard: string): string {
    return `{junction:${this.cluster}:stream:${stream}:${shard}}:epoch`;
  }
}
