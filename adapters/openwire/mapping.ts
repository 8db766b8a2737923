// An OpenWire message (ActiveMQMessage and its Text, Bytes, Map, Stream and Object kinds) and the
// core message record, both ways. Text bodies become UTF-8 with content type text/plain, so STOMP,
// AMQP and MQTT read text; Map and Stream bodies become JSON for them. Typed properties become core
// properties (numbers, booleans, strings); the message's own encoding of its kind, properties and
// body is kept as the message's original (format "openwire"), so an OpenWire consumer gets back the
// same kind with every property type as sent.
import { inflateSync } from 'node:zlib';
import type { Delivery } from '../../src/core/consumer.ts';
import type { Destination } from '../../src/core/destination.ts';
import { DEDUP_PROPERTY, type Message, type MessageInput, type PropertyValue } from '../../src/core/message.ts';
import { DataReader, DataWriter, decodeModifiedUtf8, encodeModifiedUtf8 } from './data-io.ts';
import { addressOf, wireDestination, wireDestinationOfAddress, type WireDestination } from './destinations.ts';
import { OpenWireCommandError } from './errors.ts';
import { messageIdOf, messageIdText, type WireMessageId } from './ids.ts';
import type { Struct } from './layout-types.ts';
import { decodeMap, encodeMap, readValue, toPlain, type JavaValue } from './primitive-map.ts';

export const MESSAGE = 23;
export const BYTES_MESSAGE = 24;
export const MAP_MESSAGE = 25;
export const OBJECT_MESSAGE = 26;
export const STREAM_MESSAGE = 27;
export const TEXT_MESSAGE = 28;
export const BLOB_MESSAGE = 29;

export function isMessage(s: Struct): boolean {
  return s.dataType >= MESSAGE && s.dataType <= BLOB_MESSAGE;
}

const ORIGINAL_FORMAT = 'openwire';
const SERIALIZED_OBJECT = 'application/x-java-serialized-object';
/** ActiveMQ's smallest accounted message size: a producer's flow-control window counts it per message. */
const MINIMUM_MESSAGE_SIZE = 1024;

/** Properties the core carries as fields of their own. */
const SCHEDULED_DELAY = 'AMQ_SCHEDULED_DELAY';

/** The size the client counted against its producer window for `msg` (what a ProducerAck gives back). */
export function accountedSize(msg: Struct): number {
  const content = msg.content as Uint8Array | null;
  const props = msg.marshalledProperties as Uint8Array | null;
  return MINIMUM_MESSAGE_SIZE + (content?.length ?? 0) + (props?.length ?? 0);
}

function contentOf(msg: Struct, maxBytes: number): Buffer | null {
  const content = msg.content as Uint8Array | null;
  if (!content) return null;
  const b = Buffer.from(content.buffer, content.byteOffset, content.length);
  if (!msg.compressed) return b;
  try {
    // A BytesMessage's compressed content starts with its length; the other kinds' is zlib alone.
    // ActiveMQ's client deflates the whole buffer the body was written into, so the body is the
    // first `length` bytes of what inflates (its own reader stops there too).
    if (msg.dataType === BYTES_MESSAGE) {
      if (b.length < 4) throw new Error('no length before the compressed bytes');
      const length = b.readInt32BE(0);
      if (length < 0 || length > maxBytes) throw new Error(`it claims ${length} bytes`);
      const out = inflateSync(b.subarray(4), { maxOutputLength: maxBytes });
      if (out.length < length) throw new Error(`it inflated to ${out.length} bytes, short of the ${length} it claims`);
      return out.subarray(0, length);
    }
    return inflateSync(b, { maxOutputLength: maxBytes });
  } catch (err) {
    throw new OpenWireCommandError(`A compressed message body could not be inflated within ${maxBytes} bytes: ${(err as Error).message}`);
  }
}

/** A TextMessage's text: a 32-bit length (-1 for null), then modified UTF-8. */
function textOf(content: Buffer | null): string | null {
  if (!content || content.length < 4) return null;
  const r = new DataReader(content);
  const n = r.int();
  return n < 0 ? null : decodeModifiedUtf8(r.bytes(n));
}

function textContent(text: string): Buffer {
  const b = encodeModifiedUtf8(text);
  const out = Buffer.allocUnsafe(4 + b.length);
  out.writeInt32BE(b.length, 0);
  b.copy(out, 4);
  return out;
}

function streamValues(content: Buffer): JavaValue[] {
  const r = new DataReader(content);
  const list: JavaValue[] = [];
  while (r.remaining() > 0) list.push(readValue(r));
  return list;
}

function coreProperty(v: JavaValue): PropertyValue | undefined {
  switch (v.t) {
    case 'boolean':
    case 'byte':
    case 'short':
    case 'int':
    case 'long':
    case 'float':
    case 'double':
    case 'char':
    case 'string':
      return v.v;
    default:
      return undefined;
  }
}

