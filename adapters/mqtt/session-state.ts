// What an MQTT session keeps beyond the connection, as core session records (so it lives in the
// store, fenced like every other write): a persistent session's subscriptions with their QoS, the
// inbound QoS 2 packet ids awaiting PUBREL, and the outbound QoS 2 exchanges (packet id -> core
// message id, and whether PUBREC has come). Wills are records of their own, one per client.
// A clean session has the same state in memory only: it ends with the connection.
import type { SessionRecord } from '../../src/store/store.ts';

export const SESSION_PREFIX = 'mqtt:';
export const WILL_PREFIX = 'mqtt-will:';

/** One outbound QoS 2 exchange: the message sent under a packet id, and whether PUBREC came. */
export interface OutboundQoS2 {
  readonly messageId: string;
  released: boolean;
}

export class SessionState {
  /** Filter -> granted QoS (persistent sessions only). */
  readonly subscriptions = new Map<string, 0 | 1 | 2>();
  /** Inbound QoS 2 packet ids whose message is stored, awaiting PUBREL. */
  readonly incoming = new Set<number>();
  readonly outbound = new Map<number, OutboundQoS2>();

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
        subscriptions: Object.fromEntries(this.subscriptions),
        incoming: [...this.incoming],
        outbound: [...this.outbound].map(([id, o]) => [id, o.messageId, o.released]),
      },
      updatedAt: now,
      expiresAt,
    };
  }

  static fromRecord(clientId: string, rec: SessionRecord | undefined): SessionState {
    const s = new SessionState(clientId, true);
    if (!rec) return s;
    const d = rec.data as {
      subscriptions?: Record<string, number>;
      incoming?: number[];
      outbound?: Array<[number, string, boolean]>;
    };
    for (const [filter, qos] of Object.entries(d.subscriptions ?? {})) s.subscriptions.set(filter, clampQos(qos));
    for (const id of d.incoming ?? []) s.incoming.add(id);
    for (const [id, messageId, released] of d.outbound ?? []) s.outbound.set(id, { messageId, released });
    return s;
  }
}

export function clampQos(q: number): 0 | 1 | 2 {
  return q >= 2 ? 2 : q >= 1 ? 1 : 0;
}

/** A will as stored: published by whichever broker finds it orphaned. */
export interface StoredWill {
  topic: string;
  payload: string;
  qos: 0 | 1 | 2;
  retain: boolean;
  /** The aedes broker id of the process that holds the connection. */
  brokerId: string;
  username?: string;
}

export function willRecord(clientId: string, will: StoredWill, now: number): SessionRecord {
  return { id: WILL_PREFIX + clientId, data: { ...will }, updatedAt: now, expiresAt: 0 };
}
