// The order of MQTT 5 User Properties, which a broker must keep when it forwards a message
// ([MQTT-3.3.2-18]) and mqtt-packet does not: its parser gathers the values of a repeated name into
// one array and its encoder writes them together, so `a=1, b=2, a=3` would come out as
// `a=1, a=3, b=2`. Inbound, the property bytes the parser just read are scanned again for the pairs
// in order; outbound, the encoded PUBLISH's run of User Property entries (same pairs, so the same
// length) is rewritten in the original order. Hand-written because no MQTT library for Node keeps
// the order; only the property section is read, with mqtt-packet's own table of property types.
import constants from 'mqtt-packet/constants.js';

export type UserPropertyList = Array<[string, string]>;

const USER_PROPERTY = 0x26;
const codes = constants.propertiesCodes;
const types = constants.propertiesTypes;

/** A position in a buffer, moved by the readers below; they throw RangeError past the end. */
interface Cursor {
  buf: Buffer;
  at: number;
}

function varInt(c: Cursor): number {
  let value = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    const b = c.buf[c.at++];
    if (b === undefined) throw new RangeError('truncated variable byte integer');
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return value;
  }
  throw new RangeError('variable byte integer over 4 bytes');
}

function utf8(c: Cursor): string {
  const n = c.buf.readUInt16BE(c.at);
  if (c.at + 2 + n > c.buf.length) throw new RangeError('string runs past the end');
  const s = c.buf.toString('utf8', c.at + 2, c.at + 2 + n);
  c.at += 2 + n;
  return s;
}

/** Skips one property value of `type` (mqtt-packet's names). */
function skip(c: Cursor, type: string | undefined): void {
  switch (type) {
    case 'byte':
    case 'int8':
      c.at += 1;
      return;
    case 'int16':
      c.at += 2;
      return;
    case 'int32':
      c.at += 4;
      return;
    case 'var':
      varInt(c);
      return;
    case 'string':
    case 'binary':
      c.at += 2 + c.buf.readUInt16BE(c.at);
      return;
    default:
      throw new RangeError(`unknown property type ${String(type)}`);
  }
}

/**
 * The User Properties, in order, of a property section (its variable-length prefix first), with
 * where their entries start and end (they are contiguous in what mqtt-packet encodes).
 */
export function scanUserProperties(section: Buffer, from = 0): { pairs: UserPropertyList; start: number; end: number } {
  const c: Cursor = { buf: section, at: from };
  const length = varInt(c);
  const stop = c.at + length;
  const pairs: UserPropertyList = [];
  let start = -1;
  let end = -1;
  if (stop > section.length) throw new RangeError('property length runs past the end');
  while (c.at < stop) {
    const entry = c.at;
    const id = section[c.at++] as number;
    if (id === USER_PROPERTY) {
      if (start < 0) start = entry;
      pairs.push([utf8(c), utf8(c)]);
      end = c.at;
    } else {
      skip(c, types[codes[id] ?? '']);
    }
  }
  return { pairs, start, end };
}

/** True when mqtt-packet's grouping (all values of a name together, names by first use) changes the order. */
export function needsReorder(pairs: UserPropertyList): boolean {
  const done = new Set<string>();
  let current: string | undefined;
  for (const [name] of pairs) {
    if (name === current) continue;
    if (done.has(name)) return true;
    if (current !== undefined) done.add(current);
    current = name;
  }
  return false;
}

/** The pairs as mqtt-packet takes them: one key per name, an array for a repeated one. */
export function grouped(pairs: UserPropertyList): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of pairs) {
    const had = out[k];
    out[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  }
  return out;
}

/** An encoded MQTT 5 PUBLISH with its User Property entries rewritten in `pairs`' order (in place). */
export function reorderEncodedPublish(packet: Buffer, pairs: UserPropertyList): Buffer {
  const c: Cursor = { buf: packet, at: 1 };
  varInt(c); // remaining length
  const qos = ((packet[0] as number) >> 1) & 0x03;
  c.at += 2 + packet.readUInt16BE(c.at); // topic
  if (qos > 0) c.at += 2; // packet id
  const { start, end } = scanUserProperties(packet, c.at);
  if (start < 0) return packet;
  const entries = Buffer.concat(
    pairs.map(([k, v]) => {
      const kb = Buffer.from(k, 'utf8');
      const vb = Buffer.from(v, 'utf8');
      const e = Buffer.allocUnsafe(5 + kb.length + vb.length);
      e[0] = USER_PROPERTY;
      e.writeUInt16BE(kb.length, 1);
      kb.copy(e, 3);
      e.writeUInt16BE(vb.length, 3 + kb.length);
      vb.copy(e, 5 + kb.length);
      return e;
    }),
  );
  if (entries.length !== end - start) throw new RangeError('reordered user properties do not fill the encoded ones');
  entries.copy(packet, start);
  return packet;
}

/** Where an inbound packet's properties carry their User Properties in order (when grouping would change it). */
export const USER_PROPERTY_ORDER = Symbol('userPropertyOrder');

/** The parts of mqtt-packet 9's Parser used here (not in its typings). */
interface ParserInternals {
  _pos: number;
  _list: { slice(start: number, end: number): Buffer };
  _parseProperties(): unknown;
  _emitError(err: Error): void;
}

/**
 * Makes `parser` (an mqtt-packet 9 Parser) note the User Properties of each property set it reads,
 * in order, under USER_PROPERTY_ORDER, when mqtt-packet's grouping loses the order or a pair.
 */
export function keepUserPropertyOrder(parser: object): void {
  const p = parser as ParserInternals;
  const parseProperties = p._parseProperties;
  p._parseProperties = function (this: ParserInternals): unknown {
    const from = this._pos;
    const result = parseProperties.call(this);
    if (result && typeof result === 'object' && 'userProperties' in result) {
      let pairs: UserPropertyList;
      try {
        ({ pairs } = scanUserProperties(this._list.slice(from, this._pos)));
      } catch (err) {
        // Lengths that run past the property section: malformed, whatever mqtt-packet made of it.
        this._emitError(new Error(`malformed properties: ${(err as Error).message}`));
        return result;
      }
      // mqtt-packet also drops a repeat whose first value is empty: the count tells.
      const kept = Object.values((result as { userProperties: object }).userProperties).flat().length;
      if (needsReorder(pairs) || kept !== pairs.length) (result as Record<symbol, unknown>)[USER_PROPERTY_ORDER] = pairs;
    }
    return result;
  };
}
