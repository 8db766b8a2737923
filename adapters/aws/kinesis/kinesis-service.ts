// Amazon Kinesis Data Streams (JSON 1.1 and CBOR, `X-Amz-Target: Kinesis_20131202.*`) on the
// broker's streams (src/streams): streams and their shards, records in and out through shard
// iterators, resharding, retention, modes, tags, encryption and monitoring switches, as the SDKs,
// boto3 and the KCL call them, with enhanced fan-out (fan-out.ts). A stream X is authorized as
// queue `stream.X`: write to put records, read to describe and read, admin to make, change or delete it.
import type { Logger } from 'pino';
import type { Permission } from '../../../src/core/principal.ts';
import { JunctionError } from '../../../src/shared/errors.ts';
import type { SecurityService } from '../../../src/security/security-service.ts';
import { parseHashKey } from '../../../src/streams/hash-keys.ts';
import { parseSequenceNumber, sequenceNumberOf, shardNumberOf } from '../../../src/streams/sequence-numbers.ts';
import {
  compareEntryIds,
  MAX_RECORD_BYTES,
  streamAuthority,
  STREAM_NAME,
  type PutInput,
  type ShardRecord,
  type StreamEntry,
  type StreamMode,
  type StreamRecord,
  type Streams,
} from '../../../src/streams/streams.ts';
import { authorize, mayUse } from '../access.ts';
import { AwsError } from '../errors.ts';
import { kinesisModel } from '../model/kinesis-shapes.ts';
import type { JsonObject, JsonValue } from '../model/shape.ts';
import { isObject, objectList, optionalInt, optionalString, requiredString, stringList, stringMap } from '../params.ts';
import type { AwsCall, AwsService, EventStreamOutput } from '../service.ts';
import { FanOut } from './fan-out.ts';
import { blob, timestamp, validation } from './kinesis-params.ts';
import { decodeIterator, encodeIterator, type ShardPosition } from './shard-iterators.ts';

export interface KinesisOptions {
  streams: Streams;
  security: SecurityService;
  log: Logger;
  region: string;
  accountId: string;
}

const MAX_PUT_RECORDS = 500;
const MAX_PUT_RECORDS_BYTES = 5 * 1024 * 1024;
const MAX_GET_RECORDS = 10_000;
const MAX_GET_BYTES = 10 * 1024 * 1024;
const MAX_PARTITION_KEY = 256;

type Handler = (input: JsonObject, call: AwsCall) => Promise<JsonObject> | JsonObject;
/** Output values beyond JSON's: blobs and timestamps, written per wire protocol (wire.ts). */
type Out = JsonValue | Buffer | Date | undefined | Out[] | { [k: string]: Out };

export class KinesisService implements AwsService {
  readonly signingName = 'kinesis';
  readonly model = kinesisModel;
  readonly jsonTargetPrefix = 'Kinesis_20131202';
  readonly jsonVersion = '1.1' as const;
  private readonly handlers: Record<string, Handler>;
  private readonly fanOut: FanOut;

  constructor(private readonly o: KinesisOptions) {
    this.handlers = {
      CreateStream: (i, c) => this.create(i, c),
      DeleteStream: (i, c) => this.delete(i, c),
      DescribeStream: (i, c) => this.describe(i, c),
      DescribeStreamSummary: (i, c) => this.describeSummary(i, c),
      ListStreams: (i, c) => this.listStreams(i, c),
      ListShards: (i, c) => this.listShards(i, c),
      PutRecord: (i, c) => this.putRecord(i, c),
      PutRecords: (i, c) => this.putRecords(i, c),
      GetShardIterator: (i, c) => this.getShardIterator(i, c),
      GetRecords: (i, c) => this.getRecords(i, c),
      IncreaseStreamRetentionPeriod: (i, c) => this.retention(i, c, 'increase'),
      DecreaseStreamRetentionPeriod: (i, c) => this.retention(i, c, 'decrease'),
      SplitShard: (i, c) => this.split(i, c),
      MergeShards: (i, c) => this.merge(i, c),
      UpdateShardCount: (i, c) => this.updateShardCount(i, c),
      UpdateStreamMode: (i, c) => this.updateMode(i, c),
      AddTagsToStream: (i, c) => this.addTags(i, c),
      RemoveTagsFromStream: (i, c) => this.removeTags(i, c),
      ListTagsForStream: (i, c) => this.listTags(i, c),
      StartStreamEncryption: (i, c) => this.encryption(i, c, true),
      StopStreamEncryption: (i, c) => this.encryption(i, c, false),
      EnableEnhancedMonitoring: (i, c) => this.monitoring(i, c, true),
      DisableEnhancedMonitoring: (i, c) => this.monitoring(i, c, false),
      DescribeLimits: () => this.limits(),
      RegisterStreamConsumer: (i, c) => this.fanOut.register(i, c),
      DeregisterStreamConsumer: (i, c) => this.fanOut.deregister(i, c),
      DescribeStreamConsumer: (i, c) => this.fanOut.describe(i, c),
      ListStreamConsumers: (i, c) => this.fanOut.list(i, c),
    };
    this.fanOut = new FanOut({
      streams: o.streams,
      arn: (stream) => this.arn(stream),
      streamName: (input) => this.streamName(input),
      check: (call, permission, stream) => this.check(call, permission, stream),
      accountId: o.accountId,
    });
  }

