// AMQP 1.0 messages <-> the core message record (the table is in README.md). Bodies: a data section
// is the bytes; an amqp-value string is its UTF-8 bytes (content type text/plain unless set); an
// amqp-value binary is its bytes; other amqp-values and amqp-sequences become JSON with content
// type application/json. Outgoing, text content types that are valid UTF-8 go out as an amqp-value
// string (a JMS TextMessage), everything else as one data section (a BytesMessage).
import { TextDecoder } from 'node:util';
import rhea, { type Message as AmqpMessage } from 'rhea';
import type { Delivery } from '../../src/core/consumer.ts';
import type { Destination } from '../../src/core/destination.ts';
import { DEDUP_PROPERTY, type MessageInput, type PropertyValue } from '../../src/core/message.ts';
import { addressOf, destinationOf } from './addresses.ts';

/** Qpid JMS's annotation saying what kind of destination `to` / `reply-to` name (0 queue, 1 topic, 2 temp queue, 3 temp topic). */
const JMS_DEST = 'x-opt-jms-dest';
const JMS_REPLY_TO = 'x-opt-jms-reply-to';
const DATA = 0x75;
const SEQUENCE = 0x76;

export class ConversionError extends Error {}

interface Section {
  typecode: number;
  content: unknown;
  multiple?: boolean;
}

function isSection(b: unknown): b is Section {
  return typeof b === 'object' && b !== null && 'typecode' in b && 'content' in b;
}

function bytesOf(body: unknown, contentType: string | undefined): { bytes: Uint8Array; contentType: string | undefined } {
  if (body === undefined || body === null) return { bytes: new Uint8Array(0), contentType };
  if (isSection(body)) {
    if (body.typecode === DATA) {
      const parts = (body.multiple ? body.content : [body.content]) as Buffer[];
      return { bytes: parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts), contentType };
    }
    if (body.typecode === SEQUENCE)
      return { bytes: Buffer.from(JSON.stringify(body.content)), contentType: contentType ?? 'application/json' };
  }
  if (typeof body === 'string') return { bytes: Buffer.from(body, 'utf8'), contentType: contentType ?? 'text/plain' };
  if (Buffer.isBuffer(body)) return { bytes: body, contentType };
  return {
    bytes: Buffer.from(JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))),
    contentType: contentType ?? 'application/json',
  };
}

function idText(id: unknown): string | undefined {
  if (id === undefined || id === null) return undefined;
  if (Buffer.isBuffer(id)) return id.toString('hex');
  return String(id);
}

function propertyValue(v: unknown): PropertyValue | undefined {
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'bigint') return Number(v);
  if (v === null || v === undefined) return undefined;
  if (v instanceof Date) return v.getTime();
  if (Buffer.isBuffer(v)) return v.toString('base64');
  return String(v);
}

function kindFromAnnotation(v: unknown): 'queue' | 'topic' | undefined {
  if (v === 0 || v === 2) return 'queue';
  if (v === 1 || v === 3) return 'topic';
  return undefined;
}

