// Kinesis shard iterators: opaque tokens naming a stream, a shard and a position in it, valid for
// five minutes from when they were issued. Nothing is kept in the broker: the token carries it all,
// so an iterator stays good across a takeover by another broker. A checksum tells garbled or made-up
// tokens from real ones; the stream's creation time, an iterator of a stream deleted and made again.
// Who may read is checked on the stream the token names, so a forged token opens nothing.
import { createHash } from 'node:crypto';

export const ITERATOR_LIFETIME_MS = 5 * 60_000;

export interface ShardPosition {
  stream: string;
  /** The stream's creation time: an iterator outlives no DeleteStream. */
  createdAt: number;
  shard: string;
  /** A record id (`<ms>-<n>`) and whether the record itself comes next. */
  from: string;
  inclusive: boolean;
  issuedAt: number;
}

export type IteratorProblem = 'invalid' | 'expired';

function digest(payload: string): string {
  return createHash('sha256').update(payload).digest('base64url').slice(0, 16);
}

export function encodeIterator(p: ShardPosition): string {
  const payload = Buffer.from(JSON.stringify([1, p.stream, p.createdAt, p.shard, p.from, p.inclusive ? 1 : 0, p.issuedAt])).toString(
    'base64url',
  );
  return `${payload}.${digest(payload)}`;
}

export function decodeIterator(token: string, now: number): ShardPosition | IteratorProblem {
  const dot = token.lastIndexOf('.');
  if (dot < 0) return 'invalid';
  const payload = token.slice(0, dot);
  if (digest(payload) !== token.slice(dot + 1)) return 'invalid';
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return 'invalid';
  }
  if (!Array.isArray(v) || v.length !== 7 || v[0] !== 1) return 'invalid';
  const [, stream, createdAt, shard, from, inclusive, issuedAt] = v as [number, string, number, string, string, number, number];
  if (now - issuedAt > ITERATOR_LIFETIME_MS) return 'expired';
  return { stream, createdAt, shard, from, inclusive: inclusive === 1, issuedAt };
}