  async handle(input: JsonObject, call: AwsCall): Promise<JsonObject | EventStreamOutput> {
    if (call.action === 'SubscribeToShard') {
      try {
        return this.fanOut.subscribe(input, call);
      } catch (err) {
        throw kinesisError(err);
      }
    }
    const h = this.handlers[call.action];
    if (!h) throw new AwsError('UnknownOperationException', `Unknown operation ${call.action}`);
    try {
      return await h(input, call);
    } catch (err) {
      throw kinesisError(err);
    }
  }

  arn(name: string): string {
    return `arn:aws:kinesis:${this.o.region}:${this.o.accountId}:stream/${name}`;
  }

  // ---- streams ---------------------------------------------------------------------------------

  private async create(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const name = requiredString(input, 'StreamName');
    if (!STREAM_NAME.test(name))
      throw validation(
        `1 validation error detected: Value '${name}' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+`,
      );
    this.check(call, 'admin', name);
    const mode = modeOf(input) ?? 'PROVISIONED';
    const shards = optionalInt(input, 'ShardCount', 1, 100_000);
    if (mode === 'PROVISIONED' && shards === undefined) throw validation('ShardCount is required for a PROVISIONED stream');
    const tags = stringMap(input, 'Tags');
    await this.o.streams.create(name, shards, mode, tags);
    return {};
  }

  private async delete(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const name = this.streamName(input);
    this.check(call, 'admin', name);
    await this.o.streams.delete(name);
    return {};
  }

  private describe(input: JsonObject, call: AwsCall): JsonObject {
    const name = this.streamName(input);
    this.check(call, 'read', name);
    const r = this.o.streams.get(name);
    const limit = optionalInt(input, 'Limit', 1, 10_000) ?? 100;
    const after = optionalString(input, 'ExclusiveStartShardId');
    const all = r.shards.filter((s) => after === undefined || s.id > after);
    const page = all.slice(0, limit);
    return out({
      StreamDescription: {
        ...this.summary(r),
        Shards: page.map((s) => shardDescription(s)),
        HasMoreShards: all.length > page.length,
      },
    });
  }

  private describeSummary(input: JsonObject, call: AwsCall): JsonObject {
    const name = this.streamName(input);
    this.check(call, 'read', name);
    const r = this.o.streams.get(name);
    return out({
      StreamDescriptionSummary: {
        ...this.summary(r),
        OpenShardCount: r.shards.filter((s) => s.closedAt === undefined).length,
        ConsumerCount: r.consumers?.length ?? 0,
      },
    });
  }

  private summary(r: StreamRecord): { [k: string]: Out } {
    return {
      StreamName: r.name,
      StreamARN: this.arn(r.name),
      StreamStatus: 'ACTIVE',
      StreamModeDetails: { StreamMode: r.mode },
      RetentionPeriodHours: r.retentionHours,
      StreamCreationTimestamp: new Date(r.createdAt),
      EnhancedMonitoring: [{ ShardLevelMetrics: r.shardLevelMetrics ?? [] }],
      EncryptionType: r.encryptionKeyId !== undefined ? 'KMS' : 'NONE',
      ...(r.encryptionKeyId !== undefined ? { KeyId: r.encryptionKeyId } : {}),
    };
  }

