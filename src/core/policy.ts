// Destination policies: the delivery rules a queue runs with (redelivery, dead-lettering, expiry,
// visibility timeout, limits), resolved for a queue from the defaults plus every configured entry
// whose pattern matches it, later entries overriding earlier ones.
import { matches } from './destination.ts';
import type { SubscriptionLimits } from '../store/store.ts';

export type OverflowPolicy = 'block' | 'reject' | 'drop-oldest';
export type DeadLetterStrategy = 'individual' | 'shared' | 'none';
export type ExpiredAction = 'drop' | 'dead-letter' | 'expiry-queue';

export interface PolicySettings {
  /** Deliveries after which a message goes to the dead-letter queue; 0 = never. */
  maxDeliveries: number;
  redeliveryDelayMs: number;
  redeliveryMultiplier: number;
  maxRedeliveryDelayMs: number;
  deadLetterStrategy: DeadLetterStrategy;
  deadLetterPrefix: string;
  sharedDeadLetterQueue: string;
  expiredMessages: ExpiredAction;
  expiryQueue: string;
  /** Unsettled deliveries older than this return to the queue; 0 = off. */
  visibilityTimeoutMs: number;
  /** 0 = unlimited. */
  maxMessages: number;
  maxBytes: number;
  overflow: OverflowPolicy;
  /** How long a blocked publisher waits for room before the send is refused. */
  blockTimeoutMs: number;
  /** Window for publish deduplication by dedupId. */
  dedupWindowMs: number;
  /**
   * The active window: ready and in-flight entries a queue holds in memory. Past either bound,
   * further persistent messages stay in the store until the ready ones drop to half of it.
   */
  pageWindowMessages: number;
  pageWindowBytes: number;
  /** Virtual-topic consumer queues only: a selector deciding which topic messages the group gets. */
  virtualTopicSelector: string;
  /**
   * Bounds on transient entries waiting for a consumer (not in flight): those held only in memory
   * (non-persistent messages, and every message of a non-durable subscription), which paging
   * cannot move to the store (ActiveMQ's pending message limit). 0 = no bound.
   * Undefined: 100 000 messages and 64 MiB for a queue, 10 000 and 32 MiB for a topic subscription
   * (above the largest STOMP body, 16 MiB: a bigger transient message is refused at once).
   */
  transientMaxMessages?: number;
  transientMaxBytes?: number;
  /**
   * What a send over those bounds does: wait for room (`block`, refused after blockTimeoutMs), or
   * make room by dropping the oldest transient message (counted and logged; ActiveMQ's pending
   * message limit for slow topic subscribers). Undefined: block on a queue, drop-oldest on a topic
   * subscription, so one slow subscriber never holds back a topic's publishers.
   */
  transientOverflow?: 'block' | 'drop-oldest';
  /**
   * Topic subscriptions only: how long a subscription whose consumers take no messages may hold the
   * topic's publishers back (its queue full) before it is declared a slow consumer; 0 = as long as
   * its overflow policy says (blockTimeoutMs).
   */
  slowConsumerHoldMs: number;
  /**
   * What a slow consumer's subscription then does: drop its oldest messages to make room (counted,
   * logged; an MQTT subscription applies its own overflow policy instead), or end its consumers
   * (ActiveMQ's AbortSlowConsumerStrategy: the adapter closes the client) and keep queuing within
   * its bounds.
   */
  slowConsumer: SlowConsumerStrategy;
}

export type SlowConsumerStrategy = 'drop-oldest' | 'disconnect';

export interface PolicyEntry extends Partial<PolicySettings> {
  /** `queue://pattern` or `topic://pattern` (topic patterns apply to subscriptions). */
  match: string;
}

/** Concrete rules of one queue. */
export interface QueuePolicy extends PolicySettings {
  transientMaxMessages: number;
  transientMaxBytes: number;
  transientOverflow: 'block' | 'drop-oldest';
  /** Where dead letters go; null = dropped (counted). */
  deadLetterQueue: string | null;
  /** Where expired messages go; null = dropped (counted). */
  expiryQueueName: string | null;
  /** False for dead-letter and expiry queues: what lands there is kept until consumed. */
  expires: boolean;
  /**
   * maxMessages bounds a backlog nobody consumes (an MQTT persistent session whose device is away):
   * it counts ready messages only, never those in flight or being published, and `overflow`
   * applies only while no consumer is attached; with one attached, a full queue holds publishers
   * back (flow control) and drops nothing.
   */
  backlogOnly?: boolean;
  /**
   * With `backlogOnly`: while a consumer is attached and not declared slow, publishers are held
   * back once this many messages wait, so a subscriber is never more than this far behind (its
   * latency under load); the rest of maxMessages is for a consumer that is away or declared slow.
   * 0 or absent: maxMessages.
   */
  onlineMaxMessages?: number;
}

