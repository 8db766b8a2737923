// The AWS-compatible APIs: one HTTP listener (port 4566, the port local AWS endpoints use; TLS
// 4567) serving Amazon SQS and SNS on the broker's own queues and topics, Kinesis on its streams
// and Firehose on its delivery streams, over the AWS wire protocols the SDKs and the `aws` CLI speak, with Signature
// Version 4 when users are configured.
import type { AdapterDescriptor } from '../adapter.ts';
import { awsConfigSchema } from './config.ts';
import { FirehoseService } from './firehose/firehose-service.ts';
import { AwsDoor } from './http-door.ts';
import { KinesisService } from './kinesis/kinesis-service.ts';
import { sqsColumn } from './mapping-columns.ts';
import { AwsMetrics } from './metrics.ts';
import { SnsService } from './sns/sns-service.ts';
import { SqsService } from './sqs/sqs-service.ts';

export const awsAdapter: AdapterDescriptor<typeof awsConfigSchema, 'aws'> = {
  name: 'aws',
  title: 'AWS APIs over HTTP (SQS, SNS, Kinesis, Firehose)',
  listener: { port: 4566, tlsPort: 4567, enabled: true },
  configSchema: awsConfigSchema,
  mapping: [sqsColumn],
  create: (ctx, settings) => {
    const metrics = new AwsMetrics(ctx.broker, ctx.log);
    const common = { broker: ctx.broker, security: ctx.security, metrics, region: settings.region, accountId: settings.accountId };
    const sqs = new SqsService({ ...common, log: ctx.log });
    const host = ctx.config.listeners.host === '0.0.0.0' || ctx.config.listeners.host === '::' ? 'localhost' : ctx.config.listeners.host;
    const port = (ctx.config.listeners as { aws?: { port?: number } }).aws?.port ?? 4566;
    const sns = new SnsService({
      ...common,
      sqs,
      log: ctx.log,
      defaultBaseUrl: `http://${host}:${String(port)}`,
      deliveryStreams: ctx.deliveryStreams,
    });
    const firehose = new FirehoseService({ streams: ctx.deliveryStreams, security: ctx.security, log: ctx.log });
    const kinesis = new KinesisService({
      streams: ctx.streams,
      security: ctx.security,
      log: ctx.log,
      region: settings.region,
      accountId: settings.accountId,
    });
    const door = new AwsDoor({
      broker: ctx.broker,
      security: ctx.security,
      services: [sqs, sns, firehose, kinesis],
      metrics,
      log: ctx.log,
      maxBodyBytes: settings.maxRequestBytes,
      keepAliveMs: settings.keepAliveMs,
    });
    return {
      // The Kinesis SDKs speak HTTP/2 (h2 over TLS, by ALPN; prior knowledge on plain TCP).
      alpnProtocols: ['h2', 'http/1.1'],
      handleConnection: (stream, info) => door.accept(stream, info),
      start: async () => {
        await sqs.start();
        await sns.start();
      },
      close: async () => {
        await sns.close();
        sqs.close();
        door.close();
      },
    };
  },
};
