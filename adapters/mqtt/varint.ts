// MQTT's Variable Byte Integer (3.1.1 §2.2.3 Remaining Length; MQTT 5 §1.5.5): seven bits per byte,
// least significant first, the top bit set while more bytes follow. Used to write packet headers
// by hand (publish-encoder.ts) and by the bench and tests that craft packets mqtt-packet would refuse.

/** Bytes `n` takes (at most 4: 268,435,455). */
export function varintBytes(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

/** Writes `n` into `b` at `at`; returns where the next field starts. */
export function writeVarint(b: Buffer, at: number, n: number): number {
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    b[at++] = byte;
  } while (n > 0);
  return at;
}

/** `n` as its own buffer. */
export function varint(n: number): Buffer {
  const b = Buffer.allocUnsafe(varintBytes(n));
  writeVarint(b, 0, n);
  return b;
}
