// Amazon Data Firehose (JSON 1.1, `X-Amz-Target: Firehose_20150804.*`) on the broker's delivery
// streams (src/firehose): create (DirectPut, or KinesisStreamAsSource reading a stream of this
// broker), describe, list, update and delete streams with an S3 destination,
// put records one at a time or 500 to a batch (each failure reported per record), tags, and the
// encryption switch (records rest sealed when the broker's at-rest encryption is on). A stream X is
// authorized as queue `firehose.X`, its buffer: write to put records, read to describe, admin to
// create, change or delete.
import type { Logger } from 'pino';
import type { Destination } from '../../../src/core/destination.ts';
import type { Permission } from '../../../src/core/principal.ts';
import { bufferQueue, MAX_RECORD_BYTES, STREAM_NAME, type DeliveryStreamSpec } from '../../../src/firehose/delivery-stream.ts';
import { streamAuthority } from '../../../src/streams/streams.ts';
import type { DeliveryStreams, PutOutcome } from '../../../src/firehose/delivery-streams.ts';
import { JunctionError } from '../../../src/shared/errors.ts';
import type { SecurityService } from '../../../src/security/security-service.ts';
import { authorize, mayUse } from '../access.ts';
import { AwsError } from '../errors.ts';
import { firehoseModel } from '../model/firehose-shapes.ts';
import type { JsonObject, JsonValue } from '../model/shape.ts';
import { isObject, objectList, optionalInt, optionalString, requiredString, stringList } from '../params.ts';
import type { AwsCall, AwsService } from '../service.ts';
import { DESTINATION_ID, destinationDescription, destinationFrom, invalidArgument } from './destination-config.ts';

export interface FirehoseOptions {
  streams: DeliveryStreams;
  security: SecurityService;
  log: Logger;
}

const MAX_BATCH_RECORDS = 500;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;
const MAX_TAGS = 50;

type Handler = (input: JsonObject, call: AwsCall) => Promise<JsonObject> | JsonObject;

export class FirehoseService implements AwsService {
  readonly signingName = 'firehose';
  readonly model = firehoseModel;
  readonly jsonTargetPrefix = 'Firehose_20150804';
  readonly jsonVersion = '1.1' as const;
  private readonly handlers: Record<string, Handler>;

  constructor(private readonly o: FirehoseOptions) {
    this.handlers = {
      CreateDeliveryStream: (i, c) => this.create(i, c),
      DeleteDeliveryStream: (i, c) => this.delete(i, c),
      DescribeDeliveryStream: (i, c) => this.describe(i, c),
      ListDeliveryStreams: (i, c) => this.list(i, c),
      PutRecord: (i, c) => this.putRecord(i, c),
      PutRecordBatch: (i, c) => this.putRecordBatch(i, c),
      UpdateDestination: (i, c) => this.updateDestination(i, c),
      TagDeliveryStream: (i, c) => this.tag(i, c),
      UntagDeliveryStream: (i, c) => this.untag(i, c),
      ListTagsForDeliveryStream: (i, c) => this.listTags(i, c),
      StartDeliveryStreamEncryption: (i, c) => this.encryption(i, c, true),
      StopDeliveryStreamEncryption: (i, c) => this.encryption(i, c, false),
    };
  }

  async handle(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const h = this.handlers[call.action];
    if (!h) throw new AwsError('UnknownOperationException', `Unknown operation ${call.action}`);
    try {
      return await h(input, call);
    } catch (err) {
      throw firehoseError(err);
    }
  }

  // ---- streams --------------------------------------------------------------------------------

