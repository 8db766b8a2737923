// Streams over AMQP 1.0, with RabbitMQ's conventions: a receiving link whose source is
// `stream://NAME` (or `/stream/NAME`) reads the stream from the offset in the source filter
// `rabbitmq:stream-offset-spec` (or `x-stream-offset`): first, last, next, a long offset, a
// timestamp; default next. A durable source (or the filter `x-stream-consumer-name`) names a
// consumer whose position the broker keeps: the link name, as for durable subscriptions. A sending
// link to `stream://NAME` appends each message's body with its partition key from the application
// property `x-stream-partition-key` (else the group-id, else a random key).
import { randomUUID } from 'node:crypto';
import type { MessageInput } from '../../src/core/message.ts';
import { parseOffsetSpec, type OffsetSpec } from '../../src/streams/offsets.ts';
import type { PutInput } from '../../src/streams/streams.ts';
import { AddressError } from './addresses.ts';

export interface StreamSource {
  name: string;
  offset: OffsetSpec;
  consumerName?: string;
}

const OFFSET_FILTERS = ['rabbitmq:stream-offset-spec', 'x-stream-offset'];

/** A filter's value: rhea hands described types as { descriptor, value }. */
function valueOf(f: unknown): unknown {
  return f !== null && typeof f === 'object' && !(f instanceof Date) && 'value' in f ? (f as { value: unknown }).value : f;
}

export function streamSourceOf(name: string, filters: Record<string, unknown>, durableLinkName: string | undefined): StreamSource {
  const spec = OFFSET_FILTERS.map((k) => filters[k]).find((f) => f !== undefined);
  const offset: OffsetSpec = spec === undefined ? { kind: 'next' } : parseOffsetSpec(valueOf(spec));
  const named = valueOf(filters['x-stream-consumer-name']);
  const consumerName = typeof named === 'string' && named !== '' ? named : durableLinkName;
  return { name, offset, ...(consumerName !== undefined ? { consumerName } : {}) };
}

export function streamRecordOf(m: MessageInput): PutInput {
  const key = m.properties?.['x-stream-partition-key'];
  const k = key !== undefined ? String(key) : (m.groupId ?? randomUUID());
  if (k.length > 256) throw new AddressError('x-stream-partition-key holds at most 256 characters');
  return { key: k === '' ? randomUUID() : k, data: Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength) };
}
