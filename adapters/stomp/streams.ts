// Streams over STOMP, with RabbitMQ's conventions: SUBSCRIBE to /stream/NAME with `x-stream-offset`
// (first, last, next, offset=N or N, timestamp=S; default next) and `prefetch-count` (or
// ActiveMQ's activemq.prefetchSize); `x-stream-consumer-name` names a consumer whose position the
// broker keeps; SEND to /stream/NAME with the record's partition key in `x-stream-partition-key`
// (else JMSXGroupID, else a random key). Each MESSAGE carries x-stream-offset, x-stream-shard,
// x-stream-partition-key and x-stream-sequence-number.
import { randomUUID } from 'node:crypto';
import { parseOffsetSpec, type OffsetSpec } from '../../src/streams/offsets.ts';
import { StompProtocolError } from './frame.ts';

export const STREAM_PREFIX = '/stream/';

/** The stream a destination header names, if it names one. */
export function streamNameOf(destination: string | undefined): string | undefined {
  const d = destination?.trim();
  if (d === undefined || !d.startsWith(STREAM_PREFIX)) return undefined;
  const name = d.slice(STREAM_PREFIX.length);
  if (name === '' || d.includes(',')) throw new StompProtocolError(`"${d.slice(0, 100)}" must name one stream: /stream/NAME`);
  return name;
}

export interface StreamSubscribeHeaders {
  offset: OffsetSpec;
  consumerName?: string;
  prefetch: number;
}

export function streamSubscribeHeaders(h: ReadonlyMap<string, string>, defaultPrefetch: number): StreamSubscribeHeaders {
  let offset: OffsetSpec;
  try {
    offset = parseOffsetSpec(h.get('x-stream-offset') ?? 'next');
  } catch (err) {
    throw new StompProtocolError((err as Error).message);
  }
  const prefetchText = h.get('prefetch-count') ?? h.get('activemq.prefetchSize');
  const prefetch = prefetchText === undefined ? defaultPrefetch : Number(prefetchText);
  if (!Number.isInteger(prefetch) || prefetch < 1)
    throw new StompProtocolError(`prefetch-count must be a positive integer, got "${prefetchText}"`);
  const consumerName = h.get('x-stream-consumer-name');
  return { offset, prefetch, ...(consumerName !== undefined && consumerName !== '' ? { consumerName } : {}) };
}

export function partitionKeyOf(h: ReadonlyMap<string, string>): string {
  const key = h.get('x-stream-partition-key') ?? h.get('JMSXGroupID');
  if (key === undefined || key === '') return randomUUID();
  if (key.length > 256) throw new StompProtocolError('x-stream-partition-key holds at most 256 characters');
  return key;
}
