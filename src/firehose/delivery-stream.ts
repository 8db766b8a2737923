// A delivery stream as the broker keeps it: one source (records put to it directly, by the Firehose
// API, SNS or the admin API; a topic rule: a durable subscription on a topic pattern; or a stream of
// the broker, Firehose's KinesisStreamAsSource: a named consumer of it), one S3
// destination (a bucket, reached over the S3 API or kept as files under `firehose.directory`) with
// Firehose's buffering hints, compression, record delimiter and prefixes. The schema validates the
// configuration file's and the admin API's definitions; the Firehose API builds the same spec.
import { z } from 'zod';
import { JunctionError } from '../shared/errors.ts';
import { checkPrefixes, PrefixError } from './object-keys.ts';

export const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,64}$/;
/** Firehose's limit on one record's data. */
export const MAX_RECORD_BYTES = 1000 * 1024;

export const deliveryStreamSpecSchema = z
  .strictObject({
    name: z.string().regex(STREAM_NAME, 'must be 1-64 letters, digits, "_", "." or "-"'),
    /**
     * `topic`: every message published on a topic pattern (`devices.*.telemetry`), or on an MQTT
     * topic filter (`mqttTopicFilter: devices/+/telemetry`, the same topics).
     */
    source: z
      .discriminatedUnion('kind', [
        z.strictObject({ kind: z.literal('direct-put') }),
        z
          .strictObject({ kind: z.literal('topic'), topic: z.string().min(1).optional(), mqttTopicFilter: z.string().min(1).optional() })
          .refine((t) => (t.topic === undefined) !== (t.mqttTopicFilter === undefined), 'names exactly one of topic or mqttTopicFilter'),
        /** `kinesis`: the records of a stream of this broker, from those put after the delivery stream was made. */
        z.strictObject({ kind: z.literal('kinesis'), stream: z.string().min(1) }),
      ])
      .default({ kind: 'direct-put' }),
    destination: z.strictObject({
      bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'),
      prefix: z.string().max(1024).default(''),
      errorOutputPrefix: z.string().max(1024).default(''),
      bufferingSizeMiB: z.number().int().min(1).max(128).default(5),
      bufferingIntervalSeconds: z.number().int().min(0).max(900).default(300),
      compression: z.enum(['UNCOMPRESSED', 'GZIP']).default('UNCOMPRESSED'),
      /** Appended after every record (Firehose's AppendDelimiterToRecord processor); '' for none. */
      delimiter: z.string().max(16).default(''),
      /** Ends every object's key instead of the default (`.gz` for GZIP, none otherwise); Firehose's FileExtension. */
      fileExtension: z
        .string()
        .regex(/^\.[0-9a-z!\-_.*'()]{1,127}$/, 'must start with "." and hold only 0-9a-z!-_.*\'()')
        .optional(),
      /** The IAM role a Firehose client named: kept and shown back; the broker's own authorization applies. */
      roleArn: z.string().optional(),
    }),
  })
  .superRefine((spec, ctx) => {
    try {
      checkPrefixes(spec.destination.prefix, spec.destination.errorOutputPrefix);
    } catch (err) {
      if (!(err instanceof PrefixError)) throw err;
      ctx.addIssue({ code: 'custom', path: ['destination', 'prefix'], message: err.message });
    }
  });

export type DeliveryStreamSpec = z.output<typeof deliveryStreamSpecSchema>;
export type DestinationSpec = DeliveryStreamSpec['destination'];

/** A source as a stream runs it: a topic rule's MQTT filter resolved to the topic pattern it reads. */
export type StreamSource =
  { kind: 'direct-put' } | { kind: 'topic'; topic: string; mqttTopicFilter?: string } | { kind: 'kinesis'; stream: string };

export interface DeliveryStreamRecord extends Omit<DeliveryStreamSpec, 'source'> {
  source: StreamSource;
  /** Firehose's VersionId: 1 at creation, one more at every destination update. */
  version: number;
  createdAt: number;
  updatedAt: number;
  tags: Record<string, string>;
  encryption: 'ENABLED' | 'DISABLED';
  /** Who made it: a stream from the configuration file is made again at every start. */
  origin: 'api' | 'config';
}

/** A stream that cannot be made as asked (Firehose's InvalidArgumentException). */
export class DeliveryStreamArgumentError extends JunctionError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('invalid-argument', message, context);
  }
}

export class DeliveryStreamNotFoundError extends JunctionError {
  constructor(name: string) {
    super('not-found', `Delivery stream ${name} not found.`, { stream: name });
  }
}

export class DeliveryStreamInUseError extends JunctionError {
  constructor(name: string, why: string) {
    super('in-use', `Delivery stream ${name} ${why}.`, { stream: name });
  }
}

/** UpdateDestination named a version that is no longer current (Firehose's ConcurrentModificationException). */
export class DeliveryStreamVersionError extends JunctionError {
  constructor(name: string, expected: number, current: number) {
    super('version-mismatch', `Delivery stream ${name} is at version ${String(current)}, not ${String(expected)}.`, {
      stream: name,
      expected,
      current,
    });
  }
}

/** Checks what the schema cannot: the prefixes' expressions. */
export function checkDestination(d: DestinationSpec): void {
  try {
    checkPrefixes(d.prefix, d.errorOutputPrefix);
  } catch (err) {
    if (err instanceof PrefixError) throw new DeliveryStreamArgumentError(err.message, { prefix: d.prefix });
    throw err;
  }
}

/** The queue that buffers a direct-put stream's records (authorization names it). */
export function bufferQueue(stream: string): string {
  return `firehose.${stream}`;
}