/** reply-to as a core address: Qpid JMS sends a bare name and says its kind in an annotation. */
function replyToAddress(replyTo: string, kind: 'queue' | 'topic' | undefined): string {
  if (/^(queue|topic):\/\//.test(replyTo)) return replyTo;
  try {
    return addressOf(destinationOf(replyTo, kind === 'topic' ? ['topic'] : [], false));
  } catch {
    return replyTo;
  }
}

export interface Inbound {
  input: MessageInput;
}

/**
 * The core message for an AMQP message sent to `destination` (or, on the anonymous relay, to its
 * `to`). `user` is the authenticated user: a user-id naming anybody else is refused.
 */
export function fromAmqp(m: AmqpMessage, destination: Destination | undefined, user: string | undefined, now: number): MessageInput {
  const annotations = (m.message_annotations ?? {}) as Record<string, unknown>;
  let dest = destination;
  if (!dest) {
    if (typeof m.to !== 'string' || m.to === '') throw new ConversionError('A message on the anonymous relay needs a "to" address');
    dest = destinationOf(m.to, kindFromAnnotation(annotations[JMS_DEST]) === 'topic' ? ['topic'] : [], false);
  }
  if (m.user_id !== undefined && m.user_id !== null && user !== undefined) {
    const claimed = Buffer.isBuffer(m.user_id) ? m.user_id.toString('utf8') : String(m.user_id);
    if (claimed !== user) throw new ConversionError(`user-id "${claimed}" is not the authenticated user`);
  }
  const body = bytesOf(m.body, m.content_type === undefined || m.content_type === null ? undefined : String(m.content_type));
  const input: MessageInput = { destination: dest, body: body.bytes, persistent: m.durable === true };
  if (body.contentType !== undefined) input.contentType = body.contentType;
  if (typeof m.priority === 'number') input.priority = Math.min(9, Math.max(0, m.priority));
  if (m.absolute_expiry_time !== undefined && m.absolute_expiry_time !== null) {
    const at = new Date(m.absolute_expiry_time as Date | number).getTime();
    if (at > 0) input.expiresAt = at;
  } else if (typeof m.ttl === 'number' && m.ttl > 0) {
    input.expiresAt = now + m.ttl;
  }
  const deliveryTime = annotations['x-opt-delivery-time'];
  const deliveryDelay = annotations['x-opt-delivery-delay'];
  if (deliveryTime !== undefined && deliveryTime !== null) {
    const at = new Date(deliveryTime as Date | number).getTime();
    if (at > now) input.deliverAt = at;
  } else if (typeof deliveryDelay === 'number' && deliveryDelay > 0) {
    input.deliverAt = now + deliveryDelay;
  }
  const correlationId = idText(m.correlation_id);
  if (correlationId !== undefined) input.correlationId = correlationId;
  if (typeof m.reply_to === 'string' && m.reply_to !== '')
    input.replyTo = replyToAddress(m.reply_to, kindFromAnnotation(annotations[JMS_REPLY_TO]));
  if (typeof m.subject === 'string') input.type = m.subject;
  if (typeof m.group_id === 'string') input.groupId = m.group_id;
  const properties: Record<string, PropertyValue> = {};
  for (const [k, v] of Object.entries((m.application_properties ?? {}) as Record<string, unknown>)) {
    const pv = propertyValue(v);
    if (pv === undefined) continue;
    if (k === DEDUP_PROPERTY) {
      if (pv !== '') input.dedupId = String(pv);
    } else properties[k] = pv;
  }
  input.properties = properties;
  return input;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function textOf(bytes: Uint8Array, contentType: string | undefined): string | undefined {
  if (contentType === undefined || !/^text\//i.test(contentType)) return undefined;
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

function parseAddress(address: string): { kind: 'queue' | 'topic'; name: string } | undefined {
  const m = /^(queue|topic):\/\/(.+)$/.exec(address);
  return m ? { kind: m[1] as 'queue' | 'topic', name: m[2] as string } : undefined;
}

/** The AMQP message for a core delivery. */
export function toAmqp(d: Pick<Delivery, 'message' | 'deliveryCount' | 'annotations'>): AmqpMessage {
  const m = d.message;
  const text = textOf(m.body, m.contentType);
  const out: AmqpMessage = {
    body: text !== undefined ? text : rhea.message.data_section(Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength)),
    durable: m.persistent,
    priority: m.priority,
    delivery_count: d.deliveryCount,
    first_acquirer: d.deliveryCount === 0,
    message_id: m.id,
    to: addressOf(m.destination),
    creation_time: new Date(m.timestamp),
  };
  const annotations: Record<string, unknown> = { [JMS_DEST]: m.destination.kind === 'topic' ? 1 : 0 };
  if (m.expiresAt > 0) out.absolute_expiry_time = new Date(m.expiresAt);
  if (m.type !== undefined) out.subject = m.type;
  if (m.correlationId !== undefined) out.correlation_id = m.correlationId;
  if (m.replyTo !== undefined) {
    out.reply_to = m.replyTo;
    const r = parseAddress(m.replyTo);
    if (r) annotations[JMS_REPLY_TO] = r.kind === 'topic' ? 1 : 0;
  }
  if (m.contentType !== undefined) out.content_type = m.contentType;
  if (m.groupId !== undefined) out.group_id = m.groupId;
  const props: Record<string, unknown> = { ...m.properties };
  if (m.dedupId !== undefined) props[DEDUP_PROPERTY] = m.dedupId;
  if (d.annotations) Object.assign(props, d.annotations);
  if (Object.keys(props).length > 0) out.application_properties = props;
  out.message_annotations = annotations;
  return out;
}
