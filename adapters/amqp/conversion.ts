// AMQP 1.0 messages <-> the core message record (the table is in docs/message-mapping.md).
// An AMQP message is kept as sent (its header, message-annotations, bare message and footer; the
// delivery-annotations are per hop) and an AMQP consumer receives exactly that, with a new header.
// The core fields are read from it for routing, selectors and the other protocols. Bodies for the
// core: a data section is the bytes; an amqp-value string is its UTF-8 bytes (content type
// text/plain unless set); an amqp-value binary is its bytes; other amqp-values and amqp-sequences
// become JSON with content type application/json. A message from another protocol goes out as an
// amqp-value string when its content type is text/* and its bytes are UTF-8 (a JMS TextMessage),
// else as one data section (a BytesMessage).
import { TextDecoder } from 'node:util';
import rhea, { type Message as AmqpMessage } from 'rhea';
import type { Delivery } from '../../src/core/consumer.ts';
import type { Destination } from '../../src/core/destination.ts';
import { DEDUP_PROPERTY, type Message, type MessageInput, type PropertyValue } from '../../src/core/message.ts';
import { addressOf, destinationOf } from './addresses.ts';
import { encodeMapped, type MappedMessage } from './message-encoder.ts';
import {
  APPLICATION_PROPERTIES,
  DATA,
  DELIVERY_ANNOTATIONS,
  encodeKept,
  HEADER,
  PROPERTIES,
  readHeader,
  SectionError,
  SEQUENCE,
  splitSections,
  withoutDeliveryAnnotations,
  type SectionRange,
} from './sections.ts';
import { ConversionError, idValue, readApplicationProperties, readIds } from './typed-values.ts';

export { ConversionError };

/** The `format` of an original encoding that is an AMQP 1.0 message. */
export const AMQP_FORMAT = 'amqp-1.0';
/** Facts the broker adds to a message kept as sent go into its message-annotations under this prefix (as Artemis does). */
const BROKER_ANNOTATION_PREFIX = 'x-opt-';

/** Qpid JMS's annotation saying what kind of destination `to` / `reply-to` name (0 queue, 1 topic, 2 temp queue, 3 temp topic). */
const JMS_DEST = 'x-opt-jms-dest';
const JMS_REPLY_TO = 'x-opt-jms-reply-to';

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

/** The message as sent, without delivery-annotations, copied out of the frame; and where its sections are. */
function keep(raw: Buffer): { bytes: Buffer; sections: SectionRange[]; shift: number } {
  let sections: SectionRange[];
  try {
    sections = splitSections(raw);
  } catch (err) {
    throw new ConversionError(`The message is not a valid AMQP 1.0 message: ${(err as SectionError).message}`);
  }
  const da = sections.find((x) => x.code === DELIVERY_ANNOTATIONS);
  const bytes = withoutDeliveryAnnotations(raw, sections);
  if (!da) return { bytes, sections, shift: 0 };
  return { bytes, sections: splitSections(bytes), shift: da.end - da.start };
}

/** The body bytes as a view of the kept copy when rhea's body is a view of the frame (a single data section). */
function rebase(body: Uint8Array, raw: Buffer, kept: Buffer, shift: number): Uint8Array {
  if (body.buffer !== raw.buffer || body.byteLength === 0) return body;
  const at = body.byteOffset - raw.byteOffset - shift;
  if (at < 0 || at + body.byteLength > kept.length) return body;
  return kept.subarray(at, at + body.byteLength);
}

/**
 * The core message for an AMQP message sent to `destination` (or, on the anonymous relay, to its
 * `to`); `raw` is the message as it came in the transfer. `user` is the authenticated user: a
 * user-id naming anybody else is refused, as is an application-property of a forbidden type.
 */
