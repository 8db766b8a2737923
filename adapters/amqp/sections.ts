// The sections of an encoded AMQP 1.0 message (§3.2) by byte range, and the encoding a message
// kept as sent gets on its way out: a new header (ttl left, delivery-count, first-acquirer), the
// publisher's message-annotations with the broker's added after them, and the bare message's bytes
// untouched. Written by hand because rhea (like every AMQP library for Node) only decodes a message
// whole into JS values, which loses the encoding the spec says must pass unchanged; finding the
// sections needs only each value's constructor and size, so nothing here decodes a value.
import rhea from 'rhea';
import type { PropertyValue } from '../../src/core/message.ts';

export const HEADER = 0x70;
export const DELIVERY_ANNOTATIONS = 0x71;
export const MESSAGE_ANNOTATIONS = 0x72;
export const PROPERTIES = 0x73;
export const APPLICATION_PROPERTIES = 0x74;
export const DATA = 0x75;
export const SEQUENCE = 0x76;
export const VALUE = 0x77;
export const FOOTER = 0x78;

const SYMBOLIC: Record<string, number> = {
  'amqp:header:list': HEADER,
  'amqp:delivery-annotations:map': DELIVERY_ANNOTATIONS,
  'amqp:message-annotations:map': MESSAGE_ANNOTATIONS,
  'amqp:properties:list': PROPERTIES,
  'amqp:application-properties:map': APPLICATION_PROPERTIES,
  'amqp:data:binary': DATA,
  'amqp:amqp-sequence:list': SEQUENCE,
  'amqp:amqp-value:*': VALUE,
  'amqp:footer:map': FOOTER,
};

export class SectionError extends Error {}

export interface SectionRange {
  code: number;
  /** Where the section starts (its 0x00 descriptor constructor) and ends, in the message's bytes. */
  start: number;
  end: number;
  /** Where the section's value starts (after its descriptor). */
  valueAt: number;
}

function need(b: Uint8Array, at: number): void {
  if (at > b.length) throw new SectionError('The message ends inside a value');
}

