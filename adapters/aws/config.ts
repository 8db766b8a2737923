// The AWS-compatible APIs' settings: the `aws` section of the configuration (none yet: the APIs
// themselves arrive with the SQS and SNS work).
import { z } from 'zod';

export const awsConfigSchema = z.strictObject({});

export type AwsConfig = z.output<typeof awsConfigSchema>;