export function fromAmqp(
  m: AmqpMessage,
  raw: Buffer | undefined,
  destination: Destination | undefined,
  user: string | undefined,
  now: number,
): MessageInput {
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
  const kept = raw ? keep(raw) : undefined;
  const section = (code: number): SectionRange | undefined => kept?.sections.find((x) => x.code === code);
  const body = bytesOf(m.body, m.content_type === undefined || m.content_type === null ? undefined : String(m.content_type));
  const input: MessageInput = {
    destination: dest,
    body: kept && raw ? rebase(body.bytes, raw, kept.bytes, kept.shift) : body.bytes,
    persistent: m.durable === true,
  };
  if (kept) input.original = { format: AMQP_FORMAT, bytes: kept.bytes };
  if (body.contentType !== undefined) input.contentType = body.contentType;
  if (typeof m.priority === 'number') input.priority = Math.min(9, Math.max(0, m.priority));
  if (m.absolute_expiry_time !== undefined && m.absolute_expiry_time !== null) {
    const at = new Date(m.absolute_expiry_time as Date | number).getTime();
    if (at > 0) input.expiresAt = at;
  } else if (typeof m.ttl === 'number' && m.ttl > 0) {
    input.expiresAt = now + m.ttl;
  }
  if (m.creation_time !== undefined && m.creation_time !== null) {
    const at = new Date(m.creation_time as Date | number).getTime();
    if (at > 0) input.timestamp = at;
  }
  const deliveryTime = annotations['x-opt-delivery-time'];
  const deliveryDelay = annotations['x-opt-delivery-delay'];
  if (deliveryTime !== undefined && deliveryTime !== null) {
    const at = new Date(deliveryTime as Date | number).getTime();
    if (at > now) input.deliverAt = at;
  } else if (typeof deliveryDelay === 'number' && deliveryDelay > 0) {
    input.deliverAt = now + deliveryDelay;
  }
  const ids = kept ? readIds(kept.bytes, section(PROPERTIES)) : {};
  if (ids.messageId !== undefined) input.messageId = ids.messageId;
  if (ids.correlationId !== undefined) input.correlationId = ids.correlationId;
  if (typeof m.reply_to === 'string' && m.reply_to !== '')
    input.replyTo = replyToAddress(m.reply_to, kindFromAnnotation(annotations[JMS_REPLY_TO]));
  if (typeof m.subject === 'string') input.type = m.subject;
  if (typeof m.group_id === 'string') input.groupId = m.group_id;
  const properties = kept ? readApplicationProperties(kept.bytes, section(APPLICATION_PROPERTIES)) : {};
  const dedup = properties[DEDUP_PROPERTY];
  if (dedup !== undefined) {
    delete properties[DEDUP_PROPERTY];
    if (dedup !== '') input.dedupId = String(dedup);
  }
  if (typeof m.group_sequence === 'number' && properties.JMSXGroupSeq === undefined) properties.JMSXGroupSeq = m.group_sequence;
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

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

function parseAddress(address: string): { kind: 'queue' | 'topic'; name: string } | undefined {
  const m = /^(queue|topic):\/\/(.+)$/.exec(address);
  return m ? { kind: m[1] as 'queue' | 'topic', name: m[2] as string } : undefined;
}

export type Outbound = Pick<Delivery, 'message' | 'deliveryCount' | 'annotations'> & { firstAcquirer?: boolean };

/**
 * What goes in the transfer for a core delivery: a message kept as sent, as its bytes with a new
 * header; any other, encoded from the AMQP message it maps to (message-encoder.ts, else rhea).
 */
export function toAmqp(d: Outbound, now: number): AmqpMessage | Buffer {
  const m = d.message;
  const o = m.original;
  if (o?.format === AMQP_FORMAT) return keptPayload(m, o.bytes, d, now);
  const mapped = mappedOf(d, now);
  return encodeMapped(mapped) ?? rheaMessage(mapped);
}

function keptPayload(m: Message, bytes: Uint8Array, d: Outbound, now: number): Buffer {
  const sections = splitSections(bytes);
  const sent = readHeader(bytes, sections[0]?.code === HEADER ? sections[0] : undefined);
  let extra: Record<string, PropertyValue> | undefined;
  if (d.annotations) {
    extra = {};
    for (const [k, v] of Object.entries(d.annotations)) extra[BROKER_ANNOTATION_PREFIX + k] = v;
  }
  return encodeKept(
    bytes,
    {
      durable: m.persistent,
      priority: sent.priority ?? m.priority,
      ...(sent.ttl !== undefined && m.expiresAt > 0 ? { ttl: Math.max(1, m.expiresAt - now) } : {}),
      firstAcquirer: d.firstAcquirer ?? d.deliveryCount === 0,
      deliveryCount: d.deliveryCount,
    },
    extra,
    sections,
  );
}

/** The AMQP message a core message from another protocol maps to. */
export function mappedOf(d: Outbound, now: number): MappedMessage {
  const m = d.message;
  const text = textOf(m.body, m.contentType);
  const annotations: Record<string, number> = { [JMS_DEST]: m.destination.kind === 'topic' ? 1 : 0 };
  if (m.replyTo !== undefined) {
    const r = parseAddress(m.replyTo);
    if (r) annotations[JMS_REPLY_TO] = r.kind === 'topic' ? 1 : 0;
  }
  const out: MappedMessage = {
    durable: m.persistent,
    priority: m.priority,
    firstAcquirer: d.firstAcquirer ?? d.deliveryCount === 0,
    deliveryCount: d.deliveryCount,
    messageId: m.messageId !== undefined ? idValue(m.messageId) : m.id,
    to: addressOf(m.destination),
    creationTime: m.timestamp,
    annotations,
    body: text ?? m.body,
  };
  if (m.expiresAt > 0) {
    out.absoluteExpiryTime = m.expiresAt;
    out.ttl = Math.max(1, m.expiresAt - now);
  }
  if (m.type !== undefined) out.subject = m.type;
  if (m.correlationId !== undefined) out.correlationId = idValue(m.correlationId);
  if (m.replyTo !== undefined) out.replyTo = m.replyTo;
  if (m.contentType !== undefined) out.contentType = m.contentType;
  if (m.groupId !== undefined) out.groupId = m.groupId;
  // The message's own properties as they are, unless the broker adds some (then a copy).
  let props: Readonly<Record<string, unknown>> = m.properties;
  if (m.dedupId !== undefined || d.annotations) {
    const all: Record<string, unknown> = Object.assign({}, m.properties);
    if (m.dedupId !== undefined) all[DEDUP_PROPERTY] = m.dedupId;
    if (d.annotations) Object.assign(all, d.annotations);
    props = all;
  }
  if (hasKeys(props)) out.applicationProperties = props;
  return out;
}

/** The mapped message as rhea's message object, for rhea to encode. */
export function rheaMessage(x: MappedMessage): AmqpMessage {
  const out: AmqpMessage = {
    body: typeof x.body === 'string' ? x.body : rhea.message.data_section(Buffer.from(x.body.buffer, x.body.byteOffset, x.body.byteLength)),
    durable: x.durable,
    priority: x.priority,
    delivery_count: x.deliveryCount,
    first_acquirer: x.firstAcquirer,
    message_id: x.messageId as string, // rhea takes typed ids too, though its typings say string
    to: x.to,
    creation_time: new Date(x.creationTime),
  };
  if (x.absoluteExpiryTime !== undefined) out.absolute_expiry_time = new Date(x.absoluteExpiryTime);
  if (x.ttl !== undefined) out.ttl = x.ttl;
  if (x.subject !== undefined) out.subject = x.subject;
  if (x.correlationId !== undefined) out.correlation_id = x.correlationId as string;
  if (x.replyTo !== undefined) out.reply_to = x.replyTo;
  if (x.contentType !== undefined) out.content_type = x.contentType;
  if (x.groupId !== undefined) out.group_id = x.groupId;
  if (x.applicationProperties) out.application_properties = { ...x.applicationProperties };
  out.message_annotations = { ...x.annotations };
  return out;
}
