// Big-endian reads and writes as Java's DataInput/DataOutput make them, which OpenWire is written in:
// strings in Java's modified UTF-8 (NUL as two bytes, characters outside the BMP as two 3-byte
// surrogates) behind a 16-bit length. Hand-written: no npm library reads Java's modified UTF-8, and
// Node's own UTF-8 would mangle NUL and astral characters the Java client sends.
import { OpenWireCodecError } from './errors.ts';

export class DataReader {
  offset: number;
  constructor(
    readonly buf: Buffer,
    offset = 0,
    readonly end = buf.length,
  ) {
    this.offset = offset;
  }

  private need(n: number): number {
    const at = this.offset;
    if (at + n > this.end) throw new OpenWireCodecError(`Truncated frame: needed ${n} more bytes at offset ${at}, ${this.end - at} left`);
    this.offset = at + n;
    return at;
  }

  remaining(): number {
    return this.end - this.offset;
  }

  boolean(): boolean {
    return this.buf[this.need(1)] !== 0;
  }
  byte(): number {
    return this.buf.readInt8(this.need(1));
  }
  short(): number {
    return this.buf.readInt16BE(this.need(2));
  }
  unsignedShort(): number {
    return this.buf.readUInt16BE(this.need(2));
  }
  int(): number {
    return this.buf.readInt32BE(this.need(4));
  }
  /** A Java long as a number (exact up to 2^53, which ids, times and counts stay within). */
  long(): number {
    const at = this.need(8);
    return this.buf.readInt32BE(at) * 0x1_0000_0000 + this.buf.readUInt32BE(at + 4);
  }
  float(): number {
    return this.buf.readFloatBE(this.need(4));
  }
  double(): number {
    return this.buf.readDoubleBE(this.need(8));
  }
  bytes(n: number): Buffer {
    if (n < 0) throw new OpenWireCodecError(`Negative length ${n}`);
    const at = this.need(n);
    return this.buf.subarray(at, at + n);
  }
  /** DataInput.readUTF: a 16-bit length, then modified UTF-8. */
  utf(): string {
    return decodeModifiedUtf8(this.bytes(this.unsignedShort()));
  }
}

export class DataWriter {
  buf: Buffer;
  length = 0;
  constructor(size = 256) {
    this.buf = Buffer.allocUnsafe(size);
  }

  private room(n: number): number {
    const at = this.length;
    if (at + n > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, at + n));
      this.buf.copy(next, 0, 0, at);
      this.buf = next;
    }
    this.length = at + n;
    return at;
  }

  boolean(v: boolean): void {
    const at = this.room(1);
    this.buf[at] = v ? 1 : 0;
  }
  byte(v: number): void {
    const at = this.room(1);
    this.buf.writeInt8(((v & 0xff) << 24) >> 24, at);
  }
  short(v: number): void {
    const at = this.room(2);
    this.buf.writeInt16BE(((v & 0xffff) << 16) >> 16, at);
  }
  int(v: number): void {
    const at = this.room(4);
    this.buf.writeInt32BE(v | 0, at);
  }
  long(v: number): void {
    const at = this.room(8);
    const hi = Math.floor(v / 0x1_0000_0000);
    this.buf.writeInt32BE(hi | 0, at);
    this.buf.writeUInt32BE(v - hi * 0x1_0000_0000, at + 4);
  }
  float(v: number): void {
    const at = this.room(4);
    this.buf.writeFloatBE(v, at);
  }
  double(v: number): void {
    const at = this.room(8);
    this.buf.writeDoubleBE(v, at);
  }
  bytes(b: Uint8Array): void {
    const at = this.room(b.length);
    this.buf.set(b, at);
  }
  /** Writes an int now and returns where, to fill in later (a length known only after what follows). */
  placeholder(): number {
    return this.room(4);
  }
  intAt(at: number, v: number): void {
    this.buf.writeInt32BE(v | 0, at);
  }
  /** DataOutput.writeUTF. */
  /** Writes `s` behind its 16-bit length, in place; returns whether it was all ASCII (tight encoding says so). */
  utf(s: string, maxBytes = 0xffff): boolean {
    const n = modifiedUtf8Length(s);
    if (n > maxBytes) throw new OpenWireCodecError(`String of ${n} bytes is too long to encode (at most ${maxBytes})`);
    this.short(n);
    const at = this.room(n);
    if (n === s.length && isAscii(s)) {
      this.buf.write(s, at, n, 'latin1');
      return true;
    }
    encodeModifiedUtf8Into(s, this.buf, at);
    return false;
  }
  result(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

/** True when every character is 1 to 127: modified UTF-8 is then the characters' own bytes. */
export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c > 0x7f) return false;
  }
  return true;
}

export function modifiedUtf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    n += c >= 1 && c <= 0x7f ? 1 : c <= 0x7ff ? 2 : 3;
  }
  return n;
}

export function encodeModifiedUtf8(s: string): Buffer {
  if (isAscii(s)) return Buffer.from(s, 'latin1');
  const out = Buffer.allocUnsafe(modifiedUtf8Length(s));
  encodeModifiedUtf8Into(s, out, 0);
  return out;
}

function encodeModifiedUtf8Into(s: string, out: Buffer, at: number): void {
  let o = at;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 1 && c <= 0x7f) out[o++] = c;
    else if (c <= 0x7ff) {
      out[o++] = 0xc0 | (c >> 6);
      out[o++] = 0x80 | (c & 0x3f);
    } else {
      out[o++] = 0xe0 | (c >> 12);
      out[o++] = 0x80 | ((c >> 6) & 0x3f);
      out[o++] = 0x80 | (c & 0x3f);
    }
  }
}

export function decodeModifiedUtf8(b: Uint8Array): string {
  let ascii = true;
  for (let i = 0; i < b.length; i++) {
    if ((b[i] as number) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
  const units: number[] = [];
  let s = '';
  for (let i = 0; i < b.length;) {
    const x = b[i] as number;
    if (x < 0x80) {
      units.push(x);
      i++;
    } else if ((x & 0xe0) === 0xc0) {
      if (i + 1 >= b.length) throw new OpenWireCodecError('Malformed modified UTF-8: truncated 2-byte sequence');
      units.push(((x & 0x1f) << 6) | ((b[i + 1] as number) & 0x3f));
      i += 2;
    } else if ((x & 0xf0) === 0xe0) {
      if (i + 2 >= b.length) throw new OpenWireCodecError('Malformed modified UTF-8: truncated 3-byte sequence');
      units.push(((x & 0x0f) << 12) | (((b[i + 1] as number) & 0x3f) << 6) | ((b[i + 2] as number) & 0x3f));
      i += 3;
    } else {
      throw new OpenWireCodecError(`Malformed modified UTF-8: byte 0x${x.toString(16)} at ${i}`);
    }
    if (units.length >= 4096) {
      s += String.fromCharCode(...units);
      units.length = 0;
    }
  }
  return s + String.fromCharCode(...units);
}
