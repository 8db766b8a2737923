// One object's worth of records: the deliveries it holds unacknowledged until the object is
// written, and how they become the object's bytes (each record's data, the delimiter after each,
// GZIP when asked) or, when delivery failed for good, Firehose's error records (one JSON line per
// record with its data in base64).
import { gzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { Delivery } from '../core/consumer.ts';
import { recordsOf } from './record-frames.ts';

const gzipAsync = promisify(gzip);

export class Batch {
  readonly tags: number[] = [];
  /** The buffered messages' ids (the journal names them). */
  readonly ids: string[] = [];
  readonly records: Uint8Array[] = [];
  readonly arrivals: number[] = [];
  /** Data and delimiters: what the size hint counts. */
  bytes = 0;
  /** The buffered messages' bodies (frames included): what the batch holds in memory. */
  messageBytes = 0;

  constructor(private readonly delimiterBytes: number) {}

  /** Adds a delivery's records (one, or a put's several); answers how many. */
  add(d: Delivery): number {
    this.tags.push(d.tag);
    this.ids.push(d.message.id);
    this.messageBytes += d.message.body.byteLength;
    const records = recordsOf(d.message);
    for (const r of records) {
      this.records.push(r);
      this.arrivals.push(d.message.timestamp);
      this.bytes += r.byteLength + this.delimiterBytes;
    }
    return records.length;
  }

  /** Records held. */
  get size(): number {
    return this.records.length;
  }

  /** Arrival time of the oldest record (its object's time). */
  get oldest(): number {
    let t = Infinity;
    for (const a of this.arrivals) if (a < t) t = a;
    return t;
  }
}

export async function encodeObject(batch: Batch, delimiter: string, compress: boolean): Promise<Buffer> {
  const d = delimiter === '' ? undefined : Buffer.from(delimiter, 'utf8');
  const parts: Uint8Array[] = [];
  for (const r of batch.records) {
    parts.push(r);
    if (d) parts.push(d);
  }
  const raw = Buffer.concat(parts);
  return compress ? gzipAsync(raw) : raw;
}

export interface ErrorRecordContext {
  streamArn: string;
  errorCode: string;
  errorMessage: string;
  attempts: number;
  now: number;
}

/** Firehose's error output: NDJSON, one line per record, its data base64 (`rawData`). */
export async function encodeErrorObject(batch: Batch, c: ErrorRecordContext, compress: boolean): Promise<Buffer> {
  const lines = batch.records.map(
    (r, i) =>
      JSON.stringify({
        attemptsMade: c.attempts,
        arrivalTimestamp: batch.arrivals[i],
        errorCode: c.errorCode,
        errorMessage: c.errorMessage,
        attemptEndingTimestamp: c.now,
        rawData: Buffer.from(r.buffer, r.byteOffset, r.byteLength).toString('base64'),
        deliveryStreamARN: c.streamArn,
      }) + '\n',
  );
  const raw = Buffer.from(lines.join(''), 'utf8');
  return compress ? gzipAsync(raw) : raw;
}
