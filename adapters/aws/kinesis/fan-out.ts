// Kinesis enhanced fan-out: registered stream consumers (Register/Deregister/Describe/
// ListStreamConsumers) and SubscribeToShard, whose answer is an event stream (event-stream.ts): an
// initial response, then SubscribeToShardEvents as records arrive (at least one every 5 seconds
// while idle), each with its ContinuationSequenceNumber and MillisBehindLatest, ChildShards at a
// closed shard's end, for 5 minutes (the client subscribes again from its continuation), over
// HTTP/2 or HTTP/1.1. One subscription per consumer and shard at a time.
import { setTimeout as sleep } from 'node:timers/promises';
import { parseSequenceNumber, sequenceNumberOf, shardNumberOf } from '../../../src/streams/sequence-numbers.ts';
import type { StreamEntry, Streams } from '../../../src/streams/streams.ts';
import { AwsError } from '../errors.ts';
import type { JsonObject } from '../model/shape.ts';
import { isObject, optionalInt, optionalString, requiredString } from '../params.ts';
import type { AwsCall, EventStreamOutput, StreamedEvent } from '../service.ts';
import { timestamp } from './kinesis-params.ts';

const SUBSCRIPTION_MS = 5 * 60_000;
const IDLE_EVENT_MS = 5_000;
const EVENT_RECORDS = 10_000;
const CONSUMER_ARN = /^arn:aws[a-z-]*:kinesis:[^:]*:\d{12}:stream\/([a-zA-Z0-9_.-]+)\/consumer\/([a-zA-Z0-9_.-]+):(\d+)$/;
const CONSUMER_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;

export interface FanOutHost {
  streams: Streams;
  arn(stream: string): string;
  /** The stream a request names by StreamARN (or StreamName). */
  streamName(input: JsonObject): string;
  /** Whether the caller may: throws AccessDeniedException. */
  check(call: AwsCall, permission: 'read' | 'admin', stream: string): void;
  accountId: string;
}

type Consumer = { name: string; createdAt: number };

export class FanOut {
  /** Subscriptions under way, by consumer ARN and shard. */
  private readonly active = new Set<string>();

  constructor(private readonly h: FanOutHost) {}

  consumerArn(stream: string, c: Consumer): string {
    return `${this.h.arn(stream)}/consumer/${c.name}:${Math.floor(c.createdAt / 1000)}`;
  }

  private description(stream: string, c: Consumer): JsonObject {
    return {
      ConsumerName: c.name,
      ConsumerARN: this.consumerArn(stream, c),
      ConsumerStatus: 'ACTIVE',
      ConsumerCreationTimestamp: new Date(c.createdAt) as unknown as string,
    };
  }

  /** The stream and consumer a request names: a ConsumerARN, or StreamARN and ConsumerName. */
  private named(input: JsonObject, call: AwsCall, permission: 'read' | 'admin'): { stream: string; consumer: Consumer } {
    const arn = optionalString(input, 'ConsumerARN');
    let stream: string;
    let name: string;
    if (arn !== undefined) {
      const m = CONSUMER_ARN.exec(arn);
      if (!m) throw new AwsError('InvalidArgumentException', `ConsumerARN ${arn} is not a Kinesis stream consumer ARN`);
      [stream, name] = [m[1] as string, m[2] as string];
    } else {
      stream = this.h.streamName(input);
      name = requiredString(input, 'ConsumerName');
    }
    this.h.check(call, permission, stream);
    const consumer = this.h.streams.consumer(stream, name);
    if (arn !== undefined && arn !== this.consumerArn(stream, consumer))
      throw new AwsError('ResourceNotFoundException', `Consumer ${arn} not found: the consumer of that name was registered anew since`);
    return { stream, consumer };
  }

  async register(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const stream = this.h.streamName(input);
    this.h.check(call, 'admin', stream);
    const name = requiredString(input, 'ConsumerName');
    if (!CONSUMER_NAME.test(name))
      throw new AwsError('ValidationException', `ConsumerName ${name} must be 1 to 128 letters, digits, _ . -`);
    const c = await this.h.streams.registerConsumer(stream, name);
    return { Consumer: this.description(stream, c) };
  }

  async deregister(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const { stream, consumer } = this.named(input, call, 'admin');
    await this.h.streams.deregisterConsumer(stream, consumer.name);
    return {};
  }

  describe(input: JsonObject, call: AwsCall): JsonObject {
    const { stream, consumer } = this.named(input, call, 'read');
    return { ConsumerDescription: { ...this.description(stream, consumer), StreamARN: this.h.arn(stream) } };
  }

  list(input: JsonObject, call: AwsCall): JsonObject {
    const stream = this.h.streamName(input);
    this.h.check(call, 'read', stream);
    const max = optionalInt(input, 'MaxResults', 1, 10_000) ?? 100;
    const token = optionalString(input, 'NextToken');
    const after = token === undefined ? undefined : Buffer.from(token, 'base64url').toString();
    const all = (this.h.streams.get(stream).consumers ?? []).filter((c) => after === undefined || c.name > after);
    const page = all.slice(0, max);
    return {
      Consumers: page.map((c) => this.description(stream, c)),
      ...(all.length > page.length ? { NextToken: Buffer.from((page.at(-1) as Consumer).name).toString('base64url') } : {}),
    };
  }