/**
 * The original kept for OpenWire consumers: the message kind, its marshalled properties, and (for
 * kinds whose core body is a rendering, not the content) its content.
 */
function encodeOriginal(kind: number, props: Uint8Array | null, content: Buffer | null): Uint8Array {
  const w = new DataWriter(16 + (props?.length ?? 0) + (content?.length ?? 0));
  w.byte(kind);
  w.int(props ? props.length : -1);
  if (props) w.bytes(props);
  w.int(content ? content.length : -1);
  if (content) w.bytes(content);
  return w.result();
}

interface Original {
  kind: number;
  props: Buffer | null;
  content: Buffer | null;
}

function decodeOriginal(bytes: Uint8Array): Original {
  const r = new DataReader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
  const kind = r.byte();
  const pn = r.int();
  const props = pn < 0 ? null : r.bytes(pn);
  const cn = r.int();
  return { kind, props, content: cn < 0 ? null : r.bytes(cn) };
}

/** The core message a client's message asks for, sent to `destination` (one part of a composite). */
export function messageFromWire(msg: Struct, destination: Destination, now: number, maxBodyBytes: number): MessageInput {
  const kind = msg.dataType;
  const content = contentOf(msg, maxBodyBytes);
  const marshalled = msg.marshalledProperties as Uint8Array | null;
  const typed = marshalled ? decodeMap(marshalled) : new Map<string, JavaValue>();
  const input: MessageInput = { destination, body: Buffer.alloc(0), persistent: msg.persistent === true };
  let keepContent = false;
  switch (kind) {
    case TEXT_MESSAGE: {
      const text = textOf(content);
      input.body = Buffer.from(text ?? '', 'utf8');
      input.contentType = 'text/plain';
      break;
    }
    case BYTES_MESSAGE:
      input.body = content ?? Buffer.alloc(0);
      break;
    case MAP_MESSAGE:
      input.body = Buffer.from(JSON.stringify(toPlain({ t: 'map', v: content ? decodeMap(content) : new Map() })));
      input.contentType = 'application/json';
      keepContent = true;
      break;
    case STREAM_MESSAGE:
      input.body = Buffer.from(JSON.stringify(content ? streamValues(content).map(toPlain) : []));
      input.contentType = 'application/json';
      keepContent = true;
      break;
    case OBJECT_MESSAGE:
      input.body = content ?? Buffer.alloc(0);
      input.contentType = SERIALIZED_OBJECT;
      break;
    case BLOB_MESSAGE:
      throw new OpenWireCommandError('BlobMessage is not supported: send the data in a BytesMessage', 'javax.jms.JMSException');
    default:
      keepContent = content !== null;
  }
  const properties: Record<string, PropertyValue> = {};
  for (const [k, v] of typed) {
    if (k === DEDUP_PROPERTY) {
      if (v.t === 'string' && v.v !== '') input.dedupId = v.v;
      continue;
    }
    if (k === SCHEDULED_DELAY) {
      const delay = Number(coreProperty(v));
      if (Number.isFinite(delay) && delay > 0) input.deliverAt = now + delay;
      continue;
    }
    const p = coreProperty(v);
    if (p !== undefined) properties[k] = p;
  }
  const group = msg.groupID as string | null;
  if (group) {
    input.groupId = group;
    if ((msg.groupSequence as number) !== 0) properties.JMSXGroupSeq = msg.groupSequence as number;
  }
  input.properties = properties;
  const priority = msg.priority as number;
  input.priority = Math.min(9, Math.max(0, priority));
  const expiration = msg.expiration as number;
  if (expiration > 0) input.expiresAt = expiration;
  const timestamp = msg.timestamp as number;
  if (timestamp > 0) input.timestamp = timestamp;
  if (msg.correlationId) input.correlationId = msg.correlationId as string;
  if (msg.type) input.type = msg.type as string;
  const replyTo = msg.replyTo as WireDestination | null;
  if (replyTo) input.replyTo = addressOf(replyTo);
  const id = msg.messageId as WireMessageId | null;
  if (id) input.messageId = messageIdText(id);
  if (marshalled || keepContent || kind === MESSAGE) {
    input.original = { format: ORIGINAL_FORMAT, bytes: encodeOriginal(kind, marshalled, keepContent ? content : null) };
  }
  return input;
}

/** A core property as the typed value ActiveMQ would carry (a whole number: int if it fits, else long). */
function javaValueOf(v: PropertyValue): JavaValue {
  if (typeof v === 'boolean') return { t: 'boolean', v };
  if (typeof v === 'string') return { t: 'string', v };
  if (Number.isInteger(v)) return v >= -0x8000_0000 && v <= 0x7fff_ffff ? { t: 'int', v } : { t: 'long', v };
  return { t: 'double', v };
}

