// The OpenWire codec of one connection: it interprets the layout table (layouts.ts) for the wire
// version, encoding (loose or tight) and marshalling cache the two sides negotiated, so no command
// has code of its own. Hand-written: no maintained OpenWire implementation exists on npm (the
// `openwire` packages there are unmaintained sketches without tight encoding or the cache).
import { BooleanReader, BooleanWriter } from './boolean-stream.ts';
import { DataReader, DataWriter } from './data-io.ts';
import { OpenWireCodecError } from './errors.ts';
import type { Field, FieldKind, Struct, WireThrowable, WireValue } from './layout-types.ts';
import { LAYOUTS } from './layouts.ts';

/** What the two sides agreed on in their WireFormatInfo exchange. */
export interface WireSettings {
  version: number;
  tight: boolean;
  cache: boolean;
  cacheSize: number;
  stackTrace: boolean;
}

/** Nesting past this is an attack, not a command (throwable causes, structures in structures). */
const MAX_DEPTH = 32;
/** Data structures whose nested encoding carries an extra "marshalled form follows" flag. */
const MARSHALL_AWARE = new Set([1, 23, 24, 25, 26, 27, 28, 29]);

const NAMES = new Map<number, string>();
for (const [name, l] of Object.entries(LAYOUTS)) if (l.type !== undefined) NAMES.set(l.type, name);

/** Type bytes by structure name. */
export const TYPE: Readonly<Record<string, number>> = Object.fromEntries([...NAMES].map(([t, n]) => [n, t]));

const fieldCache = new Map<string, readonly Field[] | null>();

/** A type's fields in wire order for `version` (its ancestors' first); null when the type is unknown. */
function fieldsOf(type: number, version: number): readonly Field[] | null {
  const key = `${type}/${version}`;
  let f = fieldCache.get(key);
  if (f !== undefined) return f;
  const name = NAMES.get(type);
  const layout = name === undefined ? undefined : LAYOUTS[name];
  if (!layout || (layout.since ?? 9) > version) f = null;
  else {
    const chain = [];
    for (let l: typeof layout | undefined = layout; l; l = l.parent ? LAYOUTS[l.parent] : undefined) chain.unshift(l);
    f = chain.flatMap((l) => l.fields.filter(([, , since]) => (since ?? 9) <= version));
  }
  fieldCache.set(key, f);
  return f;
}

function emptyOf(kind: FieldKind): WireValue {
  switch (kind) {
    case 'boolean':
      return false;
    case 'byte':
    case 'short':
    case 'int':
    case 'long':
      return 0;
    default:
      return null;
  }
}

export class OpenWireCodec {
  settings: WireSettings;
  private decodeCache: Array<Struct | null> = [];
  private encodeCache = new Map<string, number>();
  private encodeSlots: Array<string | undefined> = [];
  private nextSlot = 0;
  /** Scratch space for encoding: the frame, and a tight frame's data before its boolean stream. */
  private readonly out = new DataWriter(4096);
  private readonly data = new DataWriter(4096);
  /** Each type's fields for the negotiated version, by type byte. */
  private fieldTable: Array<readonly Field[] | null | undefined> = [];

  /** Before negotiation both sides speak loose encoding without the cache (the WireFormatInfo exchange). */
  constructor(settings: Partial<WireSettings> = {}) {
    this.settings = { version: 12, tight: false, cache: false, cacheSize: 1024, stackTrace: false, ...settings };
  }

  /** Applies the negotiated settings; both caches start empty. */
  negotiated(settings: WireSettings): void {
    this.settings = settings;
    this.fieldTable = [];
    this.decodeCache = new Array<Struct | null>(settings.cacheSize).fill(null);
    this.encodeCache = new Map();
    this.encodeSlots = new Array<string | undefined>(settings.cacheSize);
    this.nextSlot = 0;
  }

  // ---- decoding --------------------------------------------------------------------------

  /** One command from a frame's payload (after the size prefix): its type byte, then its fields. */
  decode(payload: Buffer): Struct | null {
    const r = new DataReader(payload);
    const type = r.byte() & 0xff;
    if (type === 0) return null;
    const s = this.settings.tight ? this.readTight(r, type, new BooleanReader(r), 0) : this.readLoose(r, type, 0);
    return s;
  }

  private fields(type: number): readonly Field[] {
    let f = this.fieldTable[type];
    if (f === undefined) {
      f = fieldsOf(type, this.settings.version);
      this.fieldTable[type] = f;
    }
    if (!f) throw new OpenWireCodecError(`Unknown data structure type ${type} for OpenWire version ${this.settings.version}`);
    return f;
  }

