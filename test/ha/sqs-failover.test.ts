// SQS and SNS across a failover: two broker processes on one Redis. On the active one a FIFO queue
// with a redrive policy, a topic and its SQS subscription with a filter policy are made and
// messages sent (each acknowledged to the SDK); the active is killed (-9); on the broker that takes
// over, every acknowledged message is received (FIFO order kept), the queue's attributes hold, and
// the SNS subscription still delivers, still filtered.
import { CreateTopicCommand, PublishCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess } from '../helpers/broker-process.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';

let redis: TestRedis;
const brokers: BrokerProcess[] = [];
const clients: Array<{ destroy(): void }> = [];

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  for (const b of brokers) await b.stop();
  await redis?.stop();
});

function aws(b: BrokerProcess): { sqs: SQSClient; sns: SNSClient } {
  const config = {
    endpoint: `http://127.0.0.1:${b.ports.aws as number}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDHA', secretAccessKey: 'x' },
    maxAttempts: 1,
  };
  const c = { sqs: new SQSClient(config), sns: new SNSClient(config) };
  clients.push(c.sqs, c.sns);
  return c;
}

async function drain(sqs: SQSClient, url: string, n: number): Promise<string[]> {
  const out: string[] = [];
  const deadline = Date.now() + 15_000;
  while (out.length < n && Date.now() < deadline) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    for (const m of r.Messages ?? []) {
      out.push(m.Body as string);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
    }
  }
  return out;
}

describe('SQS and SNS across a failover', () => {
  it('keep every acknowledged message, the queues, the topic and its subscriptions', async () => {
    const a = await BrokerProcess.start('a', redis.url, { cluster: 'sqs' });
    brokers.push(a);
    await a.waitActive();
    const b = await BrokerProcess.start('b', redis.url, { cluster: 'sqs' });
    brokers.push(b);

    const before = aws(a);
    const url = (
      await before.sqs.send(
        new CreateQueueCommand({ QueueName: 'payments.fifo', Attributes: { FifoQueue: 'true', VisibilityTimeout: '7' } }),
      )
    ).QueueUrl as string;
    for (let i = 0; i < 20; i++) {
      await before.sqs.send(
        new SendMessageCommand({ QueueUrl: url, MessageBody: `p${i}`, MessageGroupId: `g${i % 2}`, MessageDeduplicationId: `d${i}` }),
      );
    }
    const topicArn = (await before.sns.send(new CreateTopicCommand({ Name: 'audit' }))).TopicArn as string;
    const sink = (await before.sqs.send(new CreateQueueCommand({ QueueName: 'audit-sink' }))).QueueUrl as string;
    const sinkArn = (await before.sqs.send(new GetQueueAttributesCommand({ QueueUrl: sink, AttributeNames: ['QueueArn'] }))).Attributes
      ?.QueueArn;
    await before.sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'sqs',
        Endpoint: sinkArn,
        Attributes: { RawMessageDelivery: 'true', FilterPolicy: JSON.stringify({ level: ['error'] }) },
      }),
    );

    const from = b.lines.length;
    await a.kill();
    await b.waitActive(20_000, from);

    const after = aws(b);
    const urlAfter = url.replace(`:${a.ports.aws as number}/`, `:${b.ports.aws as number}/`);
    const got = await drain(after.sqs, urlAfter, 20);
    expect(got.filter((x) => Number(x.slice(1)) % 2 === 0)).toEqual(Array.from({ length: 10 }, (_, i) => `p${i * 2}`));
    expect(got.filter((x) => Number(x.slice(1)) % 2 === 1)).toEqual(Array.from({ length: 10 }, (_, i) => `p${i * 2 + 1}`));
    const attrs = await after.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: urlAfter, AttributeNames: ['FifoQueue', 'VisibilityTimeout'] }),
    );
    expect(attrs.Attributes).toEqual({ FifoQueue: 'true', VisibilityTimeout: '7' });

    for (const level of ['info', 'error']) {
      await after.sns.send(
        new PublishCommand({
          TopicArn: topicArn,
          Message: `a ${level}`,
          MessageAttributes: { level: { DataType: 'String', StringValue: level } },
        }),
      );
    }
    const sinkAfter = sink.replace(`:${a.ports.aws as number}/`, `:${b.ports.aws as number}/`);
    expect(await drain(after.sqs, sinkAfter, 1)).toEqual(['a error']);
  }, 60_000);
});