function u32(b: Uint8Array, at: number): number {
  need(b, at + 4);
  return (((b[at] as number) << 24) | ((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number)) >>> 0;
}

/** The position just after the value whose constructor is at `at`. */
function skipValue(b: Uint8Array, at: number): number {
  need(b, at + 1);
  const code = b[at] as number;
  if (code === 0x00) return skipValue(b, skipValue(b, at + 1));
  const width = code >> 4;
  let end: number;
  if (width === 0x4) end = at + 1;
  else if (width === 0x5) end = at + 2;
  else if (width === 0x6) end = at + 3;
  else if (width === 0x7) end = at + 5;
  else if (width === 0x8) end = at + 9;
  else if (width === 0x9) end = at + 17;
  else if (width === 0xa || width === 0xc || width === 0xe) {
    need(b, at + 2);
    end = at + 2 + (b[at + 1] as number);
  } else if (width === 0xb || width === 0xd || width === 0xf) end = at + 5 + u32(b, at + 1);
  else throw new SectionError(`Unknown AMQP type constructor 0x${code.toString(16)}`);
  need(b, end);
  return end;
}

function descriptorCode(b: Uint8Array, at: number): number {
  const code = b[at] as number;
  if (code === 0x53) return b[at + 1] as number;
  if (code === 0x80) return u32(b, at + 1) === 0 ? u32(b, at + 5) : -1;
  if (code === 0xa3 || code === 0xb3) {
    const long = code === 0xb3;
    const len = long ? u32(b, at + 1) : (b[at + 1] as number);
    const from = at + (long ? 5 : 2);
    return SYMBOLIC[Buffer.from(b.buffer, b.byteOffset + from, len).toString('latin1')] ?? -1;
  }
  return -1;
}

/** The sections of an encoded message, in order. */
export function splitSections(b: Uint8Array): SectionRange[] {
  const out: SectionRange[] = [];
  let at = 0;
  while (at < b.length) {
    if (b[at] !== 0x00) throw new SectionError('A message section must be a described value');
    need(b, at + 2);
    const valueAt = skipValue(b, at + 1);
    const code = descriptorCode(b, at + 1);
    if (code < HEADER || code > FOOTER) throw new SectionError('Unknown message section descriptor');
    const end = skipValue(b, valueAt);
    out.push({ code, start: at, end, valueAt });
    at = end;
  }
  return out;
}

/** The message without its delivery-annotations (which are for one hop only), copied out of `b`. */
export function withoutDeliveryAnnotations(b: Uint8Array, sections: readonly SectionRange[]): Buffer {
  const da = sections.find((s) => s.code === DELIVERY_ANNOTATIONS);
  if (!da) return Buffer.from(b);
  return Buffer.concat([b.subarray(0, da.start), b.subarray(da.end)]);
}

interface Writer {
  write(v: unknown): void;
  toBuffer(): Buffer;
}

function encode(typed: unknown): Buffer {
  const Writer = (rhea.types as unknown as { Writer: new () => Writer }).Writer; // rhea's typings omit the Writer
  const w = new Writer();
  w.write(typed);
  return w.toBuffer();
}

export interface HeaderFields {
  durable: boolean;
  priority: number;
  ttl?: number;
  firstAcquirer: boolean;
  deliveryCount: number;
}

interface DecodedHeader {
  durable?: boolean;
  priority?: number;
  ttl?: number;
}

/** The header fields the publisher set (decoded from its header section). */
export function readHeader(b: Uint8Array, s: SectionRange | undefined): DecodedHeader {
  if (!s) return {};
  return rhea.message.decode(Buffer.from(b.buffer, b.byteOffset + s.start, s.end - s.start)) as DecodedHeader;
}

function headerSection(h: HeaderFields): Buffer {
  const fields: Record<string, unknown> = {
    durable: h.durable,
    priority: h.priority,
    first_acquirer: h.firstAcquirer,
    delivery_count: h.deliveryCount,
  };
  if (h.ttl !== undefined) fields.ttl = h.ttl;
  // rhea's typings omit its section constructors.
  const header = (rhea.message as unknown as { header(f: Record<string, unknown>): { described(): unknown } }).header(fields);
  return encode(header.described());
}

function annotationPairs(extra: Readonly<Record<string, PropertyValue>>): { bytes: Buffer; count: number } {
  const parts: Buffer[] = [];
  let count = 0;
  for (const [k, v] of Object.entries(extra)) {
    parts.push(encode(rhea.types.wrap_symbol(k)), encode(rhea.types.wrap(v)));
    count += 2;
  }
  return { bytes: Buffer.concat(parts), count };
}

/**
 * The message-annotations section with `extra` added after the publisher's own entries, which stay
 * byte for byte (a key the publisher already used is not added again: a map's keys are unique).
 */
function annotationsSection(b: Uint8Array, s: SectionRange | undefined, extra: Readonly<Record<string, PropertyValue>>): Buffer {
  let fresh = extra;
  if (s) {
    const own = rhea.message.decode(Buffer.from(b.buffer, b.byteOffset + s.start, s.end - s.start)).message_annotations ?? {};
    fresh = Object.fromEntries(Object.entries(extra).filter(([k]) => !Object.hasOwn(own, k)));
  }
  const added = annotationPairs(fresh);
  let kept: Uint8Array = new Uint8Array(0);
  let count = added.count;
  if (s) {
    const code = b[s.valueAt] as number;
    if (code === 0xc1) {
      kept = b.subarray(s.valueAt + 3, s.end);
      count += b[s.valueAt + 2] as number;
    } else if (code === 0xd1) {
      kept = b.subarray(s.valueAt + 9, s.end);
      count += u32(b, s.valueAt + 5);
    } else if (code !== 0x40) throw new SectionError('message-annotations must be a map');
  }
  const head = Buffer.alloc(12);
  head.set([0x00, 0x53, MESSAGE_ANNOTATIONS, 0xd1]);
  head.writeUInt32BE(4 + kept.length + added.bytes.length, 4);
  head.writeUInt32BE(count, 8);
  return Buffer.concat([head, kept, added.bytes]);
}

/**
 * The transfer payload for a message kept as sent (`b`: its header, message-annotations, bare
 * message and footer; no delivery-annotations): the header replaced by `header`, `annotations`
 * appended to the message-annotations, everything else unchanged.
 */
export function encodeKept(
  b: Uint8Array,
  header: HeaderFields,
  annotations: Readonly<Record<string, PropertyValue>> | undefined,
  sections: readonly SectionRange[] = splitSections(b),
): Buffer {
  let i = 0;
  if (sections[i]?.code === HEADER) i++;
  let ma: SectionRange | undefined;
  if (sections[i]?.code === MESSAGE_ANNOTATIONS) ma = sections[i++];
  const restAt = sections[i]?.start ?? b.length;
  const parts: Uint8Array[] = [headerSection(header)];
  if (annotations && Object.keys(annotations).length > 0) parts.push(annotationsSection(b, ma, annotations));
  else if (ma) parts.push(b.subarray(ma.start, ma.end));
  parts.push(b.subarray(restAt));
  return Buffer.concat(parts);
}