  private listStreams(input: JsonObject, call: AwsCall): JsonObject {
    const limit = optionalInt(input, 'Limit', 1, 10_000) ?? 100;
    const token = optionalString(input, 'NextToken');
    const after = token !== undefined ? fromToken(token) : optionalString(input, 'ExclusiveStartStreamName');
    const visible = this.o.streams
      .list()
      .filter((r) => mayUse(this.o.security, call.principal, streamAuthority(r.name)))
      .filter((r) => after === undefined || r.name > after);
    const page = visible.slice(0, limit);
    const more = visible.length > page.length;
    return out({
      StreamNames: page.map((r) => r.name),
      HasMoreStreams: more,
      StreamSummaries: page.map((r) => ({
        StreamName: r.name,
        StreamARN: this.arn(r.name),
        StreamStatus: 'ACTIVE',
        StreamModeDetails: { StreamMode: r.mode },
        StreamCreationTimestamp: new Date(r.createdAt),
      })),
      ...(more ? { NextToken: toToken((page.at(-1) as StreamRecord).name) } : {}),
    });
  }

  private listShards(input: JsonObject, call: AwsCall): JsonObject {
    const token = optionalString(input, 'NextToken');
    let name: string;
    let after: string | undefined;
    if (token !== undefined) {
      if (input.StreamName !== undefined)
        throw new AwsError('InvalidArgumentException', 'NextToken and StreamName cannot be provided together.');
      const t = fromToken(token).split('\n');
      name = t[0] as string;
      after = t[1];
    } else {
      name = this.streamName(input);
      after = optionalString(input, 'ExclusiveStartShardId');
    }
    this.check(call, 'read', name);
    const r = this.o.streams.get(name);
    const limit = optionalInt(input, 'MaxResults', 1, 10_000) ?? 1000;
    const filter = isObject(input.ShardFilter) ? input.ShardFilter : undefined;
    const type = filter ? optionalString(filter, 'Type') : undefined;
    let shards = r.shards;
    if (type === 'AT_LATEST') shards = shards.filter((s) => s.closedAt === undefined);
    else if (type === 'AFTER_SHARD_ID') {
      const id = filter ? requiredString(filter, 'ShardId') : '';
      shards = shards.filter((s) => s.id > id);
    } else if (type === 'AT_TIMESTAMP' || type === 'FROM_TIMESTAMP') {
      const at = (filter ? timestamp(filter, 'Timestamp') : undefined) ?? 0;
      shards = shards.filter((s) => s.closedAt === undefined || s.closedAt >= at);
    }
    const all = shards.filter((s) => after === undefined || s.id > after);
    const page = all.slice(0, limit);
    const more = all.length > page.length;
    return out({
      Shards: page.map((s) => shardDescription(s)),
      ...(more ? { NextToken: toToken(`${name}\n${(page.at(-1) as ShardRecord).id}`) } : {}),
    });
  }

  // ---- records ---------------------------------------------------------------------------------

  private async putRecord(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const name = this.streamName(input);
    this.check(call, 'write', name);
    const record = recordInput(input, 'PutRecord');
    const ordering = optionalString(input, 'SequenceNumberForOrdering');
    if (ordering !== undefined && parseSequenceNumber(ordering) === undefined)
      throw new AwsError('InvalidArgumentException', `SequenceNumberForOrdering ${ordering} is not a sequence number of this stream`);
    const [result] = await this.o.streams.put(name, [record]);
    if (!result || 'error' in result) throw result?.error ?? new AwsError('InternalFailure', 'The record was not stored', 500, false);
    return { ShardId: result.shardId, SequenceNumber: result.sequenceNumber, EncryptionType: this.encryptionType(name) };
  }