  private async create(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const name = streamName(input);
    this.check(call, 'admin', name);
    const type = optionalString(input, 'DeliveryStreamType') ?? 'DirectPut';
    let source: DeliveryStreamSpec['source'] = { kind: 'direct-put' };
    if (type === 'KinesisStreamAsSource') {
      const k = isObject(input.KinesisStreamSourceConfiguration) ? input.KinesisStreamSourceConfiguration : undefined;
      if (!k) throw invalidArgument('KinesisStreamSourceConfiguration is required for a KinesisStreamAsSource delivery stream.');
      const arn = requiredString(k, 'KinesisStreamARN');
      const m = /^arn:aws[a-z-]*:kinesis:[^:]*:\d{12}:stream\/([a-zA-Z0-9_.-]+)$/.exec(arn);
      if (!m) throw invalidArgument(`KinesisStreamARN ${arn} is not a Kinesis stream ARN.`);
      // The role Firehose would read the stream with is this caller here: it must be allowed to read it.
      authorize(
        this.o.security,
        call.principal,
        'read',
        streamAuthority(m[1] as string),
        (msg) => new AwsError('AccessDeniedException', msg, 400),
      );
      source = { kind: 'kinesis', stream: m[1] as string };
    } else if (type !== 'DirectPut')
      throw invalidArgument(`DeliveryStreamType ${type} is not supported: DirectPut or KinesisStreamAsSource (MSK sources are not).`);
    const s3 = isObject(input.ExtendedS3DestinationConfiguration)
      ? input.ExtendedS3DestinationConfiguration
      : isObject(input.S3DestinationConfiguration)
        ? input.S3DestinationConfiguration
        : undefined;
    if (!s3)
      throw invalidArgument(
        'An S3DestinationConfiguration or ExtendedS3DestinationConfiguration is required: S3 is the destination this broker delivers to.',
      );
    const tags = tagsFrom(input.Tags);
    const r = await this.o.streams.create({ name, source, destination: destinationFrom(s3) }, tags);
    if (isObject(input.DeliveryStreamEncryptionConfigurationInput)) await this.o.streams.setEncryption(name, true);
    return { DeliveryStreamARN: this.o.streams.arn(r.name) };
  }

  private async delete(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const name = streamName(input);
    this.check(call, 'admin', name);
    await this.o.streams.delete(name);
    return {};
  }

  private describe(input: JsonObject, call: AwsCall): JsonObject {
    const name = streamName(input);
    this.check(call, 'read', name);
    const r = this.o.streams.get(name);
    return {
      DeliveryStreamDescription: {
        DeliveryStreamName: r.name,
        DeliveryStreamARN: this.o.streams.arn(r.name),
        DeliveryStreamStatus: 'ACTIVE',
        DeliveryStreamEncryptionConfiguration: {
          Status: r.encryption,
          ...(r.encryption === 'ENABLED' ? { KeyType: 'AWS_OWNED_CMK' } : {}),
        },
        DeliveryStreamType: r.source.kind === 'kinesis' ? 'KinesisStreamAsSource' : 'DirectPut',
        ...(r.source.kind === 'kinesis'
          ? {
              Source: {
                KinesisStreamSourceDescription: {
                  KinesisStreamARN: kinesisArn(this.o.streams.arn(r.name), r.source.stream),
                  DeliveryStartTimestamp: r.createdAt / 1000,
                },
              },
            }
          : {}),
        VersionId: String(r.version),
        CreateTimestamp: r.createdAt / 1000,
        LastUpdateTimestamp: r.updatedAt / 1000,
        Destinations: [destinationDescription(r.destination)],
        HasMoreDestinations: false,
      },
    };
  }

  private list(input: JsonObject, call: AwsCall): JsonObject {
    const limit = optionalInt(input, 'Limit', 1, 10_000) ?? 10;
    const type = optionalString(input, 'DeliveryStreamType');
    const after = optionalString(input, 'ExclusiveStartDeliveryStreamName');
    // A topic rule's stream is DirectPut to Firehose's eyes; a stream reading a Kinesis stream is KinesisStreamAsSource.
    const names = this.o.streams
      .list()
      .filter((r) => type === undefined || (r.source.kind === 'kinesis' ? 'KinesisStreamAsSource' : 'DirectPut') === type)
      .filter((r) => mayUse(this.o.security, call.principal, target(r.name)))
      .map((r) => r.name)
      .filter((n) => after === undefined || n > after);
    return { DeliveryStreamNames: names.slice(0, limit), HasMoreDeliveryStreams: names.length > limit };
  }

