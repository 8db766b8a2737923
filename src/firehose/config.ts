// The configuration's `firehose` section: where delivery streams deliver (a directory standing in
// for S3, the default; or S3 itself or an S3-compatible endpoint), how long a failing destination is retried, the bounds on
// what a stream buffers, and the delivery streams the broker makes at start.
import { z } from 'zod';
import { ConfigError } from '../shared/errors.ts';
import { deliveryStreamSpecSchema } from './delivery-stream.ts';

export const firehoseConfigSchema = z.strictObject({
  /** Unless S3 is on, bucket B's objects are files under <directory>/B/: the API works with nothing else running. */
  directory: z.string().min(1).default('./data/firehose'),
  s3: z
    .strictObject({
      /** Deliver over the S3 API instead of to the directory (on when an endpoint is given). */
      enabled: z.boolean().default(false),
      /** An S3-compatible endpoint (http://host:port); absent, AWS's for the region. */
      endpoint: z.url().optional(),
      region: z.string().min(1).default('us-east-1'),
      forcePathStyle: z.boolean().default(true),
      accessKeyId: z.string().min(1).optional(),
      /** The environment variable holding the secret key (never the key itself). */
      secretAccessKeyEnv: z.string().min(1).optional(),
    })
    .prefault({}),
  /** How long a failing destination is retried before a batch goes to the error prefix (Firehose: 24 h). */
  retryDurationSeconds: z
    .number()
    .int()
    .min(0)
    .max(7 * 86400)
    .default(86_400),
  /**
   * Buffered messages a stream holds unacknowledged at once (a topic rule's message is one record, a
   * direct put, a whole PutRecordBatch call, is one); a batch is sealed at half of it.
   */
  maxMessagesInFlight: z.number().int().min(2).default(20_000),
  /** The bytes of those messages a stream holds in memory at most (the largest size hint: one 128 MiB batch). */
  maxBytesInFlight: z
    .number()
    .int()
    .min(1024 * 1024)
    .default(128 * 1024 * 1024),
  /** What a stream's buffer in the store may hold (messages as above, and bytes) before producers are refused or held back. */
  maxBufferedMessages: z.number().int().min(1).default(1_000_000),
  maxBufferedBytes: z
    .number()
    .int()
    .min(1024 * 1024)
    .default(1024 * 1024 * 1024),
  deliveryStreams: z.array(deliveryStreamSpecSchema).default([]),
});

export type FirehoseSettings = z.output<typeof firehoseConfigSchema>;

/**
 * The S3 credentials the configuration names (the secret read from its environment variable);
 * undefined: the AWS SDK's own chain (AWS_ACCESS_KEY_ID...). A named variable that is empty stops
 * the start, as a missing access key secret does.
 */
export function s3Credentials(
  s: FirehoseSettings,
  env: NodeJS.ProcessEnv = process.env,
): { accessKeyId: string; secretAccessKey: string } | undefined {
  const { accessKeyId, secretAccessKeyEnv } = s.s3;
  if (accessKeyId === undefined && secretAccessKeyEnv === undefined) return undefined;
  if (accessKeyId === undefined || secretAccessKeyEnv === undefined)
    throw new ConfigError('firehose.s3: accessKeyId and secretAccessKeyEnv go together', { accessKeyId });
  const secret = env[secretAccessKeyEnv]?.trim();
  if (secret === undefined || secret === '')
    throw new ConfigError(`firehose.s3: environment variable ${secretAccessKeyEnv} (the secret of ${accessKeyId}) is empty or not set`, {
      accessKeyId,
    });
  return { accessKeyId, secretAccessKey: secret };
}
