// Identifiers kept for a connection's life, as flat strings. Node builds randomUUID() by joining
// pieces, and V8 keeps such a string as a rope of them: some 600 bytes instead of 50. A fleet keeps
// several per device (connection, consumer, subscription), so they are flattened once when made.

import { randomUUID } from 'node:crypto';

/** `s` as one flat string (a copy through a byte buffer; V8 offers no other way to flatten). */
export function flat(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

/** A random UUID, flat. */
export function uuid(): string {
  return flat(randomUUID());
}
