// The protocol level of a connection's CONNECT, read before aedes sees the bytes. MQTT 3.1.1
// §3.1.2.2 asks a server to answer a level it does not support with CONNACK 0x01 (unacceptable
// protocol level) and close; aedes's parser (mqtt-packet) instead fails on any level but 3, 4 and 5
// and closes without a word. So the first bytes are peeked (read, then put back with unshift) and a
// CONNECT with another level gets its CONNACK here. Level 5 goes to the MQTT 5 engine; anything
// else to aedes untouched, including input that is not a CONNECT, which aedes refuses.
import type { Duplex } from 'node:stream';

/** Levels Junction speaks: 3 (MQTT 3.1) and 4 (3.1.1) on aedes, 5 on the MQTT 5 engine. */
const KNOWN = new Set([3, 4, 5]);
/** CONNACK, remaining length 2, no session present, return code 1. */
export const CONNACK_UNACCEPTABLE_LEVEL = Buffer.from([0x20, 0x02, 0x00, 0x01]);

/**
 * The protocol level of the CONNECT at the start of `buf`: a number, 'not-connect' when the bytes
 * are not a CONNECT with a protocol name, or undefined when more bytes are needed to tell.
 */
export function connectLevel(buf: Buffer): number | 'not-connect' | undefined {
  if (buf.length === 0) return undefined;
  if (buf[0] !== 0x10) return 'not-connect';
  // The remaining length: one to four bytes, seven bits each.
  let i = 1;
  for (; i <= 4; i++) {
    if (i >= buf.length) return undefined;
    if (((buf[i] as number) & 0x80) === 0) break;
  }
  if (i > 4) return 'not-connect';
  const at = i + 1;
  if (buf.length < at + 2) return undefined;
  const nameLength = buf.readUInt16BE(at);
  if (nameLength > 6) return 'not-connect';
  if (buf.length < at + 2 + nameLength + 1) return undefined;
  return buf[at + 2 + nameLength] as number;
}

/**
 * Calls `accept` with the level once the connection's first bytes show a CONNECT level Junction
 * speaks (undefined: not a CONNECT at all); answers an unknown level with CONNACK 0x01 and closes.
 */
export function guardProtocolLevel(stream: Duplex, accept: (level: number | undefined) => void, refused: (level: number) => void): void {
  let seen = Buffer.alloc(0);
  const onReadable = (): void => {
    let chunk: Buffer | null;
    while ((chunk = stream.read() as Buffer | null) !== null) seen = Buffer.concat([seen, chunk]);
    const level = connectLevel(seen);
    if (level === undefined) return;
    stream.off('readable', onReadable);
    stream.off('end', onEnd);
    if (typeof level === 'number' && !KNOWN.has(level)) {
      refused(level);
      stream.end(CONNACK_UNACCEPTABLE_LEVEL);
      return;
    }
    stream.unshift(seen);
    accept(typeof level === 'number' ? level : undefined);
  };
  const onEnd = (): void => {
    stream.off('readable', onReadable);
  };
  stream.on('readable', onReadable);
  stream.once('end', onEnd);
}