/** Whether bytes are valid UTF-8 (a text/* body from another protocol may not be). */
function isUtf8(b: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

/** The kind and content of an outgoing message, from its original when an OpenWire client sent it. */
function bodyOf(m: Message, original: Original | null): { kind: number; content: Buffer | null } {
  if (original) {
    if (original.kind === TEXT_MESSAGE) return { kind: TEXT_MESSAGE, content: textContent(Buffer.from(m.body).toString('utf8')) };
    if (original.kind === BYTES_MESSAGE) return { kind: BYTES_MESSAGE, content: Buffer.from(m.body) };
    if (original.content || original.kind === MESSAGE) return { kind: original.kind, content: original.content };
  }
  const ct = m.contentType?.toLowerCase();
  if (ct !== undefined && ct.startsWith('text/') && isUtf8(m.body)) {
    return { kind: TEXT_MESSAGE, content: textContent(Buffer.from(m.body).toString('utf8')) };
  }
  if (ct === SERIALIZED_OBJECT) return { kind: OBJECT_MESSAGE, content: Buffer.from(m.body) };
  return { kind: BYTES_MESSAGE, content: Buffer.from(m.body) };
}

/** The facts of one dispatch that are not the message's own. */
export interface DispatchFacts {
  readonly brokerSequenceId: number;
  readonly redeliveryCounter: number;
  /**
   * The queue a queue consumer took the message from, when it is not the one the message was sent
   * to (a dead-letter queue, a virtual topic's consumer queue): JMSDestination, as ActiveMQ
   * copies the message there; the message's own destination becomes its original destination.
   */
  readonly queue?: string;
}

/**
 * A message's wire form without the facts of one dispatch, kept per core message while it lives:
 * a topic's subscribers and a redelivery share one conversion.
 */
const templates = new WeakMap<Message, Struct>();

function template(m: Message, annotations: Delivery['annotations']): Struct {
  const original = m.original?.format === ORIGINAL_FORMAT ? decodeOriginal(m.original.bytes) : null;
  const { kind, content } = bodyOf(m, original);
  let props: Uint8Array | null = original?.props ?? null;
  const extra = new Map<string, JavaValue>();
  if (!original) for (const [k, v] of Object.entries(m.properties)) if (k !== 'JMSXGroupSeq') extra.set(k, javaValueOf(v));
  if (m.dedupId !== undefined) extra.set(DEDUP_PROPERTY, { t: 'string', v: m.dedupId });
  if (annotations) for (const [k, v] of Object.entries(annotations)) if (k !== 'JMSXGroupFirstForConsumer') extra.set(k, javaValueOf(v));
  if (extra.size > 0) props = encodeMap(props ? new Map([...decodeMap(props), ...extra]) : extra);
  const groupSeq = m.properties.JMSXGroupSeq;
  const messageId = messageIdOf(m.messageId ?? m.id, 0);
  return {
    dataType: kind,
    commandId: 0,
    responseRequired: false,
    producerId: messageId.producerId,
    destination: wireDestination(m.destination),
    transactionId: null,
    originalDestination: null,
    messageId,
    originalTransactionId: null,
    groupID: m.groupId ?? null,
    groupSequence: typeof groupSeq === 'number' ? groupSeq : 0,
    correlationId: m.correlationId ?? null,
    persistent: m.persistent,
    expiration: m.expiresAt,
    priority: m.priority,
    replyTo: m.replyTo === undefined ? null : wireDestinationOfAddress(m.replyTo),
    timestamp: m.timestamp,
    type: m.type ?? null,
    content,
    marshalledProperties: props,
    dataStructure: null,
    targetConsumerId: null,
    compressed: false,
    redeliveryCounter: 0,
    brokerPath: null,
    arrival: 0,
    userID: null,
    recievedByDFBridge: false,
    droppable: false,
    cluster: null,
    brokerInTime: 0,
    brokerOutTime: 0,
    jMSXGroupFirstForConsumer: false,
  };
}

/** The ActiveMQMessage a consumer receives for a delivery. */
export function messageToWire(d: Pick<Delivery, 'message' | 'annotations'>, facts: DispatchFacts): Struct {
  const m = d.message;
  let base = d.annotations ? undefined : templates.get(m);
  if (!base) {
    base = template(m, d.annotations);
    if (!d.annotations) templates.set(m, base);
  }
  const movedTo =
    facts.queue !== undefined && (m.destination.kind !== 'queue' || m.destination.name !== facts.queue) ? facts.queue : undefined;
  const out: Struct = {
    ...base,
    messageId: { ...(base.messageId as WireMessageId), brokerSequenceId: facts.brokerSequenceId },
    redeliveryCounter: facts.redeliveryCounter,
    jMSXGroupFirstForConsumer: d.annotations?.JMSXGroupFirstForConsumer === true,
  };
  if (movedTo !== undefined) {
    out.destination = wireDestination({ kind: 'queue', name: movedTo });
    out.originalDestination = base.destination ?? null;
  }
  return out;
}
