// The records of one put, kept as one message of a stream's buffer: a PutRecordBatch of 500 records
// is one store write and one delivery instead of 500. The message says how many records it holds
// (property `JunctionFirehoseRecords`); its body is each record's length (4 bytes, big-endian) then
// its bytes. A message without the property (a topic rule's, one SNS message) is one record, its
// body as it is. Written by hand: a length prefix is all there is to it.
import type { Message } from '../core/message.ts';

export const RECORD_COUNT_PROPERTY = 'JunctionFirehoseRecords';

export function frameRecords(records: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const r of records) size += 4 + r.byteLength;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const r of records) {
    out.writeUInt32BE(r.byteLength, at);
    out.set(r, at + 4);
    at += 4 + r.byteLength;
  }
  return out;
}

/** The records a buffered message holds; a frame that does not add up is one record (the body). */
export function recordsOf(m: Message): Uint8Array[] {
  const count = m.properties[RECORD_COUNT_PROPERTY];
  if (typeof count !== 'number') return [m.body];
  const body = m.body;
  const view = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const out: Uint8Array[] = [];
  let at = 0;
  while (out.length < count && at + 4 <= view.length) {
    const len = view.readUInt32BE(at);
    if (at + 4 + len > view.length) break;
    out.push(view.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return out.length === count && at === view.length ? out : [body];
}