  private async putRecords(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const name = this.streamName(input);
    this.check(call, 'write', name);
    const entries = objectList(input, 'Records');
    if (entries.length === 0 || entries.length > MAX_PUT_RECORDS)
      throw validation(
        `1 validation error detected: Value at 'records' failed to satisfy constraint: Member must have length between 1 and ${MAX_PUT_RECORDS}`,
      );
    const records = entries.map((e) => recordInput(e, 'PutRecords'));
    const total = records.reduce((n, r) => n + r.data.length + Buffer.byteLength(r.key), 0);
    if (total > MAX_PUT_RECORDS_BYTES)
      throw new AwsError(
        'InvalidArgumentException',
        `Records size ${total} bytes exceeds the limit of ${MAX_PUT_RECORDS_BYTES} bytes per PutRecords request`,
      );
    const results = await this.o.streams.put(name, records);
    let failed = 0;
    const outRecords = results.map((r): JsonObject => {
      if (!('error' in r)) return { SequenceNumber: r.sequenceNumber, ShardId: r.shardId };
      failed++;
      const e = kinesisError(r.error);
      const code = e instanceof AwsError && e.code === 'ProvisionedThroughputExceededException' ? e.code : 'InternalFailure';
      return { ErrorCode: code, ErrorMessage: r.error.message };
    });
    return { FailedRecordCount: failed, Records: outRecords, EncryptionType: this.encryptionType(name) };
  }

  private async getShardIterator(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const name = this.streamName(input);
    this.check(call, 'read', name);
    const shardId = requiredString(input, 'ShardId');
    const r = this.o.streams.get(name);
    const shard = r.shards.find((s) => s.id === shardId);
    if (!shard)
      throw new AwsError(
        'ResourceNotFoundException',
        `Shard ${shardId} in stream ${name} under account ${this.o.accountId} does not exist`,
      );
    const type = requiredString(input, 'ShardIteratorType');
    const seq = optionalString(input, 'StartingSequenceNumber');
    const at = timestamp(input, 'Timestamp');
    let from: string;
    let inclusive: boolean;
    switch (type) {
      case 'TRIM_HORIZON':
        [from, inclusive] = ['0-0', true];
        break;
      case 'LATEST': {
        const last = await this.o.streams.last(name, shardId);
        [from, inclusive] = [last?.id ?? '0-0', last === undefined];
        break;
      }
      case 'AT_SEQUENCE_NUMBER':
      case 'AFTER_SEQUENCE_NUMBER': {
        if (seq === undefined) throw new AwsError('InvalidArgumentException', `StartingSequenceNumber is required for ${type}`);
        const p = parseSequenceNumber(seq);
        if (!p || p.shardNumber !== shardNumberOf(shardId))
          throw new AwsError(
            'InvalidArgumentException',
            `Invalid StartingSequenceNumber. It encodes ${p ? `shardId-${String(p.shardNumber).padStart(12, '0')}` : 'no shard'}, while it was used in a call to a shard with ${shardId}`,
          );
        const last = await this.o.streams.last(name, shardId);
        if (!last || compareEntryIds(p.entryId, last.id) > 0)
          throw new AwsError(
            'InvalidArgumentException',
            `StartingSequenceNumber ${seq} used in GetShardIterator on shard ${shardId} in stream ${name} under account ${this.o.accountId} is invalid because it did not come from this stream.`,
          );
        [from, inclusive] = [p.entryId, type === 'AT_SEQUENCE_NUMBER'];
        break;
      }
      case 'AT_TIMESTAMP':
        if (at === undefined) throw new AwsError('InvalidArgumentException', 'Timestamp is required for AT_TIMESTAMP');
        [from, inclusive] = [`${Math.max(0, at)}-0`, true];
        break;
      default:
        throw validation(
          `1 validation error detected: Value '${type}' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]`,
        );
    }
    return {
      ShardIterator: encodeIterator({ stream: name, createdAt: r.createdAt, shard: shardId, from, inclusive, issuedAt: Date.now() }),
    };
  }

