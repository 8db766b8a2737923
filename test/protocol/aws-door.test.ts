// The AWS door as the registry makes it: a protocol that is one folder (adapters/aws/) and one
// registry line gets its configuration sections, its listener (off until enabled), TLS beside it,
// and answers every AWS request 501 in the shape the caller's SDK reads.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
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

function post(port: number, headers: Record<string, string>, body: string, tls?: { ca: Buffer }): Promise<Answer> {
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

let server: JunctionServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe('the AWS door', () => {
  it('has its configuration sections from its descriptor, and is off by default', () => {
    const c = loadConfig(undefined, {});
    expect(c.listeners.aws).toEqual({ enabled: false, port: 4566, tlsPort: 4567, tls: true });
    expect(c.aws).toEqual({});
    expect(loadConfig(undefined, { JUNCTION_LISTENERS__AWS__ENABLED: 'true' }).listeners.aws.enabled).toBe(true);
  });

  it('answers an SQS JSON request 501 in the JSON 1.0 error shape', async () => {
    ({ server } = await startTestServer([awsAdapter], { aws: { enabled: true, port: 0, tls: false }, websocket: { enabled: false } }));
    const port = server.listeners.port('aws', 'tcp') as number;
    const a = await post(port, { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.ListQueues' }, '{}');
    expect(a.status).toBe(501);
    expect(a.headers['x-amzn-requestid']).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(a.body)).toEqual({
      __type: 'NotImplemented',
      message: 'This Junction does not serve the AWS APIs yet (AmazonSQS.ListQueues)',
    });
  });

  it('answers a query-protocol request 501 in the XML error shape, on TLS too', async () => {
    let cert;
    ({ server, cert } = await startTestServer([awsAdapter], {
      aws: { enabled: true, port: 0, tlsPort: 0 },
      websocket: { enabled: false },
    }));
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const a = await post(server.listeners.port('aws', 'tcp') as number, form, 'Action=ListQueues&Version=2012-11-05');
    expect(a.status).toBe(501);
    expect(a.headers['x-amzn-query-error']).toBe('NotImplemented;Sender');
    expect(a.body).toContain('<Code>NotImplemented</Code>');
    const secure = await post(server.listeners.port('aws', 'tls') as number, form, 'Action=ListTopics', { ca: cert.cert });
    expect(secure.status).toBe(501);
    expect(secure.body).toContain('<ErrorResponse>');
  });
});
