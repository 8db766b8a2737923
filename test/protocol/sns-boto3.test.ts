// Amazon SNS through Debian's python3-boto3 (the query protocol, XML answers) against a real
// broker: a topic, a raw and a filtered SQS subscription, publishes with attributes and subject,
// unsubscribe, tags, and the SNS error codes.
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
