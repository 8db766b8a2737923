// The Store: everything a durable broker must keep, behind one batch-oriented interface.
// Mutations arrive as a list of operations applied in order by one `apply` call; a store applies
// batches in the order `apply` was called. Every handle carries a fencing epoch: once a handle with
// a higher epoch has opened the same data, every batch from an older handle is refused whole
// (FencedError) and none of its operations becomes visible. Bodies are stored once per message id,
// however many queues hold the message, and freed when the last queue lets it go.
// An entry is either resident (the broker holds it in memory; `readQueue` returns it at startup) or
// paged out (only in the store, until `pageIn` hands it to the broker, highest priority first).
// A paged-out entry not yet due (its state's `deliverAt` is in the future) waits in a separate
// scheduled set until `promoteDue` makes it an ordinary paged-out entry.
import type { Message, PropertyValue } from '../core/message.ts';
import type { StreamStore } from './stream-store.ts';

/** A queue that exists whether or not it holds messages (configured, used, or a subscription's). */
export interface QueueRecord {
  name: string;
  createdAt: number;
}

/** Per-queue state of one message in one queue. */
export interface EntryState {
  /** Failed deliveries so far (0 on first delivery; > 0 means redelivered). */
  deliveryCount: number;
  /** Absolute ms when the entry becomes deliverable; 0 = now. */
  deliverAt: number;
  /** True while a consumer holds it unsettled; a recovering broker redelivers such entries. */
  delivered: boolean;
  /** Facts this queue adds to the message (dead-letter reason, original destination). */
  annotations?: Record<string, PropertyValue>;
}

export interface StoredEntry {
  message: Message;
  state: EntryState;
}

export interface SubscriptionRecord {
  /** The subscription queue's name, unique per broker. */
  name: string;
  /** Topic pattern (may hold `*` and `>`). */
  pattern: string;
  selector?: string;
  noLocal?: boolean;
  /** Client id and subscription name for durable subscriptions, the shared name for shared ones. */
  clientId?: string;
  subscriptionName?: string;
  shared: boolean;
  createdAt: number;
  /** Limits the subscriber asked for, overriding the policy (an MQTT session's offline queue). */
  limits?: SubscriptionLimits;
  /**
   * Who may read only part of the pattern (a wildcard wider than the subscriber's authorization):
   * every message routed here is checked against this reader's read rights.
   */
  reader?: SubscriptionReader;
}

/** A subscriber as its subscription remembers it, for the authorization of each message. */
export interface SubscriptionReader {
  username: string;
  groups: string[];
  clientId?: string;
}

export interface SubscriptionLimits {
  maxMessages?: number;
  overflow?: 'block' | 'reject' | 'drop-oldest';
  /** The limit bounds only the backlog of an unconsumed subscription (QueuePolicy.backlogOnly). */
  backlogOnly?: boolean;
  /** How long a stalled consumer may hold publishers back (PolicySettings.slowConsumerHoldMs). */
  slowConsumerHoldMs?: number;
  /** What a slow consumer's subscription then does (PolicySettings.slowConsumer). */
  slowConsumer?: 'drop-oldest' | 'disconnect';
  /** The backlog that holds publishers back while a consumer is attached (QueuePolicy.onlineMaxMessages). */
  onlineMaxMessages?: number;
  /** The queue's memory window in bytes (PolicySettings.pageWindowBytes), when its consumer batches more. */
  pageWindowBytes?: number;
}

/** Adapter-owned session state (e.g. an MQTT persistent session), opaque to the store. */
export interface SessionRecord {
  id: string;
  data: Record<string, unknown>;
  updatedAt: number;
  /** Absolute ms after which the session may be discarded; 0 = never. */
  expiresAt: number;
}

/** How far a key rotation has come: values looked at, sealed anew, and refused (they do not open). */
export interface ResealProgress {
  scanned: number;
  resealed: number;
  refused: number;
  /** Values there were when the rotation began. */
  total: number;
}

export interface ResealReport extends ResealProgress {
  /** Values still sealed with another key than the active one, or not sealed, after the pass. */
  remaining: number;
  /** Keys no stored value needs any more: they may leave the keyring. */
  retired: string[];
}

/**
 * Users, their access keys and the authorization entries an operator set through the admin API:
 * kept in the store so whichever broker is active next has them. Absent until the first change;
 * the configuration file is the seed until then.
 */
export interface SecurityRecord {
  users: Array<{
    username: string;
    /** None: the user signs in only with a client certificate. */
    passwordHash?: string;
    groups: string[];
    /** Keys for the AWS APIs (the secret is kept: SigV4 signs with it). */
    accessKeys?: Array<{ id: string; secret: string; createdAt: number }>;
  }>;
  authorization: Array<{ queue?: string; topic?: string; read: string[]; write: string[]; admin: string[] }>;
  updatedAt: number;
}

export interface DedupRecord {
  key: string;
  expiresAt: number;
}

