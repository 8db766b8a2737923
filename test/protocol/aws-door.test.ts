// The AWS APIs' door: its listener (on by default, TLS beside it), how it answers requests that
// name no operation or carry a broken body, and Signature Version 4 once users are configured:
// access keys from the configuration, AWS's errors for an unsigned, unknown, wrongly signed or
// forbidden request, and nothing changed by any of them.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { CreateQueueCommand, ListQueuesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { awsAdapter } from '../../adapters/aws/index.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { JunctionServer } from '../../src/server.ts';
import { startTestServer } from '../helpers/server.ts';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function post(port: number, headers: Record<string, string>, body: string | Buffer, tls?: { ca: Buffer }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const options = {
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/',
      headers,
      timeout: 5000,
      ...(tls ? { ca: tls.ca, servername: 'localhost' } : {}),
    };
    const req = (tls ? httpsRequest : httpRequest)(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', reject);
    req.end(body);
  });
}

const JSON_HEADERS = { 'content-type': 'application/x-amz-json-1.0' };
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

let server: JunctionServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

const clients: SQSClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
  delete process.env.AWS_TEST_SECRET_FOR_JUNCTION;
});

function client(port: number, accessKeyId: string, secretAccessKey: string): SQSClient {
  const c = new SQSClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'eu-west-1',
    credentials: { accessKeyId, secretAccessKey },
    maxAttempts: 1,
  });
  clients.push(c);
  return c;
}

describe('the AWS door', () => {
  it('is on by default on 4566, TLS on 4567', () => {
    const c = loadConfig(undefined, {});
    expect(c.listeners.aws).toEqual({ enabled: true, port: 4566, tlsPort: 4567, tls: true });
    expect(c.aws).toMatchObject({ region: 'us-east-1', accountId: '000000000000' });
  });

  it('answers what names no operation, or carries a broken body, with the protocol error', async () => {
    let cert;
    ({ server, cert } = await startTestServer([awsAdapter], { aws: { port: 0, tlsPort: 0 }, websocket: { enabled: false } }));
    const port = server.listeners.port('aws', 'tcp') as number;
    const unknown = await post(port, { ...JSON_HEADERS, 'x-amz-target': 'AmazonSQS.Explode' }, '{}');
    expect(unknown.status).toBe(400);
    expect(JSON.parse(unknown.body)).toMatchObject({ __type: 'UnknownOperationException' });
    const garbage = await post(port, { ...JSON_HEADERS, 'x-amz-target': 'AmazonSQS.ListQueues' }, '{"QueueNamePrefix": ');
    expect(garbage.status).toBe(400);
    expect(JSON.parse(garbage.body).__type).toMatch(/SerializationException$/);
    const wrongType = await post(port, { ...JSON_HEADERS, 'x-amz-target': 'AmazonSQS.ListQueues' }, '{"MaxResults": "many"}');
    expect(wrongType.headers['x-amzn-query-error']).toBe('InvalidParameterValue;Sender');
    const noAction = await post(port, FORM, 'Version=2012-11-05');
    expect(noAction.status).toBe(400);
    expect(noAction.body).toContain('<Code>MissingAction</Code>');
    const badAction = await post(port, FORM, 'Action=DropEverything&Version=2012-11-05');
    expect(badAction.body).toContain('<Code>InvalidAction</Code>');
    const badNumber = await post(port, FORM, 'Action=ListQueues&Version=2012-11-05&MaxResults=ten');
    expect(badNumber.body).toContain('<Code>InvalidParameterValue</Code>');
    const tooBig = await post(port, FORM, Buffer.alloc(11 * 1024 * 1024, 'a'));
    expect(tooBig.status).toBe(413);
    // Over TLS, a well-formed request is answered.
    const secure = await post(server.listeners.port('aws', 'tls') as number, FORM, 'Action=ListQueues&Version=2012-11-05', {
      ca: cert.cert,
    });
    expect(secure.status).toBe(200);
    expect(secure.body).toContain('<ListQueuesResponse');
    // A queue URL answered over TLS names the TLS scheme.
    const made = await post(
      server.listeners.port('aws', 'tls') as number,
      FORM,
      'Action=CreateQueue&Version=2012-11-05&QueueName=over-tls',
      {
        ca: cert.cert,
      },
    );
    expect(made.body).toMatch(/<QueueUrl>https:\/\/[^<]+\/000000000000\/over-tls<\/QueueUrl>/);
  });

  it('checks signatures once users exist, and the authorization map after them', async () => {
    process.env.AWS_TEST_SECRET_FOR_JUNCTION = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    ({ server } = await startTestServer(
      [awsAdapter],
      { aws: { port: 0, tls: false }, websocket: { enabled: false } },
      {
        security: {
          users: [
            { username: 'app', groups: ['apps'], accessKeys: [{ id: 'AKIAAPPEXAMPLE0001', secretEnv: 'AWS_TEST_SECRET_FOR_JUNCTION' }] },
            {
              username: 'reader',
              groups: ['readers'],
              accessKeys: [{ id: 'AKIAREADEREXAMPLE1', secretEnv: 'AWS_TEST_SECRET_FOR_JUNCTION' }],
            },
          ],
          authorization: [{ queue: '>', read: ['apps', 'readers'], write: ['apps'], admin: ['apps'] }],
        },
      },
    ));
    const port = server.listeners.port('aws', 'tcp') as number;
    const app = client(port, 'AKIAAPPEXAMPLE0001', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
    const url = (await app.send(new CreateQueueCommand({ QueueName: 'signed' }))).QueueUrl;
    await app.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'ok' }));

    const wrongSecret = client(port, 'AKIAAPPEXAMPLE0001', 'not-the-secret');
    await expect(wrongSecret.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'no' }))).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
    });
    const stranger = client(port, 'AKIANOBODYEXAMPLE1', 'whatever');
    await expect(stranger.send(new ListQueuesCommand({}))).rejects.toMatchObject({ name: 'InvalidClientTokenId' });
    const reader = client(port, 'AKIAREADEREXAMPLE1', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
    await expect(reader.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'no' }))).rejects.toMatchObject({ name: 'AccessDenied' });
    await expect(reader.send(new CreateQueueCommand({ QueueName: 'mine' }))).rejects.toMatchObject({ name: 'AccessDenied' });
    const unsigned = await post(port, FORM, 'Action=ListQueues&Version=2012-11-05');
    expect(unsigned.status).toBe(403);
    expect(unsigned.body).toContain('<Code>MissingAuthenticationToken</Code>');

    // Failed signatures are in the audit trail, by protocol.
    expect(server.security.audit.loginFailures.get('aws')).toBe(2);
    // Only the signed, permitted send went in; the refused requests changed nothing.
    expect(server.broker.getQueue('signed')?.messages).toBe(1);
    expect(server.broker.getQueue('mine')).toBeUndefined();
  });

  it('refuses to start when a configured access key has no secret', async () => {
    await expect(
      startTestServer(
        [awsAdapter],
        { aws: { port: 0, tls: false } },
        {
          security: { users: [{ username: 'app', accessKeys: [{ id: 'AKIAAPPEXAMPLE0001', secretEnv: 'AWS_TEST_UNSET_SECRET' }] }] },
        },
      ),
    ).rejects.toThrow(/access key AKIAAPPEXAMPLE0001 of user app: environment variable AWS_TEST_UNSET_SECRET is empty or not set/);
  });
});
