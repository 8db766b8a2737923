// The largest AMQP frame a client may send, checked from each frame's 4-byte size as the bytes
// arrive, before rhea sees them. rhea 3 has no bound of its own: it reads a frame's declared size
// and buffers until that many bytes are there, so a client that declares a 4 GB frame and streams
// bytes makes the broker hold them all, before it has even authenticated. Until the connection's
// OPEN is accepted the bound is small (amqp.maxHandshakeFrameBytes; RabbitMQ allows 4096 bytes
// before authentication), then it is the max-frame-size Junction announces in its OPEN
// (amqp.maxFrameBytes). Hand-written because it needs only the frame boundaries, not a decoder.
//
// A stream is protocol headers (8 bytes: "AMQP", protocol id, version; a second one follows SASL)
// and frames (4-byte size, then the rest). At a boundary, a byte 0x41 ('A') starts a header: as a
// frame size it would declare at least 1 GiB, over any bound here.

const HEADER_BYTES = 8;
const HEADER_START = 0x41;

/** Follows frame boundaries through a client's byte stream. */
export class FrameSizeGuard {
  /** Bytes of the current header or frame body still to pass. */
  private skip = 0;
  /** The size field of the next frame, as far as it has arrived. */
  private size = 0;
  private sizeBytes = 0;
  private off = false;

  /** `limit()` is the bound in force when a frame's size is read. */
  constructor(private readonly limit: () => number) {}

  /**
   * Takes the next bytes the client sent; returns a frame over the bound (its declared size, the
   * bound, and where in `chunk` the frame starts: 0 when it began in an earlier chunk), or undefined
   * while every frame fits.
   */
  feed(chunk: Uint8Array): { size: number; limit: number; at: number } | undefined {
    let i = 0;
    let start = 0;
    while (i < chunk.length && !this.off) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      const b = chunk[i] as number;
      if (this.sizeBytes === 0) {
        start = i;
        if (b === HEADER_START) {
          this.skip = HEADER_BYTES;
          continue;
        }
      }
      this.size = this.size * 256 + b;
      this.sizeBytes++;
      i++;
      if (this.sizeBytes < 4) continue;
      const size = this.size;
      this.size = 0;
      this.sizeBytes = 0;
      const limit = this.limit();
      if (size > limit) {
        this.off = true;
        return { size, limit, at: start };
      }
      // A size below the frame header's 8 bytes is malformed: rhea reports it.
      this.skip = Math.max(0, size - 4);
    }
    return undefined;
  }
}