export type StoreOp =
  | { type: 'declareQueue'; queue: QueueRecord }
  | { type: 'deleteQueue'; queue: string }
  | { type: 'enqueue'; queue: string; message: Message; state: EntryState; paged?: false }
  /** An entry that stays only in the store; `size` is what it counts as in `pagedStats` (the core's message size). */
  | { type: 'enqueue'; queue: string; message: Message; state: EntryState; paged: true; size: number }
  | { type: 'update'; queue: string; messageId: string; state: EntryState }
  | { type: 'remove'; queue: string; messageId: string }
  | { type: 'putSubscription'; subscription: SubscriptionRecord }
  | { type: 'deleteSubscription'; name: string }
  | { type: 'putRetained'; topic: string; message: Message | null }
  | { type: 'putDedup'; record: DedupRecord }
  | { type: 'putSession'; session: SessionRecord }
  | { type: 'deleteSession'; id: string }
  | { type: 'putSecurity'; record: SecurityRecord };

export interface QueuePage {
  entries: StoredEntry[];
  /** Pass back to read the next page; undefined when this was the last. */
  cursor?: string;
}

export interface PagedStats {
  /** Entries paged out of the broker's memory and due (ready). */
  count: number;
  /** Their size as `messageSize` counts it. */
  bytes: number;
  /** Paged-out entries waiting for their delivery time, and their size. */
  scheduledCount: number;
  scheduledBytes: number;
  /** The earliest delivery time among those; 0 when there are none. */
  nextDue: number;
}

export interface Promoted {
  /** Scheduled entries that became ready paged-out entries, and their size. */
  count: number;
  bytes: number;
  /** The earliest delivery time still waiting; 0 when none is left. */
  nextDue: number;
}

export interface StoreStats {
  /** Distinct message bodies held. */
  messages: number;
  /** Queue entries across all queues. */
  entries: number;
  /** Adapter session records (MQTT persistent sessions). */
  sessions: number;
}

export interface Store {
  readonly kind: string;
  readonly epoch: number;
  /**
   * Operations per `apply` call that suit this store (writers cut larger batches, keeping one
   * writer's operations together); undefined = no preference.
   */
  readonly batchSize?: number;
  /** The streams kept with this handle's data, fenced with its epoch. */
  readonly streams: StreamStore;
  /** Claims the data for this handle's epoch; older handles are fenced from then on. */
  open(): Promise<void>;
  close(): Promise<void>;
  /**
   * Applies a batch whole or not at all. Applying a batch again, after a failure that left it in
   * doubt, leaves the data as applying it once did (provided no later batch came between): writers
   * retry failed batches in order.
   */
  apply(ops: readonly StoreOp[]): Promise<void>;
  /** Whether the store can be reached now (cheap, no round trip). */
  isAvailable(): boolean;
  /**
   * Throws FencedError when this handle may no longer write (its broker's lease may have lapsed),
   * without a round trip: what a publish that writes nothing asks before it is acknowledged.
   */
  assertWritable?(): void;
  /** Resolves when the store answers a round trip; rejects with StoreUnavailableError otherwise. */
  ping(): Promise<void>;

  loadQueues(): Promise<QueueRecord[]>;
  /** Resident entries of a queue in insertion order, a page at a time (paged-out ones are skipped). */
  readQueue(queue: string, cursor: string | undefined, limit: number): Promise<QueuePage>;
  /**
   * Makes up to `maxCount` paged-out entries resident and returns them: highest priority first,
   * insertion order within a priority, stopping before `maxBytes` would be exceeded (but always
   * at least one). Fenced like `apply`.
   */
  pageIn(queue: string, maxCount: number, maxBytes: number): Promise<StoredEntry[]>;
  /**
   * Paged-out entries that are due, in dispatch order (highest priority first, insertion order
   * within one), a page at a time, changing nothing: what a browser sees beyond the broker's memory.
   */
  browsePaged(queue: string, cursor: string | undefined, limit: number): Promise<QueuePage>;
  /** Makes the scheduled paged-out entries due at `now` ordinary paged-out entries. Fenced. */
  promoteDue(queue: string, now: number): Promise<Promoted>;
  pagedStats(queue: string): Promise<PagedStats>;
  loadSubscriptions(): Promise<SubscriptionRecord[]>;
  loadRetained(): Promise<Message[]>;
  /** Dedup records that have not expired at `now`. */
  loadDedup(now: number): Promise<DedupRecord[]>;
  getSession(id: string): Promise<SessionRecord | undefined>;
  /** Every session record whose id starts with `prefix`, in no particular order. */
  listSessions(prefix: string): Promise<SessionRecord[]>;
  /** The users and authorization set at run time, if any were. */
  loadSecurity(): Promise<SecurityRecord | undefined>;
  stats(): Promise<StoreStats>;
  /** True when the data this handle opened has been lost since (it can no longer write). */
  dataLost?(): Promise<boolean>;
  /**
   * Key rotation (security.encryption): seals every stored value anew with the active key while
   * the broker runs, then retires the keys nothing needs any more. Stores that keep nothing at
   * rest have no such method.
   */
  reseal?(onProgress?: (p: ResealProgress) => void): Promise<ResealReport>;
}
