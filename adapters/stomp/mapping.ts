// STOMP headers <-> the core message record (the table is in README.md). Headers the core has a
// field for become that field; every other header travels as a string property and comes back
// unchanged. Bodies are bytes in both directions.
import type { Delivery } from '../../src/core/consumer.ts';
import type { Destination } from '../../src/core/destination.ts';
import { DEDUP_PROPERTY, type MessageInput, type PropertyValue } from '../../src/core/message.ts';
import { StompProtocolError } from './frame.ts';
import { formatDestination, replyToAddress, replyToHeader, type TemporaryDestinations } from './destinations.ts';
import type { HeaderList } from './serializer.ts';

/** Headers that steer the frame itself or map to a core field (never copied into properties). */
const RESERVED = new Set([
  'destination',
  'persistent',
  'priority',
  'expires',
  'correlation-id',
  'reply-to',
  'type',
  'JMSXGroupID',
  DEDUP_PROPERTY,
  'AMQ_SCHEDULED_DELAY',
  'content-type',
  'content-length',
  'transaction',
  'receipt',
  'message-id',
  'timestamp',
  'subscription',
  'ack',
  'redelivered',
]);

function integer(headers: Map<string, string>, name: string, min: number, max: number): number | undefined {
  const v = headers.get(name);
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v.trim());
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new StompProtocolError(`Header ${name} must be an integer from ${min} to ${max}, got "${v.slice(0, 40)}"`);
  }
  return n;
}

/** The core message a SEND frame asks for, for one of its destinations. */
export function messageFromSend(
  destination: Destination,
  headers: Map<string, string>,
  body: Buffer,
  temps: TemporaryDestinations,
  now: number,
): MessageInput {
  const input: MessageInput = { destination, body, persistent: headers.get('persistent') === 'true' };
  const priority = integer(headers, 'priority', 0, 9);
  if (priority !== undefined) input.priority = priority;
  const expires = integer(headers, 'expires', 0, Number.MAX_SAFE_INTEGER);
  if (expires !== undefined && expires > 0) input.expiresAt = expires;
  const delay = integer(headers, 'AMQ_SCHEDULED_DELAY', 0, Number.MAX_SAFE_INTEGER);
  if (delay !== undefined && delay > 0) input.deliverAt = now + delay;
  const correlationId = headers.get('correlation-id');
  if (correlationId !== undefined) input.correlationId = correlationId;
  const replyTo = headers.get('reply-to');
  if (replyTo !== undefined) input.replyTo = replyToAddress(replyTo, temps);
  const type = headers.get('type');
  if (type !== undefined) input.type = type;
  const group = headers.get('JMSXGroupID');
  if (group !== undefined) input.groupId = group;
  const dedupId = headers.get(DEDUP_PROPERTY);
  if (dedupId !== undefined && dedupId !== '') input.dedupId = dedupId;
  const contentType = headers.get('content-type');
  if (contentType !== undefined) input.contentType = contentType;
  const properties: Record<string, PropertyValue> = {};
  for (const [k, v] of headers) if (!RESERVED.has(k)) properties[k] = v;
  input.properties = properties;
  return input;
}

/** The headers of a MESSAGE frame for a delivery (content-length is the serializer's). */
export function messageHeaders(
  d: Pick<Delivery, 'message' | 'redelivered' | 'annotations'>,
  subscription: string,
  ackId: string | undefined,
  isTemporaryQueue: (name: string) => boolean,
): HeaderList {
  const m = d.message;
  const h: Array<[string, string]> = [
    ['subscription', subscription],
    ['message-id', m.id],
    ['destination', formatDestination(m.destination, isTemporaryQueue)],
  ];
  if (ackId !== undefined) h.push(['ack', ackId]);
  if (d.redelivered) h.push(['redelivered', 'true']);
  h.push(['persistent', String(m.persistent)], ['priority', String(m.priority)], ['timestamp', String(m.timestamp)]);
  h.push(['expires', String(m.expiresAt)]);
  if (m.correlationId !== undefined) h.push(['correlation-id', m.correlationId]);
  if (m.replyTo !== undefined) h.push(['reply-to', replyToHeader(m.replyTo, isTemporaryQueue)]);
  if (m.type !== undefined) h.push(['type', m.type]);
  if (m.groupId !== undefined) h.push(['JMSXGroupID', m.groupId]);
  if (m.dedupId !== undefined) h.push([DEDUP_PROPERTY, m.dedupId]);
  if (m.contentType !== undefined) h.push(['content-type', m.contentType]);
  for (const [k, v] of Object.entries(m.properties)) if (!RESERVED.has(k)) h.push([k, String(v)]);
  if (d.annotations) for (const [k, v] of Object.entries(d.annotations)) h.push([k, String(v)]);
  return h;
}
