// OpenWire's tight encoding packs every boolean of a command (flags, and whether each optional field
// is present) into one bit stream written before the command's data: its length (1, 2 or 3 bytes),
// then the bits, least significant first.
import { OpenWireCodecError } from './errors.ts';
import type { DataReader, DataWriter } from './data-io.ts';

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

  marshal(out: DataWriter): void {
    const n = this.bytes.length;
    if (n < 64) out.byte(n);
    else if (n < 256) {
      out.byte(0xc0);
      out.byte(n);
    } else {
      out.byte(0x80);
      out.short(n);
    }
    out.bytes(Uint8Array.from(this.bytes));
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
