// Amazon SNS through the AWS SDK for JavaScript v3 (@aws-sdk/client-sns, the query protocol)
// against a real broker: topics and attributes, SQS subscriptions (the notification envelope and
// raw delivery), filter policies on attributes and on the body, HTTP subscriptions to a real local
// server (confirmation first, then deliveries, retried), FIFO topics to FIFO queues, tags, and the
// same topic reached from MQTT both ways.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ConfirmSubscriptionCommand,
  CreateTopicCommand,
  DeleteTopicCommand,
  GetSubscriptionAttributesCommand,
  GetTopicAttributesCommand,
  ListSubscriptionsByTopicCommand,
  ListTagsForResourceCommand,
  ListTopicsCommand,
  NotFoundException,
  PublishBatchCommand,
  PublishCommand,
  SetSubscriptionAttributesCommand,
  SNSClient,
  SubscribeCommand,
  TagResourceCommand,
  UnsubscribeCommand,
} from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsAdapter } from '../../adapters/aws/index.ts';
import { mqttAdapter } from '../../adapters/mqtt/index.ts';
import type { JunctionServer } from '../../src/server.ts';
import { Collector } from '../helpers/collector.ts';
import { connectMqtt, endMqtt } from '../helpers/mqtt.ts';
import { startTestServer } from '../helpers/server.ts';

let server: JunctionServer;
let sns: SNSClient;
let sqs: SQSClient;
let mqttUrl: string;

beforeAll(async () => {
  ({ server } = await startTestServer([awsAdapter, mqttAdapter], {
    aws: { port: 0, tls: false },
    mqtt: { port: 0, tls: false },
    websocket: { enabled: false },
  }));
  const endpoint = `http://127.0.0.1:${server.listeners.port('aws', 'tcp') as number}`;
  const config = { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' }, maxAttempts: 1 };
  sns = new SNSClient(config);
  sqs = new SQSClient(config);
  mqttUrl = `mqtt://127.0.0.1:${server.listeners.port('mqtt', 'tcp') as number}`;
});

afterAll(async () => {
  sns.destroy();
  sqs.destroy();
  await server.stop();
});

async function queueWithArn(name: string, attributes: Record<string, string> = {}): Promise<{ url: string; arn: string }> {
  const url = (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl as string;
  const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes
    ?.QueueArn as string;
  return { url, arn };
}

async function receiveAll(url: string, n: number): Promise<Message[]> {
  const out: Message[] = [];
  const deadline = Date.now() + 10_000;
  while (out.length < n && Date.now() < deadline) {
    const r = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }),
    );
    for (const m of r.Messages ?? []) {
      out.push(m);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
    }
  }
  return out;
}