  private readLoose(r: DataReader, type: number, depth: number): Struct {
    if (depth > MAX_DEPTH) throw new OpenWireCodecError(`Data structures nested deeper than ${MAX_DEPTH}`);
    const s: Struct = { dataType: type };
    for (const [name, kind] of this.fields(type)) s[name] = this.looseValue(r, kind, depth);
    return s;
  }

  private looseNested(r: DataReader, depth: number): Struct | null {
    return r.boolean() ? this.readLoose(r, r.byte() & 0xff, depth + 1) : null;
  }

  private looseValue(r: DataReader, kind: FieldKind, depth: number): WireValue {
    switch (kind) {
      case 'boolean':
        return r.boolean();
      case 'byte':
        return r.byte();
      case 'short':
        return r.short();
      case 'int':
        return r.int();
      case 'long':
        return r.long();
      case 'string':
        return r.boolean() ? r.utf() : null;
      case 'bytes':
        return r.boolean() ? this.counted(r) : null;
      case 'const8':
        return r.bytes(8);
      case 'nested':
        return this.looseNested(r, depth);
      case 'cached': {
        if (!this.settings.cache) return this.looseNested(r, depth);
        const fresh = r.boolean();
        const index = r.short();
        return fresh ? this.remember(index, this.looseNested(r, depth)) : this.recall(index);
      }
      case 'array': {
        if (!r.boolean()) return null;
        const n = r.short();
        const list: Struct[] = [];
        for (let i = 0; i < n; i++) {
          const s = this.looseNested(r, depth);
          if (s) list.push(s);
        }
        return list;
      }
      case 'throwable':
        return this.looseThrowable(r, depth);
    }
  }

  private looseThrowable(r: DataReader, depth: number): WireThrowable | null {
    if (depth > MAX_DEPTH) throw new OpenWireCodecError(`Exception causes nested deeper than ${MAX_DEPTH}`);
    if (!r.boolean()) return null;
    const className = r.boolean() ? r.utf() : '';
    const message = r.boolean() ? r.utf() : null;
    if (this.settings.stackTrace) {
      const frames = r.short();
      for (let i = 0; i < frames; i++) {
        for (let j = 0; j < 3; j++) if (r.boolean()) r.utf();
        r.int();
      }
      this.looseThrowable(r, depth + 1);
    }
    return { className, message };
  }

  private readTight(r: DataReader, type: number, bs: BooleanReader, depth: number): Struct {
    if (depth > MAX_DEPTH) throw new OpenWireCodecError(`Data structures nested deeper than ${MAX_DEPTH}`);
    const s: Struct = { dataType: type };
    for (const [name, kind] of this.fields(type)) s[name] = this.tightValue(r, bs, kind, depth);
    return s;
  }

  private tightNested(r: DataReader, bs: BooleanReader, depth: number): Struct | null {
    if (!bs.read()) return null;
    const type = r.byte() & 0xff;
    if (MARSHALL_AWARE.has(type) && bs.read()) {
      // A structure sent in its own marshalled form: a size, its type again, and a boolean stream of its own.
      r.int();
      r.byte();
      return this.readTight(r, type, new BooleanReader(r), depth + 1);
    }
    return this.readTight(r, type, bs, depth + 1);
  }

  private tightValue(r: DataReader, bs: BooleanReader, kind: FieldKind, depth: number): WireValue {
    switch (kind) {
      case 'boolean':
        return bs.read();
      case 'byte':
        return r.byte();
      case 'short':
        return r.short();
      case 'int':
        return r.int();
      case 'long':
        if (bs.read()) return bs.read() ? r.long() : r.int() >>> 0;
        return bs.read() ? r.short() & 0xffff : 0;
      case 'string':
        if (!bs.read()) return null;
        return bs.read() ? r.bytes(r.short() & 0xffff).toString('latin1') : r.utf();
      case 'bytes':
        return bs.read() ? this.counted(r) : null;
      case 'const8':
        return r.bytes(8);
      case 'nested':
        return this.tightNested(r, bs, depth);
      case 'cached': {
        if (!this.settings.cache) return this.tightNested(r, bs, depth);
        const fresh = bs.read();
        const index = r.short();
        return fresh ? this.remember(index, this.tightNested(r, bs, depth)) : this.recall(index);
      }
      case 'array': {
        if (!bs.read()) return null;
        const n = r.short();
        const list: Struct[] = [];
        for (let i = 0; i < n; i++) {
          const s = this.tightNested(r, bs, depth);
          if (s) list.push(s);
        }
        return list;
      }
      case 'throwable':
        return this.tightThrowable(r, bs, depth);
    }
  }

