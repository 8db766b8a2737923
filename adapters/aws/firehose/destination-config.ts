// Firehose's S3 destination in the API's shapes, both ways: S3DestinationConfiguration and
// ExtendedS3DestinationConfiguration (and their Update forms) to the broker's destination spec, with
// InvalidArgumentException for what this broker does not do (Lambda processors, format conversion,
// dynamic partitioning, ZIP and Snappy); and the spec back as the descriptions Describe answers.
import type { DestinationSpec } from '../../../src/firehose/delivery-stream.ts';
import { AwsError } from '../errors.ts';
import type { JsonObject, JsonValue } from '../model/shape.ts';
import { isObject, objectList, optionalString } from '../params.ts';

export const DESTINATION_ID = 'destinationId-000000000001';
const BUCKET_ARN = /^arn:[\w-]+:s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$/;

export function invalidArgument(message: string): AwsError {
  return new AwsError('InvalidArgumentException', message);
}

export function bucketOf(arn: string): string {
  const m = BUCKET_ARN.exec(arn);
  if (!m) throw invalidArgument(`BucketARN ${arn} is not the ARN of an S3 bucket (arn:aws:s3:::bucket).`);
  return m[1] as string;
}

/** The destination a configuration (or, with `base`, an update) asks for; fields it leaves out keep `base`'s. */
export function destinationFrom(c: JsonObject, base?: DestinationSpec): DestinationSpec {
  const hints = isObject(c.BufferingHints) ? c.BufferingHints : {};
  const size = intIn(hints.SizeInMBs, 'BufferingHints.SizeInMBs', 1, 128);
  const interval = intIn(hints.IntervalInSeconds, 'BufferingHints.IntervalInSeconds', 0, 900);
  const compression = optionalString(c, 'CompressionFormat');
  if (compression !== undefined && compression !== 'UNCOMPRESSED' && compression !== 'GZIP')
    throw invalidArgument(`CompressionFormat ${compression} is not supported by this broker: use GZIP or UNCOMPRESSED.`);
  for (const feature of ['DataFormatConversionConfiguration', 'DynamicPartitioningConfiguration'] as const) {
    const f = c[feature];
    if (isObject(f) && f.Enabled === true) throw invalidArgument(`${feature} is not supported by this broker.`);
  }
  if (optionalString(c, 'S3BackupMode') === 'Enabled') throw invalidArgument('S3BackupMode Enabled is not supported by this broker.');
  const timeZone = optionalString(c, 'CustomTimeZone');
  if (timeZone !== undefined && timeZone !== 'UTC' && timeZone !== '')
    throw invalidArgument(`CustomTimeZone ${timeZone} is not supported by this broker: object times are UTC.`);
  const fileExtension = optionalString(c, 'FileExtension');
  if (fileExtension !== undefined && fileExtension !== '' && !/^\.[0-9a-z!\-_.*'()]{1,127}$/.test(fileExtension))
    throw invalidArgument(`FileExtension ${fileExtension} must start with "." and hold only 0-9a-z!-_.*'().`);
  const bucketArn = optionalString(c, 'BucketARN');
  if (bucketArn === undefined && !base) throw invalidArgument('BucketARN is required.');
  const roleArn = optionalString(c, 'RoleARN') ?? base?.roleArn;
  return {
    bucket: bucketArn !== undefined ? bucketOf(bucketArn) : (base?.bucket as string),
    prefix: optionalString(c, 'Prefix') ?? base?.prefix ?? '',
    errorOutputPrefix: optionalString(c, 'ErrorOutputPrefix') ?? base?.errorOutputPrefix ?? '',
    bufferingSizeMiB: size ?? base?.bufferingSizeMiB ?? 5,
    bufferingIntervalSeconds: interval ?? base?.bufferingIntervalSeconds ?? 300,
    compression: (compression as DestinationSpec['compression'] | undefined) ?? base?.compression ?? 'UNCOMPRESSED',
    delimiter: delimiterFrom(c.ProcessingConfiguration) ?? base?.delimiter ?? '',
    ...(fileExtension !== undefined && fileExtension !== ''
      ? { fileExtension }
      : base?.fileExtension !== undefined && fileExtension === undefined
        ? { fileExtension: base.fileExtension }
        : {}),
    ...(roleArn !== undefined ? { roleArn } : {}),
  };
}

/** The AppendDelimiterToRecord processor's delimiter (`\n` written as Firehose's `\\n`); '' when processing is off. */
function delimiterFrom(p: JsonValue | undefined): string | undefined {
  if (!isObject(p)) return undefined;
  if (p.Enabled !== true) return '';
  let delimiter = '';
  for (const proc of objectList(p, 'Processors')) {
    const type = optionalString(proc, 'Type');
    if (type !== 'AppendDelimiterToRecord')
      throw invalidArgument(`Processor type ${String(type)} is not supported by this broker: only AppendDelimiterToRecord.`);
    delimiter = '\\n';
    for (const param of objectList(proc, 'Parameters')) {
      if (param.ParameterName === 'Delimiter' && typeof param.ParameterValue === 'string') delimiter = param.ParameterValue;
    }
  }
  return unescape(delimiter);
}

function unescape(s: string): string {
  return s.replace(/\\([nrt\\])/g, (_, c: string) => ({ n: '\n', r: '\r', t: '\t', '\\': '\\' })[c] as string);
}

function escape(s: string): string {
  return s.replace(/[\n\r\t\\]/g, (c) => ({ '\n': '\\n', '\r': '\\r', '\t': '\\t', '\\': '\\\\' })[c] as string);
}

function intIn(v: JsonValue | undefined, name: string, min: number, max: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw invalidArgument(`${name} must be an integer from ${String(min)} to ${String(max)}.`);
  return v;
}

/** Both descriptions Describe answers with (the plain S3 one and the extended one). */
export function destinationDescription(d: DestinationSpec, partition = 'aws'): JsonObject {
  const common: JsonObject = {
    RoleARN: d.roleArn ?? `arn:${partition}:iam::000000000000:role/firehose`,
    BucketARN: `arn:${partition}:s3:::${d.bucket}`,
    Prefix: d.prefix,
    ErrorOutputPrefix: d.errorOutputPrefix,
    BufferingHints: { SizeInMBs: d.bufferingSizeMiB, IntervalInSeconds: d.bufferingIntervalSeconds },
    CompressionFormat: d.compression,
    EncryptionConfiguration: { NoEncryptionConfig: 'NoEncryption' },
    CloudWatchLoggingOptions: { Enabled: false },
  };
  const processing: JsonObject =
    d.delimiter === ''
      ? { Enabled: false, Processors: [] }
      : {
          Enabled: true,
          Processors: [
            { Type: 'AppendDelimiterToRecord', Parameters: [{ ParameterName: 'Delimiter', ParameterValue: escape(d.delimiter) }] },
          ],
        };
  return {
    DestinationId: DESTINATION_ID,
    S3DestinationDescription: common,
    ExtendedS3DestinationDescription: {
      ...common,
      ProcessingConfiguration: processing,
      S3BackupMode: 'Disabled',
      CustomTimeZone: 'UTC',
      ...(d.fileExtension !== undefined ? { FileExtension: d.fileExtension } : {}),
    },
  };
}