/** ActiveMQ's defaults where it has one: redelivery every 1 s, 6 times (7 deliveries), then the DLQ. */
export const DEFAULT_POLICY: PolicySettings = {
  maxDeliveries: 7,
  redeliveryDelayMs: 1000,
  redeliveryMultiplier: 1,
  maxRedeliveryDelayMs: 60_000,
  deadLetterStrategy: 'individual',
  deadLetterPrefix: 'DLQ.',
  sharedDeadLetterQueue: 'ActiveMQ.DLQ',
  expiredMessages: 'drop',
  expiryQueue: 'ExpiryQueue',
  visibilityTimeoutMs: 0,
  maxMessages: 0,
  maxBytes: 0,
  overflow: 'block',
  blockTimeoutMs: 30_000,
  dedupWindowMs: 300_000,
  pageWindowMessages: 10_000,
  pageWindowBytes: 16 * 1024 * 1024,
  virtualTopicSelector: '',
  slowConsumerHoldMs: 3000,
  slowConsumer: 'drop-oldest',
};

export class PolicyResolver {
  constructor(
    private readonly defaults: PolicySettings = DEFAULT_POLICY,
    private readonly entries: readonly PolicyEntry[] = [],
  ) {}

  /**
   * Rules for the queue `queueName`. `address` is what policies match against: `queue://NAME`
   * for a queue, `topic://PATTERN` for a topic subscription's queue. `dlqLabel` names the
   * individual dead-letter queue (`DLQ.<label>`).
   */
  resolve(queueName: string, address: string, dlqLabel: string): QueuePolicy {
    const s: PolicySettings = { ...this.defaults };
    const [kind, name] = splitAddress(address);
    for (const e of this.entries) {
      const [ek, en] = splitAddress(e.match);
      if (ek === kind && matches(en, name)) {
        const { match: _match, ...rest } = e;
        Object.assign(s, stripUndefined(rest));
      }
    }
    const topic = kind === 'topic';
    const transient = {
      transientMaxMessages: s.transientMaxMessages ?? (topic ? 10_000 : 100_000),
      transientMaxBytes: s.transientMaxBytes ?? (topic ? 32 : 64) * 1024 * 1024,
      transientOverflow: s.transientOverflow ?? (topic ? 'drop-oldest' : 'block'),
    } as const;
    const isDeadLetterQueue =
      queueName.startsWith(s.deadLetterPrefix) || queueName === s.sharedDeadLetterQueue || queueName === s.expiryQueue;
    if (isDeadLetterQueue) return queuePolicy({ ...s, maxDeliveries: 0 }, transient, null, null, false);
    let deadLetterQueue: string | null = null;
    if (s.deadLetterStrategy === 'individual') deadLetterQueue = s.deadLetterPrefix + dlqLabel;
    else if (s.deadLetterStrategy === 'shared') deadLetterQueue = s.sharedDeadLetterQueue;
    let expiryQueueName: string | null = null;
    if (s.expiredMessages === 'dead-letter') expiryQueueName = deadLetterQueue;
    else if (s.expiredMessages === 'expiry-queue') expiryQueueName = s.expiryQueue;
    return queuePolicy(s, transient, deadLetterQueue, expiryQueueName, true);
  }
}

/**
 * A queue's policy as one object literal naming every field. Built by spreading, every policy got
 * a hidden class of its own once V8 had optimized the spread (some 700 bytes per queue, and an
 * idle MQTT fleet has a queue per device); these share one, and later assignments (applyLimits)
 * find their fields already there.
 */
function queuePolicy(
  s: PolicySettings,
  t: Pick<QueuePolicy, 'transientMaxMessages' | 'transientMaxBytes' | 'transientOverflow'>,
  deadLetterQueue: string | null,
  expiryQueueName: string | null,
  expires: boolean,
): QueuePolicy {
  return {
    maxDeliveries: s.maxDeliveries,
    redeliveryDelayMs: s.redeliveryDelayMs,
    redeliveryMultiplier: s.redeliveryMultiplier,
    maxRedeliveryDelayMs: s.maxRedeliveryDelayMs,
    deadLetterStrategy: s.deadLetterStrategy,
    deadLetterPrefix: s.deadLetterPrefix,
    sharedDeadLetterQueue: s.sharedDeadLetterQueue,
    expiredMessages: s.expiredMessages,
    expiryQueue: s.expiryQueue,
    visibilityTimeoutMs: s.visibilityTimeoutMs,
    maxMessages: s.maxMessages,
    maxBytes: s.maxBytes,
    overflow: s.overflow,
    blockTimeoutMs: s.blockTimeoutMs,
    dedupWindowMs: s.dedupWindowMs,
    pageWindowMessages: s.pageWindowMessages,
    pageWindowBytes: s.pageWindowBytes,
    virtualTopicSelector: s.virtualTopicSelector,
    transientMaxMessages: t.transientMaxMessages,
    transientMaxBytes: t.transientMaxBytes,
    transientOverflow: t.transientOverflow,
    slowConsumerHoldMs: s.slowConsumerHoldMs,
    slowConsumer: s.slowConsumer,
    deadLetterQueue,
    expiryQueueName,
    expires,
    backlogOnly: false,
    onlineMaxMessages: undefined,
  } satisfies Record<keyof QueuePolicy, unknown>;
}

