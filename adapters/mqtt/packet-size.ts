// The largest MQTT packet a client may send (`mqtt.maxPacketBytes`). aedes 1.2's parser
// (mqtt-packet 9) has no bound: it buffers a packet whole, whatever length its fixed header
// declares, so one client could make the broker hold 256 MB. Here each packet's declared length is
// read from its fixed header as aedes reads the stream, and a packet over the limit closes the
// connection before its body arrives (MQTT 3.1.1 has no error packet for it; Mosquitto and EMQX
// close too). The first packet, the CONNECT, comes before authentication and has a bound of its own
// (limits.maxHandshakeBytes), so an unauthenticated client makes the broker hold little. Hand-written
// because it needs only the fixed header, not a parse of the packet.

/** Follows packet boundaries through a byte stream, from each fixed header's remaining length. */
export class PacketSizeGuard {
  /** Body bytes of the current packet still to pass. */
  private body = 0;
  /** Inside a fixed header: -1 before its type byte was seen, else how many length bytes so far. */
  private lengthBytes = -1;
  private length = 0;
  private multiplier = 1;
  private off = false;
  /** The next packet is the connection's first (its CONNECT). */
  private first = true;

  constructor(
    private readonly maxBytes: number,
    /** The bound on the first packet, when it differs. */
    private readonly firstMaxBytes = maxBytes,
  ) {}

  /**
   * Takes the next bytes the client sent; returns the total size of a packet over the limit (its
   * fixed header says so), the limit it is over, and where in `chunk` that packet starts (0 when it
   * began in an earlier chunk), or undefined while every packet fits.
   */
  feed(chunk: Uint8Array): { size: number; at: number; limit: number } | undefined {
    let i = 0;
    let start = 0;
    while (i < chunk.length && !this.off) {
      if (this.body > 0) {
        const skip = Math.min(this.body, chunk.length - i);
        this.body -= skip;
        i += skip;
        continue;
      }
      const b = chunk[i++] as number;
      if (this.lengthBytes < 0) {
        start = i - 1;
        this.lengthBytes = 0;
        this.length = 0;
        this.multiplier = 1;
        continue;
      }
      this.length += (b & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes++;
      if (b & 0x80) {
        // A fifth length byte is malformed: aedes' parser reports it; nothing more to follow here.
        if (this.lengthBytes === 4) this.off = true;
        continue;
      }
      const size = 1 + this.lengthBytes + this.length;
      const limit = this.first ? this.firstMaxBytes : this.maxBytes;
      this.first = false;
      if (size > limit) {
        this.off = true;
        return { size, at: start, limit };
      }
      this.body = this.length;
      this.lengthBytes = -1;
    }
    return undefined;
  }
}

/** The readable side of `stream`, as aedes reads it (`read()`), checked against `maxBytes`. */
interface Readable {
  read(size?: number): unknown;
}

/**
 * Watches what aedes reads from `stream` (it reads with `read()` on 'readable'). At the first
 * packet over `maxBytes` (`firstMaxBytes` for the CONNECT), aedes gets only the bytes before it, and
 * nothing after: `tooBig` is called with its declared size and the limit, and should close the
 * connection.
 */
export function limitPacketSize(
  stream: Readable,
  maxBytes: number,
  firstMaxBytes: number,
  tooBig: (size: number, limit: number) => void,
): void {
  const guard = new PacketSizeGuard(maxBytes, firstMaxBytes);
  const read = stream.read.bind(stream);
  let refused = false;
  stream.read = (size?: number): unknown => {
    const chunk = read(size);
    if (refused) return null;
    if (!(chunk instanceof Uint8Array)) return chunk;
    const over = guard.feed(chunk);
    if (over === undefined) return chunk;
    refused = true;
    tooBig(over.size, over.limit);
    return over.at > 0 ? chunk.subarray(0, over.at) : null;
  };
}