  private async getRecords(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const token = requiredString(input, 'ShardIterator');
    const limit = optionalInt(input, 'Limit', 1, MAX_GET_RECORDS) ?? MAX_GET_RECORDS;
    const now = Date.now();
    const p = decodeIterator(token, now);
    if (p === 'expired')
      throw new AwsError('ExpiredIteratorException', `Iterator expired. The iterator was created more than 5 minutes ago.`);
    if (p === 'invalid') throw new AwsError('InvalidArgumentException', `Invalid ShardIterator.`);
    this.check(call, 'read', p.stream);
    const r = this.o.streams.has(p.stream) ? this.o.streams.get(p.stream) : undefined;
    if (!r || r.createdAt !== p.createdAt)
      throw new AwsError('ResourceNotFoundException', `Stream ${p.stream} under account ${this.o.accountId} not found.`);
    const shard = r.shards.find((s) => s.id === p.shard);
    if (!shard)
      throw new AwsError(
        'ResourceNotFoundException',
        `Shard ${p.shard} in stream ${p.stream} under account ${this.o.accountId} does not exist`,
      );
    this.o.streams.admitRead(p.stream, p.shard);
    const entries = await this.o.streams.read(p.stream, p.shard, p.from, p.inclusive, limit);
    let bytes = 0;
    let n = 0;
    while (n < entries.length && (n === 0 || bytes + (entries[n] as StreamEntry).data.length <= MAX_GET_BYTES))
      bytes += (entries[n++] as StreamEntry).data.length;
    const page = entries.slice(0, n);
    this.o.streams.noteRead(p.stream, p.shard, page);
    const lastRead = page.at(-1);
    const next: ShardPosition = lastRead ? { ...p, from: lastRead.id, inclusive: false, issuedAt: now } : { ...p, issuedAt: now };
    // A short page read everything there was: caught up. A full one asks where the tip is, for MillisBehindLatest.
    const more = entries.length >= limit || page.length < entries.length;
    const tip = more ? await this.o.streams.last(p.stream, p.shard) : undefined;
    const caughtUp = !more || (tip !== undefined && lastRead !== undefined && lastRead.id === tip.id);
    const number = shardNumberOf(p.shard);
    const output: { [k: string]: Out } = {
      Records: page.map((e) => ({
        SequenceNumber: sequenceNumberOf(e.id, number),
        ApproximateArrivalTimestamp: new Date(e.at),
        Data: e.data,
        PartitionKey: e.key,
        ...(r.encryptionKeyId !== undefined ? { EncryptionType: 'KMS' } : {}),
      })),
      MillisBehindLatest: caughtUp || !tip || !lastRead ? 0 : Math.max(0, tip.at - lastRead.at),
    };
    if (shard.closedAt !== undefined && caughtUp) {
      // The end of a closed shard: no next iterator; its children say where to go on.
      output.ChildShards = this.o.streams.children(p.stream, p.shard).map((c) => ({
        ShardId: c.id,
        ParentShards: [c.parent, c.adjacentParent].filter((x): x is string => x !== undefined),
        HashKeyRange: { StartingHashKey: c.range.start, EndingHashKey: c.range.end },
      }));
    } else output.NextShardIterator = encodeIterator(next);
    return out(output);
  }

  // ---- shards and settings ---------------------------------------------------------------------

  private async retention(input: JsonObject, call: AwsCall, direction: 'increase' | 'decrease'): Promise<JsonObject> {
    const name = this.streamName(input);
    this.check(call, 'admin', name);
    const hours = optionalInt(input, 'RetentionPeriodHours', 1, 100_000);
    if (hours === undefined)
      throw validation(
        "1 validation error detected: Value null at 'retentionPeriodHours' failed to satisfy constraint: Member must not be null",
      );
    await this.o.streams.setRetention(name, hours, direction);
    return {};
  }

  private async split(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const name = this.streamName(input);
    this.check(call, 'admin', name);
    const shard = requiredString(input, 'ShardToSplit');
    const key = parseHashKey(requiredString(input, 'NewStartingHashKey'));
    if (key === undefined)
      throw new AwsError('InvalidArgumentException', 'NewStartingHashKey must be a decimal number between 0 and 2^128 - 1');
    await this.o.streams.split(name, shard, key);
    return {};
  }

  private async merge(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const name = this.streamName(input);
    this.check(call, 'admin', name);
    await this.o.streams.merge(name, requiredString(input, 'ShardToMerge'), requiredString(input, 'AdjacentShardToMerge'));
    return {};
  }

  private async updateShardCount(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const name = this.streamName(input);
    this.check(call, 'admin', name);
    const target = optionalInt(input, 'TargetShardCount', 1, 100_000);
    if (target === undefined)
      throw validation(
        "1 validation error detected: Value null at 'targetShardCount' failed to satisfy constraint: Member must not be null",
      );
    const scaling = optionalString(input, 'ScalingType') ?? 'UNIFORM_SCALING';
    if (scaling !== 'UNIFORM_SCALING') throw validation(`ScalingType ${scaling} is not valid: UNIFORM_SCALING`);
    const r = await this.o.streams.updateShardCount(name, target);
    return { StreamName: name, StreamARN: this.arn(name), CurrentShardCount: r.current, TargetShardCount: r.target };
  }