function splitAddress(a: string): [string, string] {
  const i = a.indexOf('://');
  return i < 0 ? ['queue', a] : [a.slice(0, i), a.slice(i + 3)];
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Backoff before redelivery number `failures` (1 = first redelivery). */
export function redeliveryDelay(p: PolicySettings, failures: number): number {
  if (p.redeliveryDelayMs <= 0) return 0;
  const d = p.redeliveryDelayMs * Math.pow(p.redeliveryMultiplier, Math.max(0, failures - 1));
  return Math.min(d, p.maxRedeliveryDelayMs > 0 ? p.maxRedeliveryDelayMs : d);
}

/**
 * Rules set on one named queue at run time, over its configured policy (SQS queue attributes: a
 * redrive policy's maxReceiveCount and dead-letter queue, or none; a delivery stream's buffer bounds).
 */
export interface QueueRules {
  maxDeliveries?: number;
  /** null: what fails maxDeliveries times is dropped (counted); 0 maxDeliveries never gets there. */
  deadLetterQueue?: string | null;
  redeliveryDelayMs?: number;
  /** Bounds on what the queue holds, over the configured policy (0 = unlimited). */
  maxMessages?: number;
  maxBytes?: number;
  overflow?: OverflowPolicy;
  /** A memory window at least this large (a consumer that holds whole batches unacknowledged). */
  pageWindowBytes?: number;
}

export function applyRules(policy: QueuePolicy, rules: QueueRules | undefined): void {
  if (!rules) return;
  if (rules.maxDeliveries !== undefined) policy.maxDeliveries = rules.maxDeliveries;
  if (rules.deadLetterQueue !== undefined) policy.deadLetterQueue = rules.deadLetterQueue;
  if (rules.redeliveryDelayMs !== undefined) policy.redeliveryDelayMs = rules.redeliveryDelayMs;
  if (rules.maxMessages !== undefined) policy.maxMessages = rules.maxMessages;
  if (rules.maxBytes !== undefined) policy.maxBytes = rules.maxBytes;
  if (rules.overflow !== undefined) policy.overflow = rules.overflow;
  if (rules.pageWindowBytes !== undefined) policy.pageWindowBytes = Math.max(policy.pageWindowBytes, rules.pageWindowBytes);
}

/** Limits a subscriber asked for, over the policy its queue would have had. */
export function applyLimits(policy: QueuePolicy, limits: SubscriptionLimits | undefined): void {
  if (limits?.maxMessages !== undefined) policy.maxMessages = limits.maxMessages;
  if (limits?.overflow !== undefined) policy.overflow = limits.overflow;
  if (limits?.slowConsumerHoldMs !== undefined) policy.slowConsumerHoldMs = limits.slowConsumerHoldMs;
  if (limits?.slowConsumer !== undefined) policy.slowConsumer = limits.slowConsumer;
  policy.backlogOnly = limits?.backlogOnly === true;
  if (limits?.onlineMaxMessages !== undefined) policy.onlineMaxMessages = limits.onlineMaxMessages;
  if (limits?.pageWindowBytes !== undefined) policy.pageWindowBytes = Math.max(policy.pageWindowBytes, limits.pageWindowBytes);
}

export function sameLimits(a: SubscriptionLimits | undefined, b: SubscriptionLimits | undefined): boolean {
  return (
    a?.maxMessages === b?.maxMessages &&
    a?.overflow === b?.overflow &&
    (a?.backlogOnly ?? false) === (b?.backlogOnly ?? false) &&
    a?.slowConsumerHoldMs === b?.slowConsumerHoldMs &&
    a?.slowConsumer === b?.slowConsumer &&
    a?.onlineMaxMessages === b?.onlineMaxMessages &&
    a?.pageWindowBytes === b?.pageWindowBytes
  );
}