  private async updateDestination(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const name = streamName(input);
    this.check(call, 'admin', name);
    const version = Number(requiredString(input, 'CurrentDeliveryStreamVersionId'));
    if (requiredString(input, 'DestinationId') !== DESTINATION_ID)
      throw invalidArgument(`Destination ${String(input.DestinationId)} not found: the stream's destination is ${DESTINATION_ID}.`);
    const update = isObject(input.ExtendedS3DestinationUpdate)
      ? input.ExtendedS3DestinationUpdate
      : isObject(input.S3DestinationUpdate)
        ? input.S3DestinationUpdate
        : undefined;
    if (!update) throw invalidArgument('An S3DestinationUpdate or ExtendedS3DestinationUpdate is required.');
    const current = this.o.streams.get(name);
    await this.o.streams.updateDestination(name, version, destinationFrom(update, current.destination));
    return {};
  }

  // ---- records --------------------------------------------------------------------------------

  private async putRecord(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const name = streamName(input);
    this.check(call, 'write', name);
    const data = recordData(input.Record, 'record');
    const [outcome] = await this.o.streams.put(name, [data], { connectionId: call.connectionId, principal: call.principal });
    if (!outcome) throw new AwsError('InternalFailure', 'The record was not put.', 500, false);
    if ('error' in outcome) throw firehoseError(outcome.error);
    return { RecordId: outcome.recordId, Encrypted: this.encrypted(name) };
  }

  private async putRecordBatch(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const name = streamName(input);
    this.check(call, 'write', name);
    const entries = objectList(input, 'Records');
    if (entries.length === 0 || entries.length > MAX_BATCH_RECORDS)
      throw validation(
        `1 validation error detected: Value at 'records' failed to satisfy constraint: Member must have length between 1 and ${String(MAX_BATCH_RECORDS)}`,
      );
    const data = entries.map((e, i) => recordData(e, `records.${String(i + 1)}.member.data`));
    const total = data.reduce((n, d) => n + d.length, 0);
    if (total > MAX_BATCH_BYTES) throw invalidArgument(`Records size exceeds 4 MB limit: the batch holds ${String(total)} bytes.`);
    const outcomes = await this.o.streams.put(name, data, { connectionId: call.connectionId, principal: call.principal });
    return {
      FailedPutCount: outcomes.filter((x) => 'error' in x).length,
      Encrypted: this.encrypted(name),
      RequestResponses: outcomes.map(recordResponse),
    };
  }

  // ---- tags and encryption ------------------------------------------------------------------

  private async tag(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const name = streamName(input);
    this.check(call, 'admin', name);
    const tags = { ...this.o.streams.get(name).tags, ...tagsFrom(input.Tags) };
    if (Object.keys(tags).length > MAX_TAGS)
      throw new AwsError('LimitExceededException', `A delivery stream has at most ${String(MAX_TAGS)} tags.`);
    await this.o.streams.setTags(name, tags);
    return {};
  }

  private async untag(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const name = streamName(input);
    this.check(call, 'admin', name);
    const tags = { ...this.o.streams.get(name).tags };
    for (const k of stringList(input, 'TagKeys')) delete tags[k];
    await this.o.streams.setTags(name, tags);
    return {};
  }

  private listTags(input: JsonObject, call: AwsCall): JsonObject {
    const name = streamName(input);
    this.check(call, 'read', name);
    const limit = optionalInt(input, 'Limit', 1, 50) ?? 50;
    const after = optionalString(input, 'ExclusiveStartTagKey');
    const keys = Object.keys(this.o.streams.get(name).tags)
      .sort()
      .filter((k) => after === undefined || k > after);
    const tags = this.o.streams.get(name).tags;
    return { Tags: keys.slice(0, limit).map((k) => ({ Key: k, Value: tags[k] ?? '' })), HasMoreTags: keys.length > limit };
  }

