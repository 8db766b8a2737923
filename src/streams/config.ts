// The configuration's `streams` section: the bounds Kinesis puts on a stream (shards, the
// provisioned per-shard throughput, retention), how often retention is enforced, and the rules that
// feed a topic pattern or an MQTT topic filter into a stream (the IoT ingestion path).
import { z } from 'zod';

export const streamRuleSchema = z
  .strictObject({
    /** The stream the rule feeds (made with one shard when it does not exist). */
    stream: z.string().regex(/^[a-zA-Z0-9_.-]{1,128}$/, 'a stream name: letters, digits, _ . -, 1 to 128 characters'),
    /** A topic pattern of the broker (`devices.*.telemetry`)... */
    topic: z.string().min(1).optional(),
    /** ...or an MQTT topic filter (`devices/+/telemetry`). */
    mqttFilter: z.string().min(1).optional(),
    /**
     * Where each record's partition key comes from: a level of the topic (0 = the first), a
     * message property, or else the topic itself.
     */
    partitionKey: z.strictObject({ topicLevel: z.number().int().min(0).optional(), property: z.string().min(1).optional() }).prefault({}),
  })
  .refine((r) => (r.topic === undefined) !== (r.mqttFilter === undefined), 'a rule names a topic or an mqttFilter, not both');

export type StreamRule = z.output<typeof streamRuleSchema>;

export const streamsConfigSchema = z.strictObject({
  /** Open shards one stream may have, and all streams together (Kinesis: 500 per account by default). */
  maxShardsPerStream: z.number().int().min(1).max(10_000).default(500),
  maxShards: z.number().int().min(1).max(100_000).default(500),
  /** PROVISIONED mode's per-shard limits, enforced with ProvisionedThroughputExceededException (Kinesis's values). */
  provisioned: z
    .strictObject({
      writeRecordsPerSecond: z.number().int().min(1).default(1000),
      writeBytesPerSecond: z
        .number()
        .int()
        .min(1024)
        .default(1024 * 1024),
      readCallsPerSecond: z.number().int().min(1).default(5),
      readBytesPerSecond: z
        .number()
        .int()
        .min(1024)
        .default(2 * 1024 * 1024),
      /**
       * True: a PROVISIONED shard past these limits answers ProvisionedThroughputExceededException,
       * as Kinesis does. Off by default, as on local AWS endpoints: the broker takes what it can.
       */
      enforce: z.boolean().default(false),
    })
    .prefault({}),
  /** How often records older than their stream's retention are removed. */
  retentionCheckMs: z.number().int().min(100).default(60_000),
  rules: z.array(streamRuleSchema).default([]),
});

export type StreamsSettings = z.output<typeof streamsConfigSchema>;