  private tightThrowable(r: DataReader, bs: BooleanReader, depth: number): WireThrowable | null {
    if (depth > MAX_DEPTH) throw new OpenWireCodecError(`Exception causes nested deeper than ${MAX_DEPTH}`);
    if (!bs.read()) return null;
    const str = (): string | null => (bs.read() ? (bs.read() ? r.bytes(r.short() & 0xffff).toString('latin1') : r.utf()) : null);
    const className = str() ?? '';
    const message = str();
    if (this.settings.stackTrace) {
      const frames = r.short();
      for (let i = 0; i < frames; i++) {
        str();
        str();
        str();
        r.int();
      }
      this.tightThrowable(r, bs, depth + 1);
    }
    return { className, message };
  }

  private counted(r: DataReader): Buffer {
    const n = r.int();
    if (n < 0 || n > r.remaining()) throw new OpenWireCodecError(`A byte sequence claims ${n} bytes; the frame has ${r.remaining()} left`);
    return r.bytes(n);
  }

  private remember(index: number, s: Struct | null): Struct | null {
    if (index === -1) return s;
    if (index < 0 || index >= this.decodeCache.length) throw new OpenWireCodecError(`Marshalling cache index ${index} is out of range`);
    this.decodeCache[index] = s;
    return s;
  }

  private recall(index: number): Struct | null {
    const s = index >= 0 ? this.decodeCache[index] : undefined;
    if (s === undefined) throw new OpenWireCodecError(`Marshalling cache index ${index} is out of range`);
    return s;
  }

  // ---- encoding --------------------------------------------------------------------------

  /** A command as a whole frame: its size prefix, then its type byte and fields. */
  encode(s: Struct): Buffer {
    if (this.settings.tight) {
      const bs = new BooleanWriter();
      const data = this.data;
      data.length = 0;
      this.writeTight(data, bs, s);
      // One copy out of the scratch buffer: size, type, the boolean stream, then the data.
      const size = 1 + bs.size() + data.length;
      const frame = Buffer.allocUnsafe(4 + size);
      frame.writeInt32BE(size, 0);
      frame[4] = s.dataType;
      const at = bs.marshalInto(frame, 5);
      data.buf.copy(frame, at, 0, data.length);
      return frame;
    }
    const out = this.out;
    out.length = 0;
    const at = out.placeholder();
    out.byte(s.dataType);
    this.writeLoose(out, s);
    out.intAt(at, out.length - 4);
    // The scratch buffer is reused for the next command: the frame is copied out of it.
    return Buffer.from(out.result());
  }

  private writeLoose(out: DataWriter, s: Struct): void {
    for (const [name, kind] of this.fields(s.dataType)) this.looseWrite(out, kind, s[name] ?? emptyOf(kind));
  }

  private looseNestedWrite(out: DataWriter, s: Struct | null): void {
    out.boolean(s !== null);
    if (!s) return;
    out.byte(s.dataType);
    this.writeLoose(out, s);
  }

  private looseWrite(out: DataWriter, kind: FieldKind, v: WireValue): void {
    switch (kind) {
      case 'boolean':
        return out.boolean(v === true);
      case 'byte':
        return out.byte(v as number);
      case 'short':
        return out.short(v as number);
      case 'int':
        return out.int(v as number);
      case 'long':
        return out.long(v as number);
      case 'string':
        out.boolean(v !== null);
        if (v !== null) out.utf(v as string);
        return;
      case 'bytes':
        out.boolean(v !== null);
        if (v !== null) {
          out.int((v as Uint8Array).length);
          out.bytes(v as Uint8Array);
        }
        return;
      case 'const8':
        return out.bytes(v as Uint8Array);
      case 'nested':
        return this.looseNestedWrite(out, v as Struct | null);
      case 'cached': {
        if (!this.settings.cache) return this.looseNestedWrite(out, v as Struct | null);
        const { index, fresh } = this.slotFor(v as Struct | null);
        out.boolean(fresh);
        out.short(index);
        if (fresh) this.looseNestedWrite(out, v as Struct | null);
        return;
      }
      case 'array':
        out.boolean(v !== null);
        if (v !== null) {
          out.short((v as Struct[]).length);
          for (const s of v as Struct[]) this.looseNestedWrite(out, s);
        }
        return;
      case 'throwable': {
        const t = v as WireThrowable | null;
        out.boolean(t !== null);
        if (!t) return;
        this.looseWrite(out, 'string', t.className);
        this.looseWrite(out, 'string', t.message);
        if (this.settings.stackTrace) {
          out.short(0);
          out.boolean(false);
        }
        return;
      }
    }
  }

