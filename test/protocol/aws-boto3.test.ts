// Amazon SQS and SNS through Debian's python3-boto3, a client independent of the JavaScript SDK that
// speaks their query/XML protocol (form requests, XML answers, query error codes), against a real
// broker: SQS queues, sends, receives and errors; an SNS topic, a raw and a filtered SQS
// subscription, publishes with attributes and subject, unsubscribe, tags, and the SNS error codes.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsAdapter } from '../../adapters/aws/index.ts';
import type { JunctionServer } from '../../src/server.ts';
import { startTestServer } from '../helpers/server.ts';

let server: JunctionServer;
let endpoint: string;

beforeAll(async () => {
  ({ server } = await startTestServer([awsAdapter], { aws: { port: 0, tls: false }, websocket: { enabled: false } }));
  endpoint = `http://127.0.0.1:${server.listeners.port('aws', 'tcp') as number}`;
});

afterAll(async () => {
  await server.stop();
});

describe('python3-boto3 (SQS query protocol)', () => {
  it('creates queues, sends, receives, changes visibility, deletes, and gets the AWS error codes', async () => {
    const script = join(import.meta.dirname, '../fixtures/sqs_boto3_client.py');
    const { stdout } = await promisify(execFile)('/usr/bin/python3', [script, endpoint, 'AKIDPY', 'secret'], { timeout: 30_000 });
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(out.url).toBe(`${endpoint}/000000000000/py-orders`);
    expect(out.listed).toEqual([`${endpoint}/000000000000/py-orders`]);
    expect(out.batchOk).toEqual(['one', 'two']);
    expect(out.bodies).toEqual(['hello from boto3 <&>', 'b1', 'b2']);
    expect(out.md5Matches).toBe(true);
    expect(out.qty).toEqual({ DataType: 'Number', StringValue: '3' });
    expect(out.raw).toBe('0001fe');
    expect(out.receiveCount).toBe('1');
    expect(out.deleted).toEqual(['x']);
    expect(out.again).toEqual(['b1', '2']);
    expect(out.attributes).toEqual({
      VisibilityTimeout: '5',
      ApproximateNumberOfMessages: '0',
      QueueArn: 'arn:aws:sqs:us-east-1:000000000000:py-orders',
    });
    expect(out.tags).toEqual({ team: 'py' });
    expect(out.fifo).toEqual(['f0', 'f1', 'f2']);
    expect(out.fifoGroup).toBe('g');
    expect(out.errors).toEqual({
      missingQueue: 'AWS.SimpleQueueService.NonExistentQueue',
      badAttribute: 'InvalidAttributeValue',
      badHandle: 'ReceiptHandleIsInvalid',
      emptyBatch: 'AWS.SimpleQueueService.EmptyBatchRequest',
      fifoWithoutGroup: 'MissingParameter',
    });
    expect(out.afterDelete).toBe('AWS.SimpleQueueService.NonExistentQueue');
  });
});

describe('python3-boto3 (SNS query protocol)', () => {
  it('publishes to SQS subscriptions, raw and filtered, and gets the SNS error codes', async () => {
    const script = join(import.meta.dirname, '../fixtures/sns_boto3_client.py');
    const { stdout } = await promisify(execFile)('/usr/bin/python3', [script, endpoint], { timeout: 30_000 });
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(out.topic).toBe('arn:aws:sns:us-east-1:000000000000:py-news');
    expect(out.subscriptions).toEqual(['py-news-all', 'py-news-vip']);
    expect(out.all).toEqual(['first', 'second']);
    expect(out.vip).toEqual([['first', 'news', 'gold']]);
    expect(out.filterPolicy).toBe('{"tier": ["gold", "platinum"]}');
    expect(out.afterUnsubscribe).toBe(1);
    expect(out.tags).toEqual([{ Key: 'team', Value: 'py' }]);
    expect(out.errors).toEqual({
      noTopic: 'NotFound',
      badName: 'InvalidParameter',
      badPolicy: 'InvalidParameter',
      badProtocol: 'InvalidParameter',
    });
    expect(out.afterDelete).toEqual([]);
  });
});
