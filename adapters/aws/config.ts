// The AWS-compatible APIs' settings: the `aws` section of the configuration.
import { z } from 'zod';

export const awsConfigSchema = z.strictObject({
  /** The region ARNs name and signatures are scoped to (any region a client signs for is accepted). */
  region: z.string().min(1).default('us-east-1'),
  /** The account id in queue URLs and ARNs (local AWS endpoints use 000000000000). */
  accountId: z
    .string()
    .regex(/^\d{12}$/, 'a 12-digit account id')
    .default('000000000000'),
  /** The largest request body accepted (the query protocol percent-encodes a 1 MiB message to up to 9 MiB). */
  maxRequestBytes: z
    .number()
    .int()
    .min(64 * 1024)
    .default(10 * 1024 * 1024),
  /** How long an idle keep-alive HTTP connection stays open. */
  keepAliveMs: z.number().int().min(1000).default(30_000),
});

export type AwsConfig = z.output<typeof awsConfigSchema>;