  private async updateMode(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const name = this.streamName(input);
    this.check(call, 'admin', name);
    const mode = modeOf(input);
    if (mode === undefined) throw validation('StreamModeDetails.StreamMode is required: PROVISIONED or ON_DEMAND');
    await this.o.streams.setMode(name, mode);
    return {};
  }

  private async addTags(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const name = this.streamName(input);
    this.check(call, 'admin', name);
    const tags = stringMap(input, 'Tags');
    if (Object.keys(tags).length === 0 || Object.keys(tags).length > 10) throw validation('Tags must hold 1 to 10 tags');
    await this.o.streams.tag(name, tags);
    return {};
  }

  private async removeTags(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const name = this.streamName(input);
    this.check(call, 'admin', name);
    const keys = stringList(input, 'TagKeys');
    if (keys.length === 0 || keys.length > 50) throw validation('TagKeys must hold 1 to 50 keys');
    await this.o.streams.untag(name, keys);
    return {};
  }

  private listTags(input: JsonObject, call: AwsCall): JsonObject {
    const name = this.streamName(input);
    this.check(call, 'read', name);
    const limit = optionalInt(input, 'Limit', 1, 50) ?? 50;
    const after = optionalString(input, 'ExclusiveStartTagKey');
    const all = Object.entries(this.o.streams.get(name).tags)
      .sort(([a], [b]) => a.localeCompare(b))
      .filter(([k]) => after === undefined || k > after);
    const page = all.slice(0, limit);
    return { Tags: page.map(([Key, Value]) => ({ Key, Value })), HasMoreTags: all.length > page.length };
  }

  private async encryption(input: JsonObject, call: AwsCall, on: boolean): Promise<JsonObject> {
    const name = this.streamName(input);
    this.check(call, 'admin', name);
    const type = requiredString(input, 'EncryptionType');
    if (type !== 'KMS') throw validation(`EncryptionType ${type} is not valid: KMS`);
    const keyId = requiredString(input, 'KeyId');
    await this.o.streams.setEncryption(name, on ? keyId : undefined);
    return {};
  }

  private async monitoring(input: JsonObject, call: AwsCall, on: boolean): Promise<JsonObject> {
    const name = this.streamName(input);
    this.check(call, 'admin', name);
    const metrics = stringList(input, 'ShardLevelMetrics');
    const all = [
      'IncomingBytes',
      'IncomingRecords',
      'OutgoingBytes',
      'OutgoingRecords',
      'WriteProvisionedThroughputExceeded',
      'ReadProvisionedThroughputExceeded',
      'IteratorAgeMilliseconds',
    ];
    const wanted = metrics.includes('ALL') ? all : metrics;
    const unknown = wanted.find((m) => !all.includes(m));
    if (unknown !== undefined || wanted.length === 0) throw validation(`ShardLevelMetrics must name some of ALL, ${all.join(', ')}`);
    const r = await this.o.streams.setMonitoring(name, wanted, on);
    return { StreamName: name, StreamARN: this.arn(name), CurrentShardLevelMetrics: r.before, DesiredShardLevelMetrics: r.after };
  }

  private limits(): JsonObject {
    const all = this.o.streams.list();
    return {
      ShardLimit: this.o.streams.settings.maxShards,
      OpenShardCount: all.reduce((n, r) => n + r.shards.filter((s) => s.closedAt === undefined).length, 0),
      OnDemandStreamCount: all.filter((r) => r.mode === 'ON_DEMAND').length,
      OnDemandStreamCountLimit: 50,
    };
  }

  // ---- helpers ---------------------------------------------------------------------------------

  private streamName(input: JsonObject): string {
    const name = optionalString(input, 'StreamName');
    if (name !== undefined) return name;
    const arn = optionalString(input, 'StreamARN');
    if (arn !== undefined) {
      const m = /^arn:aws[a-z-]*:kinesis:[^:]*:\d{12}:stream\/([a-zA-Z0-9_.-]+)$/.exec(arn);
      if (!m) throw new AwsError('InvalidArgumentException', `StreamARN ${arn} is not a Kinesis stream ARN`);
      return m[1] as string;
    }
    throw validation('Either StreamName or StreamARN should be provided.');
  }

