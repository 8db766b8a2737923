// Amazon SQS through the AWS SDK for JavaScript v3 (@aws-sdk/client-sqs, the JSON 1.0 protocol)
// against a real broker: queues and their attributes, send and receive with message attributes and
// MD5 digests the SDK checks, visibility, long polls, batches, FIFO order and deduplication,
// redrive to a dead-letter queue, and AWS's errors for bad input.
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListMessageMoveTasksCommand,
  ListQueuesCommand,
  ListQueueTagsCommand,
  PurgeQueueCommand,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
  TagQueueCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsAdapter } from '../../adapters/aws/index.ts';
import type { JunctionServer } from '../../src/server.ts';
import { startTestServer } from '../helpers/server.ts';

let server: JunctionServer;
let sqs: SQSClient;

beforeAll(async () => {
  ({ server } = await startTestServer([awsAdapter], { aws: { port: 0, tls: false }, websocket: { enabled: false } }));
  const port = server.listeners.port('aws', 'tcp') as number;
  sqs = new SQSClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' },
  });
});

afterAll(async () => {
  sqs.destroy();
  await server.stop();
});

async function makeQueue(name: string, attributes: Record<string, string> = {}): Promise<string> {
  const r = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  return r.QueueUrl as string;
}

describe('SQS over the JSON protocol', () => {
  it('creates, finds, lists and deletes queues', async () => {
    const url = await makeQueue('orders');
    expect(url).toMatch(/\/000000000000\/orders$/);
    expect((await sqs.send(new GetQueueUrlCommand({ QueueName: 'orders' }))).QueueUrl).toBe(url);
    await makeQueue('orders-archive');
    const listed = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'orders' }));
    expect(listed.QueueUrls?.map((u) => u.split('/').pop()).sort()).toEqual(['orders', 'orders-archive']);
    const page = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'orders', MaxResults: 1 }));
    expect(page.QueueUrls).toHaveLength(1);
    const next = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'orders', MaxResults: 1, NextToken: page.NextToken }));
    expect(next.QueueUrls?.[0]).not.toBe(page.QueueUrls?.[0]);
    await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
    await expect(sqs.send(new GetQueueUrlCommand({ QueueName: 'orders' }))).rejects.toBeInstanceOf(QueueDoesNotExist);
  });

  it('sends and receives with message attributes, and deletes', async () => {
    const url = await makeQueue('attrs');
    const sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: 'héllo <world> & friends',
        MessageAttributes: {
          color: { DataType: 'String', StringValue: 'blue' },
          count: { DataType: 'Number', StringValue: '42' },
          price: { DataType: 'Number.float', StringValue: '1.50' },
          blob: { DataType: 'Binary', BinaryValue: Buffer.from([0, 1, 2, 255]) },
        },
      }),
    );
    expect(sent.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    const got = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
        WaitTimeSeconds: 1,
      }),
    );
    const m = got.Messages?.[0];
    expect(m?.Body).toBe('héllo <world> & friends');
    expect(m?.MessageId).toBe(sent.MessageId);
    expect(m?.MD5OfMessageAttributes).toBe(sent.MD5OfMessageAttributes);
    expect(m?.MessageAttributes?.price).toEqual({ DataType: 'Number.float', StringValue: '1.50' });
    expect(Buffer.from(m?.MessageAttributes?.blob?.BinaryValue ?? []).toString('hex')).toBe('000102ff');
    expect(m?.Attributes?.ApproximateReceiveCount).toBe('1');
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m?.ReceiptHandle }));
    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }));
    expect(attrs.Attributes?.ApproximateNumberOfMessages).toBe('0');
    expect(attrs.Attributes?.ApproximateNumberOfMessagesNotVisible).toBe('0');
  });

  it('hides a received message for its visibility timeout, and returns it with a higher receive count', async () => {
    const url = await makeQueue('visible', { VisibilityTimeout: '1' });
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'again' }));
    const first = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }));
    expect(first.Messages).toHaveLength(1);
    const hidden = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }));
    expect(hidden.Messages ?? []).toHaveLength(0);
    const second = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 5, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }),
    );
    expect(second.Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe('2');
    // The first receipt no longer names the current receive: deleting with it changes nothing.
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first.Messages?.[0]?.ReceiptHandle }));
    await sqs.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: second.Messages?.[0]?.ReceiptHandle, VisibilityTimeout: 0 }),
    );
    const third = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 5 }));
    expect(third.Messages?.[0]?.Body).toBe('again');
  });

  it('deletes with the last receipt after its visibility ran out, until the message is received again', async () => {
    const url = await makeQueue('lapsed', { VisibilityTimeout: '1' });
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'late' }));
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }));
    // Visible again once the timeout runs out (nobody receives it meanwhile).
    const visible = async (): Promise<string | undefined> =>
      (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }))).Attributes
        ?.ApproximateNumberOfMessages;
    await expect.poll(visible, { timeout: 5000, interval: 100 }).toBe('1');
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: got.Messages?.[0]?.ReceiptHandle }));
    const b = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }));
    expect(b.Attributes?.ApproximateNumberOfMessages).toBe('0');
  });

  it('answers a long poll when a message arrives', async () => {
    const url = await makeQueue('longpoll');
    const poll = sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 20 }));
    // Sent once the receive is waiting.
    await expect.poll(() => server.broker.connections.waiting.get('sqs'), { timeout: 5000, interval: 10 }).toBe(1);
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'wake' }));
    expect((await poll).Messages?.[0]?.Body).toBe('wake');
  });

  it('sends and deletes in batches, reporting entries that fail', async () => {
    const url = await makeQueue('batch');
    const r = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'a', MessageBody: 'one' },
          { Id: 'b', MessageBody: 'two' },
          { Id: 'c', MessageBody: 'bad \u0001 char' },
        ],
      }),
    );
    expect(r.Successful?.map((s) => s.Id).sort()).toEqual(['a', 'b']);
    expect(r.Failed?.[0]).toMatchObject({ Id: 'c', Code: 'InvalidMessageContents', SenderFault: true });
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    expect(got.Messages?.map((m) => m.Body)).toEqual(['one', 'two']);
    const del = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: (got.Messages ?? []).map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })),
      }),
    );
    expect(del.Successful).toHaveLength(2);
  });

  it('keeps FIFO order per group, holds a group while one of its messages is in flight, and deduplicates', async () => {
    const url = await makeQueue('jobs.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true' });
    const seq: string[] = [];
    for (const [g, body] of [
      ['A', 'a1'],
      ['A', 'a2'],
      ['B', 'b1'],
      ['A', 'a1'],
    ] as const) {
      const s = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body, MessageGroupId: g }));
      seq.push(s.SequenceNumber as string);
    }
    expect([...seq].sort()).toEqual(seq);
    const first = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 1 }));
    expect(first.Messages?.[0]?.Body).toBe('a1');
    const next = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
    expect(next.Messages?.map((m) => m.Body)).toEqual(['b1']);
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first.Messages?.[0]?.ReceiptHandle }));
    const last = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
    expect(last.Messages?.map((m) => m.Body)).toEqual(['a2']);
    await expect(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' }))).rejects.toMatchObject({ name: 'MissingParameter' });
  });

  it('moves a message received maxReceiveCount times to the dead-letter queue', async () => {
    const dlq = await makeQueue('work-dlq');
    const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
    const url = await makeQueue('work', { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 }) });
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'poison' }));
    for (let i = 0; i < 2; i++) {
      const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 5 }));
      await sqs.send(
        new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: r.Messages?.[0]?.ReceiptHandle, VisibilityTimeout: 0 }),
      );
    }
    const dead = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq, WaitTimeSeconds: 5, MessageSystemAttributeNames: ['All'] }));
    expect(dead.Messages?.[0]?.Body).toBe('poison');
    expect(dead.Messages?.[0]?.Attributes?.DeadLetterQueueSourceArn).toMatch(/:work$/);
    // Redrive: the dead letter goes back to the queue it came from.
    await sqs.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: dlq, ReceiptHandle: dead.Messages?.[0]?.ReceiptHandle, VisibilityTimeout: 0 }),
    );
    const workArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
    await expect(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: workArn }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
    });
    const task = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn }));
    expect(task.TaskHandle).toBeTruthy();
    const back = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 5 }));
    expect(back.Messages?.[0]?.Body).toBe('poison');
    const listed = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn }));
    expect(listed.Results?.[0]).toMatchObject({
      TaskHandle: task.TaskHandle,
      Status: 'COMPLETED',
      ApproximateNumberOfMessagesMoved: 1,
      SourceArn: dlqArn,
    });
  });

  it('keeps attributes and tags, and purges', async () => {
    const url = await makeQueue('tagged');
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { DelaySeconds: '0', MessageRetentionPeriod: '120' } }));
    await sqs.send(new TagQueueCommand({ QueueUrl: url, Tags: { team: 'ops' } }));
    expect((await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags).toEqual({ team: 'ops' });
    const a = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['MessageRetentionPeriod'] }));
    expect(a.Attributes).toEqual({ MessageRetentionPeriod: '120' });
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'gone' }));
    await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
    expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }))).Messages ?? []).toHaveLength(0);
    await expect(sqs.send(new PurgeQueueCommand({ QueueUrl: url }))).rejects.toMatchObject({ name: 'PurgeQueueInProgress' });
  });

  it('answers bad input with the AWS error', async () => {
    await expect(sqs.send(new CreateQueueCommand({ QueueName: 'bad name!' }))).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(sqs.send(new CreateQueueCommand({ QueueName: 'q', Attributes: { VisibilityTimeout: '99999' } }))).rejects.toMatchObject({
      name: 'InvalidAttributeValue',
    });
    await expect(
      sqs.send(new CreateQueueCommand({ QueueName: 'q', Attributes: { Nope: '1' } as Record<string, string> })),
    ).rejects.toMatchObject({ name: 'InvalidAttributeName' });
    const url = await makeQueue('strict');
    await expect(sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: 'forged' }))).rejects.toMatchObject({
      name: 'ReceiptHandleIsInvalid',
    });
    // A receipt of another queue is foreign here, and changes nothing there.
    const other = await makeQueue('strict-other');
    await sqs.send(new SendMessageCommand({ QueueUrl: other, MessageBody: 'theirs' }));
    const theirs = await sqs.send(new ReceiveMessageCommand({ QueueUrl: other, WaitTimeSeconds: 1 }));
    await expect(
      sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: theirs.Messages?.[0]?.ReceiptHandle })),
    ).rejects.toMatchObject({
      name: 'ReceiptHandleIsInvalid',
    });
    const otherAttrs = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: other, AttributeNames: ['ApproximateNumberOfMessagesNotVisible'] }),
    );
    expect(otherAttrs.Attributes?.ApproximateNumberOfMessagesNotVisible).toBe('1');
    await expect(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x'.repeat(262_145) }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
    });
    await expect(sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 11 }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
    });
  });
});
