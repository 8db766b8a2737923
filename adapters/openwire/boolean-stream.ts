// OpenWire's tight encoding packs every boolean of a command (flags, and whether each optional field
// is present) into one bit stream written before the command's data: its length (1, 2 or 3 bytes),
// then the bits, least significant first.
import { OpenWireCodecError } from './errors.ts';
import type { DataReader } from './data-io.ts';

export class BooleanWriter {
  private bytes: number[] = [];
  private bit = 8;

  write(v: boolean): void {
    if (this.bit === 8) {
      this.bytes.push(0);
      this.bit = 0;
    }
    if (v) this.bytes[this.bytes.length - 1] = (this.bytes[this.bytes.length - 1] as number) | (1 << this.bit);
    this.bit++;
  }

  /** Bytes `marshal` writes. */
  size(): number {
    const n = this.bytes.length;
    return (n < 64 ? 1 : n < 256 ? 2 : 3) + n;
  }

  /** Writes the stream into `buf` at `at`; returns where it ends. */
  marshalInto(buf: Buffer, at: number): number {
    const n = this.bytes.length;
    if (n < 64) buf[at++] = n;
    else if (n < 256) {
      buf[at++] = 0xc0;
      buf[at++] = n;
    } else {
      buf[at++] = 0x80;
      buf.writeUInt16BE(n, at);
      at += 2;
    }
    for (let i = 0; i < n; i++) buf[at++] = this.bytes[i] as number;
    return at;
  }
}

export class BooleanReader {
  private readonly bits: Uint8Array;
  private pos = 0;

  constructor(r: DataReader) {
    let n = r.byte() & 0xff;
    if (n === 0xc0) n = r.byte() & 0xff;
    else if (n === 0x80) n = r.unsignedShort();
    this.bits = r.bytes(n);
  }

  read(): boolean {
    const byte = this.pos >> 3;
    if (byte >= this.bits.length) throw new OpenWireCodecError('Truncated frame: its boolean stream ran out');
    const v = (((this.bits[byte] as number) >> (this.pos & 7)) & 1) === 1;
    this.pos++;
    return v;
  }
}