  subscribe(input: JsonObject, call: AwsCall): EventStreamOutput {
    const signal = call.signal;
    const { stream, consumer } = this.named(input, call, 'read');
    const shardId = requiredString(input, 'ShardId');
    const shard = this.h.streams.get(stream).shards.find((s) => s.id === shardId);
    if (!shard)
      throw new AwsError(
        'ResourceNotFoundException',
        `Shard ${shardId} in stream ${stream} under account ${this.h.accountId} does not exist`,
      );
    const start = isObject(input.StartingPosition) ? input.StartingPosition : undefined;
    if (!start)
      throw new AwsError(
        'ValidationException',
        "1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: Member must not be null",
      );
    const key = `${this.consumerArn(stream, consumer)}\n${shardId}`;
    if (this.active.has(key))
      throw new AwsError('ResourceInUseException', `Another active subscription exists for consumer ${consumer.name} on shard ${shardId}`);
    const position = this.startOf(start, shardId);
    this.active.add(key);
    const streams = this.h.streams;
    const number = shardNumberOf(shardId);
    const release = (): void => void this.active.delete(key);
    async function* events(): AsyncGenerator<StreamedEvent> {
      try {
        let { from, inclusive } = await position(streams, stream);
        yield { type: 'initial-response', payload: {} };
        const until = Date.now() + SUBSCRIPTION_MS;
        let lastEvent = Date.now();
        while (!signal.aborted && Date.now() < until && streams.has(stream)) {
          const entries: StreamEntry[] = await streams.read(stream, shardId, from, inclusive, EVENT_RECORDS);
          const last = entries.at(-1);
          if (last) {
            from = last.id;
            inclusive = false;
          }
          const closed = streams.get(stream).shards.find((s) => s.id === shardId)?.closedAt !== undefined;
          const end = closed && entries.length < EVENT_RECORDS;
          if (entries.length > 0 || end || Date.now() - lastEvent >= IDLE_EVENT_MS) {
            const tip = entries.length === EVENT_RECORDS ? await streams.last(stream, shardId) : undefined;
            streams.noteRead(stream, shardId, entries);
            yield {
              type: 'SubscribeToShardEvent',
              payload: {
                Records: entries.map((e) => ({
                  SequenceNumber: sequenceNumberOf(e.id, number),
                  ApproximateArrivalTimestamp: new Date(e.at) as unknown as string,
                  Data: e.data as unknown as string,
                  PartitionKey: e.key,
                })),
                ContinuationSequenceNumber: sequenceNumberOf(from, number),
                MillisBehindLatest: tip && last ? Math.max(0, tip.at - last.at) : 0,
                ...(end
                  ? {
                      ChildShards: streams.children(stream, shardId).map((c) => ({
                        ShardId: c.id,
                        ParentShards: [c.parent, c.adjacentParent].filter((p): p is string => p !== undefined),
                        HashKeyRange: { StartingHashKey: c.range.start, EndingHashKey: c.range.end },
                      })),
                    }
                  : {}),
              },
            };
            lastEvent = Date.now();
            if (end) return;
          }
          if (entries.length === 0) await waitForRecords(streams, stream, signal);
        }
      } finally {
        release();
      }
    }
    return { eventStream: events() };
  }

  /** Where a subscription starts, as a position in the shard (resolved when the stream is read). */
  private startOf(start: JsonObject, shardId: string): (streams: Streams, stream: string) => Promise<{ from: string; inclusive: boolean }> {
    const type = requiredString(start, 'Type');
    switch (type) {
      case 'TRIM_HORIZON':
        return async () => ({ from: '0-0', inclusive: true });
      case 'LATEST':
        return async (streams, stream) => {
          const last = await streams.last(stream, shardId);
          return { from: last?.id ?? '0-0', inclusive: last === undefined };
        };
      case 'AT_TIMESTAMP': {
        const at = timestamp(start, 'Timestamp');
        if (at === undefined) throw new AwsError('InvalidArgumentException', 'Timestamp is required for AT_TIMESTAMP');
        return async () => ({ from: `${Math.max(0, at)}-0`, inclusive: true });
      }
      case 'AT_SEQUENCE_NUMBER':
      case 'AFTER_SEQUENCE_NUMBER': {
        const p = parseSequenceNumber(requiredString(start, 'SequenceNumber'));
        if (!p || p.shardNumber !== shardNumberOf(shardId))
          throw new AwsError('InvalidArgumentException', `Invalid SequenceNumber for shard ${shardId}`);
        return async () => ({ from: p.entryId, inclusive: type === 'AT_SEQUENCE_NUMBER' });
      }
      default:
        throw new AwsError(
          'ValidationException',
          `StartingPosition.Type ${type} is not one of TRIM_HORIZON, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER`,
        );
    }
  }
}

/** Resolves when the stream changes (records appended), after a second at most, or when the client goes. */
async function waitForRecords(streams: Streams, stream: string, signal: AbortSignal): Promise<void> {
  const changed = new AbortController();
  const stop = streams.onChange(stream, () => changed.abort());
  const onAbort = (): void => changed.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await sleep(1000, undefined, { signal: changed.signal }).catch(() => {});
  } finally {
    stop();
    signal.removeEventListener('abort', onAbort);
  }
}
