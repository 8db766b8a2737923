// The protocol-neutral message record every adapter converts to and from, plus the checks and
// defaults applied when a message enters the core. Bodies are bytes and are never re-encoded.
import { randomUUID } from 'node:crypto';
import type { Destination } from './destination.ts';
import { InvalidMessageError } from '../shared/errors.ts';
import { offsetWithin } from '../shared/byte-views.ts';

export type PropertyValue = string | number | boolean;

/**
 * A message as its publisher's protocol encoded it, kept so that a consumer speaking the same
 * protocol receives it unchanged (AMQP's immutable bare message). Only the adapter that wrote it
 * reads it; the core carries it and counts its bytes.
 */
export interface OriginalEncoding {
  readonly format: string;
  readonly bytes: Uint8Array;
}

export interface Message {
  /** The broker's id: unique, the store's key. */
  readonly id: string;
  /** The id the publisher gave the message (AMQP message-id; typed ids with ActiveMQ's prefixes). */
  readonly messageId?: string;
  readonly destination: Destination;
  readonly body: Uint8Array;
  readonly contentType?: string;
  readonly properties: Readonly<Record<string, PropertyValue>>;
  /** 0 (lowest) to 9 (highest). */
  readonly priority: number;
  readonly persistent: boolean;
  /** Absolute ms since the epoch; 0 = never expires. */
  readonly expiresAt: number;
  /** Absolute ms since the epoch; 0 = deliver at once. */
  readonly deliverAt: number;
  readonly correlationId?: string;
  readonly replyTo?: string;
  /** JMSType. */
  readonly type?: string;
  /** Ordering key: all messages of a group go to one consumer at a time, in order. */
  readonly groupId?: string;
  readonly dedupId?: string;
  readonly timestamp: number;
  /** The authenticated publisher, set by the core from the connection, never from the client. */
  readonly userId?: string;
  readonly original?: OriginalEncoding;
}

/** What a publisher hands the core; everything but destination and body has a default. */
export interface MessageInput {
  id?: string;
  messageId?: string;
  destination: Destination;
  body: Uint8Array;
  contentType?: string;
  properties?: Record<string, PropertyValue>;
  priority?: number;
  persistent?: boolean;
  expiresAt?: number;
  deliverAt?: number;
  correlationId?: string;
  replyTo?: string;
  type?: string;
  groupId?: string;
  dedupId?: string;
  timestamp?: number;
  original?: OriginalEncoding;
}

/**
 * The property every protocol carries a publisher's dedup id under (Artemis's duplicate-detection
 * header): a STOMP header, an AMQP application property, an MQTT 5 user property.
 */
export const DEDUP_PROPERTY = '_AMQ_DUPL_ID';

export const DEFAULT_PRIORITY = 4;
export const MAX_PRIORITY = 9;
const MAX_PROPERTY_NAME = 256;

/** This process's id prefix (random, so ids stay unique across restarts and brokers); a counter follows it. */
const ID_PREFIX = `ID:${randomUUID()}:`;
let idCounter = 0;

/** A new broker message id: unique without a random draw per message. */
export function newMessageId(): string {
  return ID_PREFIX + (++idCounter).toString(36);
}

export function createMessage(input: MessageInput, userId: string | undefined, now: number): Message {
  if (!(input.body instanceof Uint8Array)) {
    throw new InvalidMessageError('Message body must be bytes', { destination: input.destination.name });
  }
  const priority = input.priority ?? DEFAULT_PRIORITY;
  if (!Number.isInteger(priority) || priority < 0 || priority > MAX_PRIORITY) {
    throw new InvalidMessageError(`Priority must be an integer from 0 to 9, got ${String(priority)}`, { priority });
  }
  const expiresAt = input.expiresAt ?? 0;
  const deliverAt = input.deliverAt ?? 0;
  if (!Number.isFinite(expiresAt) || expiresAt < 0) {
    throw new InvalidMessageError(`Expiry must be an absolute time in ms or 0, got ${String(expiresAt)}`);
  }
  if (!Number.isFinite(deliverAt) || deliverAt < 0) {
    throw new InvalidMessageError(`Delivery time must be an absolute time in ms or 0, got ${String(deliverAt)}`);
  }
  const properties = input.properties ?? {};
  for (const k in properties) {
    if (!Object.hasOwn(properties, k)) continue;
    const v = properties[k];
    if (k.length === 0 || k.length > MAX_PROPERTY_NAME) {
      throw new InvalidMessageError(`Property names must have 1 to ${MAX_PROPERTY_NAME} characters`, { name: k });
    }
    const t = typeof v;
    if (t !== 'string' && t !== 'number' && t !== 'boolean') {
      throw new InvalidMessageError(`Property "${k}" must be a string, number or boolean`, { name: k });
    }
  }
  const m: {
    -readonly [K in keyof Message]: Message[K];
  } = {
    id: input.id ?? newMessageId(),
    destination: input.destination,
    body: input.body,
    properties,
    priority,
    persistent: input.persistent ?? false,
    expiresAt,
    deliverAt,
    timestamp: input.timestamp ?? now,
  };
  if (input.contentType !== undefined) m.contentType = input.contentType;
  if (input.correlationId !== undefined) m.correlationId = input.correlationId;
  if (input.replyTo !== undefined) m.replyTo = input.replyTo;
  if (input.type !== undefined) m.type = input.type;
  if (input.groupId !== undefined) m.groupId = input.groupId;
  if (input.dedupId !== undefined) m.dedupId = input.dedupId;
  if (userId !== undefined) m.userId = userId;
  if (input.messageId !== undefined) m.messageId = input.messageId;
  if (input.original !== undefined) m.original = input.original;
  return m;
}

/**
 * Bytes a message is counted as against a queue's byte limit: body plus a rough header cost, and
 * its original encoding (once, when the body is a view into it).
 */
export function messageSize(m: Message): number {
  const o = m.original?.bytes;
  if (!o) return m.body.byteLength + 256;
  return (offsetWithin(m.body, o) < 0 ? m.body.byteLength : 0) + o.byteLength + 256;
}
