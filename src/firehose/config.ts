// The configuration's `firehose` section: where delivery streams deliver (a directory standing in
// for S3, or an S3-compatible endpoint), how long a failing destination is retried, the bounds on
// what a stream buffers, and the delivery streams the broker makes at start.
import { z } from 'zod';
import { deliveryStreamSpecSchema } from './delivery-stream.ts';

export const firehoseConfigSchema = z.strictObject({
  /** With it set, bucket B's objects are files under <directory>/B/ and no S3 endpoint is used. */
  directory: z.string().min(1).optional(),
  s3: z
    .strictObject({
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
  /** Records a stream holds unacknowledged at once; a batch is sealed at half of it. */
  maxRecordsInFlight: z.number().int().min(2).default(20_000),
  /** What a stream's buffer in the store may hold before producers are refused or held back. */
  maxBufferedRecords: z.number().int().min(1).default(1_000_000),
  maxBufferedBytes: z
    .number()
    .int()
    .min(1024 * 1024)
    .default(1024 * 1024 * 1024),
  deliveryStreams: z.array(deliveryStreamSpecSchema).default([]),
});

export type FirehoseSettings = z.output<typeof firehoseConfigSchema>;
