// Operating the AWS APIs: an access key made through the admin API signs SQS and SNS requests at
// once; /metrics and /api/requests count requests by operation, errors by code, waiting long polls
// and SNS delivery events; the API lists the HTTP connections (protocol aws), the SQS queues and the SNS
// subscriptions; deleting the key stops its requests.
import { CreateTopicCommand, PublishCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsAdapter } from '../../adapters/aws/index.ts';
import { boundPort } from '../../src/admin/admin-server.ts';
import { hashPassword } from '../../src/security/password.ts';
import type { JunctionServer } from '../../src/server.ts';
import { startTestServer } from '../helpers/server.ts';

let server: JunctionServer;
let admin: string;
const auth = `Basic ${Buffer.from('root:root-pw').toString('base64')}`;

beforeAll(async () => {
  const passwordHash = await hashPassword('root-pw');
  ({ server } = await startTestServer(
    [awsAdapter],
    { aws: { port: 0, tls: false }, websocket: { enabled: false } },
    {
      admin: { enabled: true, host: '127.0.0.1', port: 0 },
      security: {
        users: [
          { username: 'root', passwordHash, groups: ['admins'] },
          { username: 'svc', passwordHash, groups: ['apps'] },
        ],
      },
    },
  ));
  admin = `http://127.0.0.1:${boundPort(server.admin!)}`;
});

afterAll(async () => {
  await server.stop();
});

async function api(method: string, path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${admin}${path}`, { method, headers: { authorization: auth } });
  return { status: res.status, body: await res.json().catch(() => undefined) };
}

async function metrics(): Promise<string> {
  return (await fetch(`${admin}/metrics`)).text();
}

describe('the AWS APIs, operated', () => {
  it('signs with a key made through the API, and shows requests, long polls and subscriptions', async () => {
    const made = await api('POST', '/api/users/svc/access-keys');
    expect(made.status).toBe(200);
    const key = made.body as { accessKeyId: string; secretAccessKey: string };
    const config = {
      endpoint: `http://127.0.0.1:${server.listeners.port('aws', 'tcp') as number}`,
      region: 'us-east-1',
      credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
      maxAttempts: 1,
    };
    const sqs = new SQSClient(config);
    const sns = new SNSClient(config);
    try {
      const url = (await sqs.send(new CreateQueueCommand({ QueueName: 'ops' }))).QueueUrl as string;
      await expect(sqs.send(new GetQueueUrlCommand({ QueueName: 'nope' }))).rejects.toMatchObject({ name: 'QueueDoesNotExist' });
      const poll = sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 10 }));
      await expect.poll(metrics, { timeout: 5000, interval: 50 }).toMatch(/junction_requests_waiting\{service="sqs"\} 1/);
      await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'hello' }));
      expect((await poll).Messages?.[0]?.Body).toBe('hello');

      const topicArn = (await sns.send(new CreateTopicCommand({ Name: 'ops-events' }))).TopicArn as string;
      const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes
        ?.QueueArn;
      await sns.send(
        new SubscribeCommand({
          TopicArn: topicArn,
          Protocol: 'sqs',
          Endpoint: queueArn,
          Attributes: { FilterPolicy: '{"keep": ["yes"]}' },
        }),
      );
      await sns.send(new PublishCommand({ TopicArn: topicArn, Message: 'dropped by the filter' }));
      await expect
        .poll(metrics, { timeout: 5000, interval: 50 })
        .toMatch(/junction_protocol_events_total\{service="sns",event="filtered"\} 1/);

      const text = await metrics();
      expect(text).toMatch(/junction_requests_total\{service="sqs",operation="CreateQueue"\} 1/);
      expect(text).toMatch(
        /junction_request_errors_total\{service="sqs",operation="GetQueueUrl",code="AWS.SimpleQueueService.NonExistentQueue"\} 1/,
      );
      expect(text).toMatch(/junction_requests_waiting\{service="sqs"\} 0/);
      expect(text).toMatch(/junction_connections\{protocol="aws"\} [1-9]/);

      const requests = (await api('GET', '/api/requests')).body as {
        requests: Array<{ service: string; operation: string; requests: number; errors: number; errorCodes: Record<string, number> }>;
        events: Array<{ service: string; event: string; count: number }>;
      };
      expect(requests.requests).toContainEqual({
        service: 'sqs',
        operation: 'GetQueueUrl',
        requests: 1,
        errors: 1,
        errorCodes: { 'AWS.SimpleQueueService.NonExistentQueue': 1 },
      });
      expect(requests.events).toContainEqual({ service: 'sns', event: 'filtered', count: 1 });
      const connections = (await api('GET', '/api/connections')).body as Array<{ protocol: string; user: string }>;
      expect(connections.some((c) => c.protocol === 'aws' && c.user === 'svc')).toBe(true);
      const queues = (await api('GET', '/api/queues')).body as Array<{ name: string }>;
      expect(queues.map((q) => q.name)).toContain('ops');
      const topics = (await api('GET', '/api/topics')).body as Array<{ topic: string; subscriptions: number }>;
      expect(topics).toContainEqual(expect.objectContaining({ topic: 'ops-events', subscriptions: 1 }));

      expect((await api('DELETE', `/api/users/svc/access-keys/${key.accessKeyId}`)).status).toBe(200);
      await expect(sqs.send(new GetQueueUrlCommand({ QueueName: 'ops' }))).rejects.toMatchObject({ name: 'InvalidClientTokenId' });
    } finally {
      sqs.destroy();
      sns.destroy();
    }
  });
});
