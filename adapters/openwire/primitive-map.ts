// ActiveMQ's typed values (MarshallingSupport): message properties, MapMessage and StreamMessage
// bodies, and WireFormatInfo options are Java primitives, strings, byte arrays, maps and lists, each
// behind a type byte. Decoding is bounded by the bytes at hand and by nesting depth.
import { DataReader, DataWriter, decodeModifiedUtf8, encodeModifiedUtf8 } from './data-io.ts';
import { OpenWireCodecError } from './errors.ts';

export type JavaValue =
  | { readonly t: 'null' }
  | { readonly t: 'boolean'; readonly v: boolean }
  | { readonly t: 'byte' | 'short' | 'int' | 'long' | 'float' | 'double'; readonly v: number }
  | { readonly t: 'char' | 'string'; readonly v: string }
  | { readonly t: 'bytes'; readonly v: Uint8Array }
  | { readonly t: 'map'; readonly v: Map<string, JavaValue> }
  | { readonly t: 'list'; readonly v: JavaValue[] };

const MAX_DEPTH = 16;
/** Past this many characters a string is written as BIG_STRING (a 32-bit length), as ActiveMQ does. */
const BIG_STRING_CHARS = 0x7fff / 4;

enum Tag {
  Null = 0,
  Boolean = 1,
  Byte = 2,
  Char = 3,
  Short = 4,
  Int = 5,
  Long = 6,
  Double = 7,
  Float = 8,
  String = 9,
  Bytes = 10,
  Map = 11,
  List = 12,
  BigString = 13,
}

export function readValue(r: DataReader, depth = 0): JavaValue {
  if (depth > MAX_DEPTH) throw new OpenWireCodecError(`Typed values nested deeper than ${MAX_DEPTH}`);
  const tag = r.byte() as Tag;
  switch (tag) {
    case Tag.Null:
      return { t: 'null' };
    case Tag.Boolean:
      return { t: 'boolean', v: r.boolean() };
    case Tag.Byte:
      return { t: 'byte', v: r.byte() };
    case Tag.Char:
      return { t: 'char', v: String.fromCharCode(r.unsignedShort()) };
    case Tag.Short:
      return { t: 'short', v: r.short() };
    case Tag.Int:
      return { t: 'int', v: r.int() };
    case Tag.Long:
      return { t: 'long', v: r.long() };
    case Tag.Double:
      return { t: 'double', v: r.double() };
    case Tag.Float:
      return { t: 'float', v: r.float() };
    case Tag.String:
      return { t: 'string', v: r.utf() };
    case Tag.BigString:
      return { t: 'string', v: decodeModifiedUtf8(r.bytes(sized(r))) };
    case Tag.Bytes:
      return { t: 'bytes', v: Buffer.from(r.bytes(sized(r))) };
    case Tag.Map:
      return { t: 'map', v: readMapBody(r, depth + 1) ?? new Map() };
    case Tag.List: {
      const n = sized(r);
      const list: JavaValue[] = [];
      for (let i = 0; i < n; i++) list.push(readValue(r, depth + 1));
      return { t: 'list', v: list };
    }
    default:
      throw new OpenWireCodecError(`Unknown typed value tag ${String(tag)}`);
  }
}

/** A 32-bit count or length that must fit in what is left of the buffer. */
function sized(r: DataReader): number {
  const n = r.int();
  if (n < 0 || n > r.remaining())
    throw new OpenWireCodecError(`A typed value claims ${n} entries or bytes; ${r.remaining()} bytes are left`);
  return n;
}

function readMapBody(r: DataReader, depth: number): Map<string, JavaValue> | null {
  const n = r.int();
  if (n < 0) return null;
  if (n > r.remaining()) throw new OpenWireCodecError(`A map claims ${n} entries; ${r.remaining()} bytes are left`);
  const map = new Map<string, JavaValue>();
  for (let i = 0; i < n; i++) {
    const key = r.utf();
    map.set(key, readValue(r, depth));
  }
  return map;
}

/** A marshalled primitive map (message properties, a MapMessage body, WireFormatInfo options). */
export function decodeMap(bytes: Uint8Array): Map<string, JavaValue> {
  const r = new DataReader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
  return readMapBody(r, 0) ?? new Map();
}

export function writeValue(w: DataWriter, v: JavaValue): void {
  switch (v.t) {
    case 'null':
      return w.byte(Tag.Null);
    case 'boolean':
      w.byte(Tag.Boolean);
      return w.boolean(v.v);
    case 'byte':
      w.byte(Tag.Byte);
      return w.byte(v.v);
    case 'char':
      w.byte(Tag.Char);
      return w.short(v.v.charCodeAt(0));
    case 'short':
      w.byte(Tag.Short);
      return w.short(v.v);
    case 'int':
      w.byte(Tag.Int);
      return w.int(v.v);
    case 'long':
      w.byte(Tag.Long);
      return w.long(v.v);
    case 'double':
      w.byte(Tag.Double);
      return w.double(v.v);
    case 'float':
      w.byte(Tag.Float);
      return w.float(v.v);
    case 'string':
      if (v.v.length < BIG_STRING_CHARS) {
        w.byte(Tag.String);
        w.utf(v.v);
        return;
      } else {
        const b = encodeModifiedUtf8(v.v);
        w.byte(Tag.BigString);
        w.int(b.length);
        return w.bytes(b);
      }
    case 'bytes':
      w.byte(Tag.Bytes);
      w.int(v.v.length);
      return w.bytes(v.v);
    case 'map':
      w.byte(Tag.Map);
      return writeMapBody(w, v.v);
    case 'list':
      w.byte(Tag.List);
      w.int(v.v.length);
      for (const x of v.v) writeValue(w, x);
      return;
  }
}

function writeMapBody(w: DataWriter, map: ReadonlyMap<string, JavaValue>): void {
  w.int(map.size);
  for (const [k, v] of map) {
    w.utf(k);
    writeValue(w, v);
  }
}

export function encodeMap(map: ReadonlyMap<string, JavaValue>): Buffer {
  const w = new DataWriter(64 + map.size * 16);
  writeMapBody(w, map);
  return w.result();
}

/** A JavaValue as JSON-able data (MapMessage and StreamMessage bodies for other protocols). */
export function toPlain(v: JavaValue): unknown {
  switch (v.t) {
    case 'null':
      return null;
    case 'bytes':
      return Buffer.from(v.v).toString('base64');
    case 'map':
      return Object.fromEntries([...v.v].map(([k, x]) => [k, toPlain(x)]));
    case 'list':
      return v.v.map(toPlain);
    default:
      return v.v;
  }
}
