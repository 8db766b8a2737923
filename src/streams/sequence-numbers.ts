// Kinesis sequence numbers over the store's record ids: digits that increase within a shard, made of
// the record's arrival millisecond, its counter within that millisecond and the shard's number, so a
// sequence number tells which shard it belongs to. Fixed width: they order as strings and as numbers.
//   4 | ms (15 digits) | counter (10) | shard number (6)
export const SEQUENCE_DIGITS = 32;

export function sequenceNumberOf(entryId: string, shardNumber: number): string {
  const dash = entryId.indexOf('-');
  return `4${entryId.slice(0, dash).padStart(15, '0')}${entryId.slice(dash + 1).padStart(10, '0')}${String(shardNumber).padStart(6, '0')}`;
}

/** The record id and shard number in a sequence number; undefined when it is not one of ours. */
export function parseSequenceNumber(s: string): { entryId: string; shardNumber: number } | undefined {
  if (!/^4\d{31}$/.test(s)) return undefined;
  return { entryId: `${Number(s.slice(1, 16))}-${Number(s.slice(16, 26))}`, shardNumber: Number(s.slice(26)) };
}

/** `shardId-000000000007` -> 7. */
export function shardNumberOf(shardId: string): number {
  return Number(shardId.slice(shardId.lastIndexOf('-') + 1));
}

export function shardIdOf(n: number): string {
  return `shardId-${String(n).padStart(12, '0')}`;
}