describe('SNS over the query protocol', () => {
  it('creates, lists, describes and deletes topics', async () => {
    const arn = (await sns.send(new CreateTopicCommand({ Name: 'alerts', Attributes: { DisplayName: 'Alerts' } }))).TopicArn;
    expect(arn).toBe('arn:aws:sns:us-east-1:000000000000:alerts');
    expect((await sns.send(new CreateTopicCommand({ Name: 'alerts' }))).TopicArn).toBe(arn);
    expect((await sns.send(new ListTopicsCommand({}))).Topics?.map((t) => t.TopicArn)).toContain(arn);
    const attrs = (await sns.send(new GetTopicAttributesCommand({ TopicArn: arn }))).Attributes;
    expect(attrs).toMatchObject({ DisplayName: 'Alerts', TopicArn: arn, SubscriptionsConfirmed: '0' });
    await sns.send(new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'team', Value: 'ops' }] }));
    expect((await sns.send(new ListTagsForResourceCommand({ ResourceArn: arn }))).Tags).toEqual([{ Key: 'team', Value: 'ops' }]);
    await sns.send(new DeleteTopicCommand({ TopicArn: arn }));
    await expect(sns.send(new GetTopicAttributesCommand({ TopicArn: arn }))).rejects.toBeInstanceOf(NotFoundException);
  });

  it('delivers to an SQS subscription in the notification envelope, or raw, and reaches MQTT subscribers', async () => {
    const topicArn = (await sns.send(new CreateTopicCommand({ Name: 'orders' }))).TopicArn as string;
    const enveloped = await queueWithArn('orders-envelope');
    const raw = await queueWithArn('orders-raw');
    await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: enveloped.arn }));
    const sub = await sns.send(
      new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: raw.arn, Attributes: { RawMessageDelivery: 'true' } }),
    );
    const attrs = (await sns.send(new GetSubscriptionAttributesCommand({ SubscriptionArn: sub.SubscriptionArn }))).Attributes;
    expect(attrs).toMatchObject({ RawMessageDelivery: 'true', Protocol: 'sqs', Endpoint: raw.arn, PendingConfirmation: 'false' });
    const { client, got } = await connectMqtt(mqttUrl);
    try {
      await client.subscribeAsync('orders', { qos: 1 });
      const published = await sns.send(
        new PublishCommand({
          TopicArn: topicArn,
          Message: 'order 42',
          Subject: 'New order',
          MessageAttributes: { kind: { DataType: 'String', StringValue: 'book' } },
        }),
      );
      const [env] = await receiveAll(enveloped.url, 1);
      const doc = JSON.parse(env?.Body ?? '{}') as Record<string, unknown>;
      expect(doc).toMatchObject({
        Type: 'Notification',
        MessageId: published.MessageId,
        TopicArn: topicArn,
        Subject: 'New order',
        Message: 'order 42',
      });
      expect(doc.MessageAttributes).toEqual({ kind: { Type: 'String', Value: 'book' } });
      const [r] = await receiveAll(raw.url, 1);
      expect(r?.Body).toBe('order 42');
      expect(r?.MessageAttributes?.kind?.StringValue).toBe('book');
      expect((await got.nth(1)).payload.toString()).toBe('order 42');
      // MessageStructure json: each protocol its own text, the rest the default.
      await sns.send(
        new PublishCommand({
          TopicArn: topicArn,
          MessageStructure: 'json',
          Message: JSON.stringify({ default: 'for all', sqs: 'for queues' }),
        }),
      );
      const [structured] = await receiveAll(raw.url, 1);
      expect(structured?.Body).toBe('for queues');
      expect((await got.nth(2)).payload.toString()).toBe('for all');
      const [structuredEnvelope] = await receiveAll(enveloped.url, 1);
      expect((JSON.parse(structuredEnvelope?.Body ?? '{}') as { Message: string }).Message).toBe('for queues');
      // An MQTT publish to the topic reaches its SNS subscriptions too.
      await client.publishAsync('orders', 'from a device', { qos: 1 });
      const [fromMqtt] = await receiveAll(raw.url, 1);
      expect(fromMqtt?.Body).toBe('from a device');
    } finally {
      await endMqtt(client);
    }
  });

  it('applies filter policies on attributes and on the body', async () => {
    const topicArn = (await sns.send(new CreateTopicCommand({ Name: 'events' }))).TopicArn as string;
    const byAttr = await queueWithArn('events-big');
    const byBody = await queueWithArn('events-eu');
    await sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'sqs',
        Endpoint: byAttr.arn,
        Attributes: {
          RawMessageDelivery: 'true',
          FilterPolicy: JSON.stringify({ size: [{ numeric: ['>=', 100] }], kind: [{ 'anything-but': 'test' }] }),
        },
      }),
    );
    await sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'sqs',
        Endpoint: byBody.arn,
        Attributes: {
          RawMessageDelivery: 'true',
          FilterPolicyScope: 'MessageBody',
          FilterPolicy: JSON.stringify({ region: { name: [{ prefix: 'eu-' }] } }),
        },
      }),
    );
    const send = (body: object, size: number, kind: string): Promise<unknown> =>
      sns.send(
        new PublishCommand({
          TopicArn: topicArn,
          Message: JSON.stringify(body),
          MessageAttributes: { size: { DataType: 'Number', StringValue: String(size) }, kind: { DataType: 'String', StringValue: kind } },
        }),
      );
    await send({ n: 1, region: { name: 'eu-west-1' } }, 500, 'real');
    await send({ n: 2, region: { name: 'us-east-1' } }, 50, 'real');
    await send({ n: 3, region: { name: 'eu-central-1' } }, 500, 'test');
    const big = await receiveAll(byAttr.url, 1);
    const eu = await receiveAll(byBody.url, 2);
    expect(big.map((m) => (JSON.parse(m.Body ?? '{}') as { n: number }).n)).toEqual([1]);
    expect(eu.map((m) => (JSON.parse(m.Body ?? '{}') as { n: number }).n)).toEqual([1, 3]);
    await expect(
      sns.send(
        new SubscribeCommand({
          TopicArn: topicArn,
          Protocol: 'sqs',
          Endpoint: byAttr.arn,
          Attributes: { FilterPolicy: '{"a": "not-an-array"}' },
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
  });

  it('confirms and delivers to an HTTP subscription, retrying a failed delivery', async () => {
    const posts = new Collector<{ headers: IncomingMessage['headers']; body: Record<string, string> }>();
    let failNext = 1;
    const http: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, string>;
        if (body.Type === 'Notification' && failNext-- > 0) {
          res.writeHead(500).end();
          return;
        }
        posts.push({ headers: req.headers, body });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `http://127.0.0.1:${(http.address() as AddressInfo).port}/hook`;
      const topicArn = (await sns.send(new CreateTopicCommand({ Name: 'webhooks' }))).TopicArn as string;
      const sub = await sns.send(
        new SubscribeCommand({
          TopicArn: topicArn,
          Protocol: 'http',
          Endpoint: endpoint,
          Attributes: { DeliveryPolicy: JSON.stringify({ healthyRetryPolicy: { numRetries: 2, minDelayTarget: 1, maxDelayTarget: 1 } }) },
        }),
      );
      expect(sub.SubscriptionArn).toBe('pending confirmation');
      const confirmation = await posts.nth(1);
      expect(confirmation.headers['x-amz-sns-message-type']).toBe('SubscriptionConfirmation');
      const visited = await fetch(confirmation.body.SubscribeURL as string);
      expect(visited.status).toBe(200);
      expect(await visited.text()).toContain('<SubscriptionArn>');
      const listed = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }));
      const arn = listed.Subscriptions?.[0]?.SubscriptionArn as string;
      expect(arn.startsWith(`${topicArn}:`)).toBe(true);
      await sns.send(new PublishCommand({ TopicArn: topicArn, Message: 'hook me' }));
      const delivered = await posts.nth(2, 10_000);
      expect(delivered.headers['x-amz-sns-message-type']).toBe('Notification');
      expect(delivered.body).toMatchObject({ Type: 'Notification', Message: 'hook me', TopicArn: topicArn });
      await sns.send(
        new SetSubscriptionAttributesCommand({ SubscriptionArn: arn, AttributeName: 'RawMessageDelivery', AttributeValue: 'false' }),
      );
      await sns.send(new UnsubscribeCommand({ SubscriptionArn: arn }));
      expect((await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }))).Subscriptions).toEqual([]);
    } finally {
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  });

  it("sends what an HTTP endpoint keeps refusing to the subscription's dead-letter queue", async () => {
    const confirmations = new Collector<Record<string, string>>();
    const http: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, string>;
        if (body.Type === 'SubscriptionConfirmation') confirmations.push(body);
        res.writeHead(body.Type === 'SubscriptionConfirmation' ? 200 : 503).end();
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const topicArn = (await sns.send(new CreateTopicCommand({ Name: 'flaky' }))).TopicArn as string;
      const dlq = await queueWithArn('flaky-dlq');
      await sns.send(
        new SubscribeCommand({
          TopicArn: topicArn,
          Protocol: 'http',
          Endpoint: `http://127.0.0.1:${(http.address() as AddressInfo).port}/`,
          Attributes: {
            DeliveryPolicy: JSON.stringify({ healthyRetryPolicy: { numRetries: 1, minDelayTarget: 1, maxDelayTarget: 1 } }),
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn }),
          },
        }),
      );
      const c = await confirmations.nth(1);
      await sns.send(new ConfirmSubscriptionCommand({ TopicArn: topicArn, Token: c.Token }));
      await sns.send(new PublishCommand({ TopicArn: topicArn, Message: 'nobody home' }));
      const [dead] = await receiveAll(dlq.url, 1);
      expect(JSON.parse(dead?.Body ?? '{}')).toMatchObject({ Type: 'Notification', Message: 'nobody home' });
    } finally {
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  });

  it('keeps order per group and deduplicates from a FIFO topic to a FIFO queue', async () => {
    const topicArn = (
      await sns.send(new CreateTopicCommand({ Name: 'ledger.fifo', Attributes: { FifoTopic: 'true', ContentBasedDeduplication: 'true' } }))
    ).TopicArn as string;
    const q = await queueWithArn('ledger.fifo', { FifoQueue: 'true' });
    await sns.send(
      new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: q.arn, Attributes: { RawMessageDelivery: 'true' } }),
    );
    const batch = await sns.send(
      new PublishBatchCommand({
        TopicArn: topicArn,
        PublishBatchRequestEntries: ['t1', 't2', 't3', 't1'].map((m, i) => ({ Id: `e${i}`, Message: m, MessageGroupId: 'acct-1' })),
      }),
    );
    expect(batch.Successful).toHaveLength(4);
    expect(batch.Successful?.[0]?.SequenceNumber).toMatch(/^\d{20}$/);
    const got: string[] = [];
    const deadline = Date.now() + 10_000;
    while (got.length < 3 && Date.now() < deadline) {
      const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: q.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      for (const m of r.Messages ?? []) {
        got.push(m.Body as string);
        await sqs.send(new DeleteMessageCommand({ QueueUrl: q.url, ReceiptHandle: m.ReceiptHandle }));
      }
    }
    expect(got).toEqual(['t1', 't2', 't3']);
    await expect(sns.send(new PublishCommand({ TopicArn: topicArn, Message: 'no group' }))).rejects.toMatchObject({
      name: 'InvalidParameterException',
    });
  });
});