  private check(call: AwsCall, permission: Permission, name: string): void {
    authorize(this.o.security, call.principal, permission, streamAuthority(name), (m) => new AwsError('AccessDeniedException', m, 400));
  }

  private encryptionType(name: string): string {
    return this.o.streams.get(name).encryptionKeyId !== undefined ? 'KMS' : 'NONE';
  }
}

function recordInput(e: JsonObject, op: string): PutInput {
  const key = requiredString(e, 'PartitionKey');
  if (key.length > MAX_PARTITION_KEY)
    throw validation(
      `1 validation error detected: Value at 'partitionKey' failed to satisfy constraint: Member must have length less than or equal to ${MAX_PARTITION_KEY}`,
    );
  const data = blob(e, 'Data');
  if (data.length + Buffer.byteLength(key) > MAX_RECORD_BYTES)
    throw validation(
      `1 validation error detected: Value at 'data' failed to satisfy constraint: Member must have length less than or equal to ${MAX_RECORD_BYTES} (${op}: data and partition key together)`,
    );
  const explicit = optionalString(e, 'ExplicitHashKey');
  if (explicit === undefined) return { key, data };
  const h = parseHashKey(explicit);
  if (h === undefined)
    throw new AwsError('InvalidArgumentException', `ExplicitHashKey ${explicit} must be a decimal number between 0 and 2^128 - 1`);
  return { key, data, explicitHashKey: h };
}

function modeOf(input: JsonObject): StreamMode | undefined {
  const d = input.StreamModeDetails;
  if (!isObject(d)) return undefined;
  const m = requiredString(d, 'StreamMode');
  if (m !== 'PROVISIONED' && m !== 'ON_DEMAND') throw validation(`StreamMode ${m} is not valid: PROVISIONED or ON_DEMAND`);
  return m;
}

function shardDescription(s: ShardRecord): { [k: string]: Out } {
  const n = shardNumberOf(s.id);
  return {
    ShardId: s.id,
    ...(s.parent !== undefined ? { ParentShardId: s.parent } : {}),
    ...(s.adjacentParent !== undefined ? { AdjacentParentShardId: s.adjacentParent } : {}),
    HashKeyRange: { StartingHashKey: s.range.start, EndingHashKey: s.range.end },
    SequenceNumberRange: {
      StartingSequenceNumber: sequenceNumberOf(`${s.openedAt}-0`, n),
      ...(s.closedAt !== undefined ? { EndingSequenceNumber: sequenceNumberOf(s.endingId ?? `${s.closedAt}-0`, n) } : {}),
    },
  };
}

function toToken(s: string): string {
  return Buffer.from(s).toString('base64url');
}

function fromToken(t: string): string {
  const s = Buffer.from(t, 'base64url').toString('utf8');
  if (s === '' || toToken(s) !== t) throw new AwsError('InvalidArgumentException', 'NextToken is not valid');
  return s;
}

/** The handler's output, with blobs and timestamps left for the wire to write. */
function out(o: { [k: string]: Out }): JsonObject {
  return o as unknown as JsonObject;
}

/** The core's refusals as Kinesis's exceptions. */
export function kinesisError(err: unknown): unknown {
  if (err instanceof AwsError) {
    if (err.code === 'InvalidParameterValue' || err.code === 'MissingParameter') return new AwsError('ValidationException', err.message);
    return err;
  }
  if (!(err instanceof JunctionError)) return err;
  switch (err.code) {
    case 'not-found':
      return new AwsError('ResourceNotFoundException', err.message);
    case 'in-use':
      return new AwsError('ResourceInUseException', err.message);
    case 'invalid-argument':
      return new AwsError('InvalidArgumentException', err.message);
    case 'resource-limit':
      return new AwsError('LimitExceededException', err.message);
    case 'queue-full':
      return new AwsError('ProvisionedThroughputExceededException', err.message);
    case 'not-authorized':
      return new AwsError('AccessDeniedException', err.message, 400);
    default:
      return err;
  }
}