  private async encryption(input: JsonObject, call: AwsCall, on: boolean): Promise<JsonObject> {
    const name = streamName(input);
    this.check(call, 'admin', name);
    await this.o.streams.setEncryption(name, on);
    return {};
  }

  private encrypted(name: string): boolean {
    return this.o.streams.get(name).encryption === 'ENABLED';
  }

  private check(call: AwsCall, permission: Permission, name: string): void {
    authorize(this.o.security, call.principal, permission, target(name), (m) => new AwsError('AccessDeniedException', m, 400));
  }
}

function target(stream: string): Destination {
  return { kind: 'queue', name: bufferQueue(stream) };
}

function streamName(input: JsonObject): string {
  const name = requiredString(input, 'DeliveryStreamName');
  if (!STREAM_NAME.test(name))
    throw validation(
      `1 validation error detected: Value '${name}' at 'deliveryStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length 1-64`,
    );
  return name;
}

function recordData(record: JsonValue | undefined, at: string): Buffer {
  if (!isObject(record) || typeof record.Data !== 'string') throw validation(`A record's Data (${at}) is required.`);
  const data = Buffer.from(record.Data, 'base64');
  if (data.length > MAX_RECORD_BYTES)
    throw validation(
      `1 validation error detected: Value at '${at}' failed to satisfy constraint: Member must have length less than or equal to ${String(MAX_RECORD_BYTES)}`,
    );
  return data;
}

function tagsFrom(v: JsonValue | undefined): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!Array.isArray(v)) throw invalidArgument('Tags must be a list of {Key, Value}.');
  const tags: Record<string, string> = {};
  for (const t of v) {
    if (!isObject(t) || typeof t.Key !== 'string' || t.Key === '') throw invalidArgument('Every tag needs a Key.');
    tags[t.Key] = typeof t.Value === 'string' ? t.Value : '';
  }
  if (Object.keys(tags).length > MAX_TAGS)
    throw new AwsError('LimitExceededException', `A delivery stream has at most ${String(MAX_TAGS)} tags.`);
  return tags;
}

function recordResponse(o: PutOutcome): JsonObject {
  if ('recordId' in o) return { RecordId: o.recordId };
  const e = firehoseError(o.error);
  return e instanceof AwsError
    ? { ErrorCode: e.code, ErrorMessage: e.message }
    : { ErrorCode: 'InternalFailure', ErrorMessage: 'The record was not stored.' };
}

function validation(message: string): AwsError {
  return new AwsError('ValidationException', message);
}

/** The broker's errors in Firehose's words. */
function firehoseError(err: unknown): unknown {
  if (err instanceof AwsError) {
    return err.code === 'MissingParameter' || err.code === 'InvalidParameterValue' ? validation(err.message) : err;
  }
  if (err instanceof JunctionError) {
    switch (err.code) {
      case 'not-found':
        return new AwsError('ResourceNotFoundException', err.message);
      case 'in-use':
        return new AwsError('ResourceInUseException', err.message);
      case 'version-mismatch':
        return new AwsError('ConcurrentModificationException', err.message);
      case 'invalid-argument':
        return invalidArgument(err.message);
      case 'queue-full':
      case 'resource-limit':
      case 'store-unavailable':
      case 'closed':
      case 'fenced':
        return new AwsError('ServiceUnavailableException', `Slow down. ${err.message}`, 500, false);
      case 'not-authorized':
        return new AwsError('AccessDeniedException', err.message, 400);
      default:
        break;
    }
  }
  return err;
}

/** The ARN of Kinesis stream `stream` in the region and account of a delivery stream's ARN. */
function kinesisArn(deliveryStreamArn: string, stream: string): string {
  const [, partition, , region, account] = deliveryStreamArn.split(':');
  return `arn:${partition ?? 'aws'}:kinesis:${region ?? ''}:${account ?? ''}:stream/${stream}`;
}
