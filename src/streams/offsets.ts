// Where a protocol consumer starts in a stream, in RabbitMQ streams' terms (`x-stream-offset`):
// first, last, next, a numeric offset, or a timestamp. A record's offset is its arrival time and
// counter as one integer (ms × 1,000,000 + n): it fits a 64-bit long, orders the records of one
// shard, and across shards means a point in time, so an offset read from any record of a stream
// resumes the whole stream there. A Kinesis sequence number is taken as well.
import { splitId } from '../store/stream-store.ts';
import { parseSequenceNumber } from './sequence-numbers.ts';
import { StreamArgumentError } from './stream-errors.ts';

export type OffsetSpec =
  | { kind: 'first' }
  | { kind: 'last' }
  | { kind: 'next' }
  /** From this record id on (itself included). */
  | { kind: 'at'; entryId: string }
  | { kind: 'timestamp'; ms: number };

const PER_MS = 1_000_000n;

export function streamOffsetOf(entryId: string): string {
  const [ms, n] = splitId(entryId);
  return (BigInt(ms) * PER_MS + BigInt(n)).toString();
}

export function entryIdOfOffset(offset: bigint): string {
  if (offset < 0n) throw new StreamArgumentError(`A stream offset is not negative, got ${offset}`);
  return `${offset / PER_MS}-${offset % PER_MS}`;
}

/**
 * An offset spec as a client gives it: `first`, `last`, `next`, `offset=N` or a number N, `timestamp=S`
 * (seconds since the epoch, as RabbitMQ's), a Date, or a Kinesis sequence number.
 */
export function parseOffsetSpec(v: unknown): OffsetSpec {
  if (v instanceof Date) return { kind: 'timestamp', ms: v.getTime() };
  if (typeof v === 'bigint') return { kind: 'at', entryId: entryIdOfOffset(v) };
  if (typeof v === 'number' && Number.isSafeInteger(v)) return { kind: 'at', entryId: entryIdOfOffset(BigInt(v)) };
  if (typeof v !== 'string')
    throw new StreamArgumentError(`Unknown stream offset ${String(v)}: first, last, next, a number or timestamp=<seconds>`);
  const s = v.trim();
  if (s === 'first' || s === 'last' || s === 'next') return { kind: s };
  const seq = parseSequenceNumber(s);
  if (seq) return { kind: 'at', entryId: seq.entryId };
  const offset = /^(?:offset=)?(\d{1,19})$/.exec(s);
  if (offset) return { kind: 'at', entryId: entryIdOfOffset(BigInt(offset[1] as string)) };
  const ts = /^timestamp=(\d+(?:\.\d+)?)$/.exec(s);
  if (ts) return { kind: 'timestamp', ms: Math.round(Number(ts[1]) * 1000) };
  throw new StreamArgumentError(`Unknown stream offset "${s}": first, last, next, offset=<n>, <n> or timestamp=<seconds>`);
}
