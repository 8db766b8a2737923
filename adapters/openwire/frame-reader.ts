// Splits a byte stream into OpenWire frames: a 32-bit size, then that many bytes. The size is
// checked against the limit before anything of the frame is kept, so a client cannot make the
// broker buffer more than one frame's allowance.
import { OpenWireCodecError } from './errors.ts';

export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The size of the frame being read, once its prefix is in. */
  private size = -1;

  constructor(public maxFrameBytes: number) {}

  /** The whole frames `chunk` completes (payloads without their size prefix). */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.size < 0) {
        if (this.buffered < 4) break;
        const size = this.take(4).readInt32BE(0);
        if (size < 1) throw new OpenWireCodecError(`Frame size ${size} is not a frame`);
        if (size > this.maxFrameBytes)
          throw new OpenWireCodecError(`Frame size of ${size} bytes is larger than max allowed ${this.maxFrameBytes}`);
        this.size = size;
      }
      if (this.buffered < this.size) break;
      frames.push(this.take(this.size));
      this.size = -1;
    }
    return frames;
  }

  private take(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let at = 0;
      while (at < n) {
        const c = this.chunks[0] as Buffer;
        const k = Math.min(c.length, n - at);
        c.copy(out, at, 0, k);
        at += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.buffered -= n;
    return out;
  }
}
