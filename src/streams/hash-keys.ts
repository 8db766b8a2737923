// Kinesis's partitioning: a partition key's MD5, read as an unsigned 128-bit number, is its hash
// key; each open shard owns a contiguous range of hash keys, and together they cover 0 .. 2^128-1.
import { hash } from 'node:crypto';
import type { HashKeyRange } from '../store/stream-store.ts';

export const MAX_HASH_KEY = (1n << 128n) - 1n;

export function hashKeyOf(partitionKey: string): bigint {
  return BigInt(`0x${hash('md5', partitionKey, 'hex')}`);
}

/** `n` ranges of (nearly) equal size covering every hash key, in order. */
export function evenRanges(n: number): HashKeyRange[] {
  const size = (MAX_HASH_KEY + 1n) / BigInt(n);
  return Array.from({ length: n }, (_, i) => ({
    start: (size * BigInt(i)).toString(),
    end: (i === n - 1 ? MAX_HASH_KEY : size * BigInt(i + 1) - 1n).toString(),
  }));
}

/** A range's bounds as numbers, made once per range (ranges do not change; a reshard makes new ones). */
const bounds = new WeakMap<HashKeyRange, [bigint, bigint]>();

export function inRange(key: bigint, r: HashKeyRange): boolean {
  let b = bounds.get(r);
  if (!b) {
    b = [BigInt(r.start), BigInt(r.end)];
    bounds.set(r, b);
  }
  return key >= b[0] && key <= b[1];
}

export function rangeSize(r: HashKeyRange): bigint {
  return BigInt(r.end) - BigInt(r.start) + 1n;
}

/** A decimal hash key as Kinesis takes it (ExplicitHashKey, NewStartingHashKey); undefined when it is not one. */
export function parseHashKey(s: string): bigint | undefined {
  if (!/^\d{1,39}$/.test(s)) return undefined;
  const v = BigInt(s);
  return v <= MAX_HASH_KEY ? v : undefined;
}
