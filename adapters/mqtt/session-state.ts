// What an MQTT session keeps beyond the connection, as core session records (so it lives in the
// store, fenced like every other write): a persistent session's subscriptions with their QoS, the
// inbound QoS 2 packet ids awaiting PUBREL, and the outbound QoS 2 exchanges (packet id -> core
// message id, and whether PUBREC has come). Wills are records of their own, one per client.
// A clean session has the same state in memory only: it ends with the connection. An MQTT 5
// session also keeps its subscription options and its own expiry interval.
import type { SessionRecord } from '../../src/core/records.ts';

export const SESSION_PREFIX = 'mqtt:';
export const WILL_PREFIX = 'mqtt-will:';

/** One outbound QoS 2 exchange: the message sent under a packet id, and whether PUBREC came. */
export interface OutboundQoS2 {
  readonly messageId: string;
  released: boolean;
}

/** Session Expiry Interval 0xFFFFFFFF: the session never expires (MQTT 5 §3.1.2.11.2). */
export const NEVER_EXPIRES = 0xffffffff;

/** What a subscription was made with: the granted QoS, and MQTT 5's options. */
export interface SubscriptionOptions {
  qos: 0 | 1 | 2;
  /** No Local: never receive what this client id published. */
  noLocal?: boolean;
  /** Retain As Published: forward the publisher's retain flag. */
  retainAsPublished?: boolean;
  /** The Subscription Identifier sent with every matching PUBLISH. */
  identifier?: number;
}

export class SessionState {
  /** Filter -> subscription (persistent sessions only). */
  readonly subscriptions = new Map<string, SubscriptionOptions>();
  /** Inbound QoS 2 packet ids whose message is stored, awaiting PUBREL. */
  readonly incoming = new Set<number>();
  readonly outbound = new Map<number, OutboundQoS2>();
  /** MQTT 5: seconds the session outlives its connection (NEVER_EXPIRES = forever); undefined for MQTT 3.1.1. */
  expirySeconds: number | undefined;

  constructor(
    readonly clientId: string,
    readonly persistent: boolean,
  ) {}

  /** True when a stored session existed (the CONNACK session-present flag). */
  get present(): boolean {
    return this.subscriptions.size > 0 || this.incoming.size > 0 || this.outbound.size > 0;
  }

  outboundFor(messageId: string): [number, OutboundQoS2] | undefined {
    for (const entry of this.outbound) if (entry[1].messageId === messageId) return entry;
    return undefined;
  }

  /** `expiresAt`: when an unused session may be discarded (0 = never; set at disconnect). */
  toRecord(now: number, expiresAt = 0): SessionRecord {
    return {
      id: SESSION_PREFIX + this.clientId,
      data: {
        v: 1,
        // A bare QoS where there are no MQTT 5 options: the records MQTT 3.1.1 sessions always wrote.
        subscriptions: Object.fromEntries([...this.subscriptions].map(([f, o]) => [f, Object.keys(o).length === 1 ? o.qos : o])),
        incoming: [...this.incoming],
        outbound: [...this.outbound].map(([id, o]) => [id, o.messageId, o.released]),
        ...(this.expirySeconds !== undefined ? { expiry: this.expirySeconds } : {}),
      },
      updatedAt: now,
      expiresAt,
    };
  }

  static fromRecord(clientId: string, rec: SessionRecord | undefined): SessionState {
    const s = new SessionState(clientId, true);
    if (!rec) return s;
    const d = rec.data as {
      subscriptions?: Record<string, number | SubscriptionOptions>;
      incoming?: number[];
      outbound?: Array<[number, string, boolean]>;
      expiry?: number;
    };
    for (const [filter, o] of Object.entries(d.subscriptions ?? {})) {
      s.subscriptions.set(filter, typeof o === 'number' ? { qos: clampQos(o) } : { ...o, qos: clampQos(o.qos) });
    }
    if (typeof d.expiry === 'number') s.expirySeconds = d.expiry;
    for (const id of d.incoming ?? []) s.incoming.add(id);
    for (const [id, messageId, released] of d.outbound ?? []) s.outbound.set(id, { messageId, released });
    return s;
  }
}

export function clampQos(q: number): 0 | 1 | 2 {
  return q >= 2 ? 2 : q >= 1 ? 1 : 0;
}

/** The expiry interval of a stored session record (MQTT 5), or undefined (MQTT 3.1.1: the broker's setting). */
export function recordExpirySeconds(rec: SessionRecord): number | undefined {
  const e = (rec.data as { expiry?: unknown }).expiry;
  return typeof e === 'number' ? e : undefined;
}

/** A will as stored: published by whichever broker finds it orphaned. */
export interface StoredWill {
  topic: string;
  payload: string;
  qos: 0 | 1 | 2;
  retain: boolean;
  /** MQTT 5 will properties (mqtt-packet's names; correlation data as base64). */
  properties?: Record<string, unknown>;
  /** MQTT 5 Will Delay Interval, already bounded by the session expiry. */
  delaySeconds?: number;
  /** The aedes broker id of the process that holds the connection. */
  brokerId: string;
  username?: string;
}

export function willRecord(clientId: string, will: StoredWill, now: number): SessionRecord {
  return { id: WILL_PREFIX + clientId, data: { ...will }, updatedAt: now, expiresAt: 0 };
}
