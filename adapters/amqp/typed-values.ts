// AMQP 1.0 typed values <-> the core's strings, numbers and booleans, where type information would
// otherwise be lost: message and correlation ids (uuid, ulong, binary, string) become strings with
// ActiveMQ's prefixes and are restored on the way back; application-properties are read with their
// types, and the types the spec forbids there (list, map, array, described) are refused.
import rhea from 'rhea';
import type { PropertyValue } from '../../src/core/message.ts';
import type { SectionRange } from './sections.ts';

export class ConversionError extends Error {}

/** A decoded AMQP value with its encoding (rhea's Typed; its typings omit these fields). */
interface Typed {
  type: { name: string; typecode: number };
  value: unknown;
}

const UUID = 'AMQP_UUID:';
const ULONG = 'AMQP_ULONG:';
const BINARY = 'AMQP_BINARY:';
const STRING = 'AMQP_STRING:';
const PREFIXES = [UUID, ULONG, BINARY, STRING];

function readSection(b: Uint8Array, s: SectionRange): Typed {
  const Reader = (rhea.types as unknown as { Reader: new (b: Buffer) => { read(): Typed } }).Reader; // rhea's typings omit the Reader
  return new Reader(Buffer.from(b.buffer, b.byteOffset + s.start, s.end - s.start)).read();
}

function ulongText(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (Buffer.isBuffer(v)) return v.readBigUInt64BE(0).toString();
  return String(v);
}

function uuidText(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A message-id or correlation-id as text, its type kept in ActiveMQ's prefix. */
export function idText(t: Typed | undefined): string | undefined {
  if (!t || t.value === null || t.value === undefined) return undefined;
  const code = t.type.typecode;
  if (code === 0x98) return UUID + uuidText(t.value as Buffer);
  if (code === 0x80 || code === 0x53 || code === 0x44) return ULONG + ulongText(t.value);
  if (code === 0xa0 || code === 0xb0) return BINARY + (t.value as Buffer).toString('hex').toUpperCase();
  const s = String(t.value);
  return PREFIXES.some((p) => s.startsWith(p)) ? STRING + s : s;
}

/** The AMQP value for an id in text form: the type its prefix names, else a string. */
export function idValue(text: string): unknown {
  try {
    if (text.startsWith(UUID)) return rhea.types.wrap_uuid(rhea.string_to_uuid(text.slice(UUID.length)));
    if (text.startsWith(ULONG)) {
      const n = BigInt(text.slice(ULONG.length));
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(n);
      return rhea.types.wrap_ulong(b);
    }
    if (text.startsWith(BINARY)) return rhea.types.wrap_binary(Buffer.from(text.slice(BINARY.length), 'hex'));
  } catch {
    return text;
  }
  if (text.startsWith(STRING)) return text.slice(STRING.length);
  return text;
}

export interface TypedProperties {
  messageId?: string;
  correlationId?: string;
}

/** The ids of a properties section, with their types (rhea's decoding leaves uuid and binary alike). */
export function readIds(b: Uint8Array, s: SectionRange | undefined): TypedProperties {
  if (!s) return {};
  const fields = readSection(b, s).value as Typed[];
  const out: TypedProperties = {};
  const id = idText(fields[0]);
  if (id !== undefined) out.messageId = id;
  const cid = idText(fields[5]);
  if (cid !== undefined) out.correlationId = cid;
  return out;
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function bigText(v: Buffer, signed: boolean): PropertyValue {
  const n = signed ? v.readBigInt64BE(0) : v.readBigUInt64BE(0);
  return n <= SAFE && n >= -SAFE ? Number(n) : n.toString();
}

const FORBIDDEN: Record<number, string> = {
  0x45: 'list',
  0xc0: 'list',
  0xd0: 'list',
  0xc1: 'map',
  0xd1: 'map',
  0xe0: 'array',
  0xf0: 'array',
};

/**
 * One application-property value for the core: numbers of every width as numbers (64-bit ones past
 * 2^53 as decimal strings), timestamps as ms, chars and uuids as strings, binary as base64; null
 * and decimals have no core form and are left out (undefined).
 */
function propertyValue(name: string, t: Typed): PropertyValue | undefined {
  const code = t.type.typecode;
  const kind = FORBIDDEN[code] ?? ((t as { descriptor?: unknown }).descriptor !== undefined ? 'described' : undefined);
  if (kind !== undefined)
    throw new ConversionError(`application-property "${name}" is a ${kind}; AMQP 1.0 allows only simple types there (§3.2.5)`);
  const v = t.value;
  if (v === null || v === undefined) return undefined;
  if (code === 0x83) return (v as Date).getTime();
  if (code === 0x73) return String.fromCodePoint(v as number);
  if (code === 0x98) return uuidText(v as Buffer);
  if (code === 0xa0 || code === 0xb0) return (v as Buffer).toString('base64');
  if (code === 0x74 || code === 0x84 || code === 0x94) return undefined;
  if (Buffer.isBuffer(v)) return bigText(v, code === 0x81);
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  return String(v);
}

/** The application-properties section as core properties (see `propertyValue`). */
export function readApplicationProperties(b: Uint8Array, s: SectionRange | undefined): Record<string, PropertyValue> {
  const out: Record<string, PropertyValue> = {};
  if (!s) return out;
  const map = readSection(b, s);
  if (map.type.typecode === 0x40) return out;
  if (map.type.typecode !== 0xc1 && map.type.typecode !== 0xd1) throw new ConversionError('application-properties must be a map');
  const items = map.value as Typed[];
  for (let i = 0; i + 1 < items.length; i += 2) {
    const key = items[i] as Typed;
    if (key.type.typecode !== 0xa1 && key.type.typecode !== 0xb1)
      throw new ConversionError('application-properties keys must be strings (§3.2.5)');
    const name = String(key.value);
    const v = propertyValue(name, items[i + 1] as Typed);
    if (v !== undefined) out[name] = v;
  }
  return out;
}