  private writeTight(out: DataWriter, bs: BooleanWriter, s: Struct): void {
    for (const [name, kind] of this.fields(s.dataType)) this.tightWrite(out, bs, kind, s[name] ?? emptyOf(kind));
  }

  private tightNestedWrite(out: DataWriter, bs: BooleanWriter, s: Struct | null): void {
    bs.write(s !== null);
    if (!s) return;
    if (MARSHALL_AWARE.has(s.dataType)) bs.write(false);
    out.byte(s.dataType);
    this.writeTight(out, bs, s);
  }

  private tightString(out: DataWriter, bs: BooleanWriter, v: string | null): void {
    bs.write(v !== null);
    if (v === null) return;
    bs.write(out.utf(v, 0x7ffe));
  }

  private tightWrite(out: DataWriter, bs: BooleanWriter, kind: FieldKind, v: WireValue): void {
    switch (kind) {
      case 'boolean':
        return bs.write(v === true);
      case 'byte':
        return out.byte(v as number);
      case 'short':
        return out.short(v as number);
      case 'int':
        return out.int(v as number);
      case 'long': {
        const n = v as number;
        if (n === 0) {
          bs.write(false);
          bs.write(false);
        } else if (n > 0 && n <= 0xffff) {
          bs.write(false);
          bs.write(true);
          out.short(n);
        } else if (n > 0 && n <= 0xffff_ffff) {
          bs.write(true);
          bs.write(false);
          out.int(n);
        } else {
          bs.write(true);
          bs.write(true);
          out.long(n);
        }
        return;
      }
      case 'string':
        return this.tightString(out, bs, v as string | null);
      case 'bytes':
        bs.write(v !== null);
        if (v !== null) {
          out.int((v as Uint8Array).length);
          out.bytes(v as Uint8Array);
        }
        return;
      case 'const8':
        return out.bytes(v as Uint8Array);
      case 'nested':
        return this.tightNestedWrite(out, bs, v as Struct | null);
      case 'cached': {
        if (!this.settings.cache) return this.tightNestedWrite(out, bs, v as Struct | null);
        const { index, fresh } = this.slotFor(v as Struct | null);
        bs.write(fresh);
        out.short(index);
        if (fresh) this.tightNestedWrite(out, bs, v as Struct | null);
        return;
      }
      case 'array':
        bs.write(v !== null);
        if (v !== null) {
          out.short((v as Struct[]).length);
          for (const s of v as Struct[]) this.tightNestedWrite(out, bs, s);
        }
        return;
      case 'throwable': {
        const t = v as WireThrowable | null;
        bs.write(t !== null);
        if (!t) return;
        this.tightString(out, bs, t.className);
        this.tightString(out, bs, t.message);
        if (this.settings.stackTrace) {
          out.short(0);
          bs.write(false);
        }
        return;
      }
    }
  }

  /**
   * The cache slot of an equal structure sent before, or a new one (the peer stores it there). Null
   * takes a slot too, as in ActiveMQ's marshaller: a cached field that is null is still indexed.
   */
  private slotFor(s: Struct | null): { index: number; fresh: boolean } {
    const key = s === null ? '' : structKey(s);
    const known = this.encodeCache.get(key);
    if (known !== undefined) return { index: known, fresh: false };
    const index = this.nextSlot;
    this.nextSlot = (index + 1) % this.encodeSlots.length;
    const old = this.encodeSlots[index];
    if (old !== undefined) this.encodeCache.delete(old);
    this.encodeSlots[index] = key;
    this.encodeCache.set(key, index);
    return { index, fresh: true };
  }
}

/** Keys of structures seen before: the same ids and destinations are sent again and again. */
const keys = new WeakMap<Struct, string>();

/** Equal structures (by type and fields, as Java's equals) have equal keys. */
function structKey(s: Struct): string {
  let k = keys.get(s);
  if (k === undefined) {
    k = computeKey(s);
    keys.set(s, k);
  }
  return k;
}

function computeKey(s: Struct): string {
  let k = String(s.dataType);
  for (const name in s) {
    if (name === 'dataType') continue;
    const v = s[name];
    k +=
      '\u0000' +
      (v !== null && typeof v === 'object'
        ? v instanceof Uint8Array
          ? Buffer.from(v).toString('base64')
          : 'dataType' in v
            ? structKey(v as Struct)
            : JSON.stringify(v)
        : String(v));
  }
  return k;
}
