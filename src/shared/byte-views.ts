// Whether one byte array is a view into another: a message body that lies inside the message's
// original encoding is held and stored once (the core counts it once; the Redis codec stores its place).

/** Where `part` lies inside `whole`, or -1 when it is not a view into it. */
export function offsetWithin(part: Uint8Array, whole: Uint8Array): number {
  if (part.buffer !== whole.buffer) return -1;
  const at = part.byteOffset - whole.byteOffset;
  return at >= 0 && at + part.byteLength <= whole.byteLength ? at : -1;
}
