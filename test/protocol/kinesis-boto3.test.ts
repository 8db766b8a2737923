// Amazon Kinesis through Debian's python3-boto3, a client independent of the JavaScript SDK
// (botocore's own JSON 1.1 client over HTTP/1.1), against a real broker on a real Redis: the
// stream's life with boto3's waiters, records in and out byte for byte, iterators, enhanced fan-out
// (botocore's event-stream parser over HTTP/1.1), resharding,
// tags, retention and Kinesis's error codes.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsAdapter } from '../../adapters/aws/index.ts';
import type { JunctionServer } from '../../src/server.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { startTestServer } from '../helpers/server.ts';

let redis: TestRedis;
let server: JunctionServer;
let endpoint: string;

beforeAll(async () => {
  redis = await startRedis();
  ({ server } = await startTestServer(
    [awsAdapter],
    { aws: { port: 0, tls: false }, websocket: { enabled: false } },
    { store: { type: 'redis', redis: { url: redis.url } } },
  ));
  endpoint = `http://127.0.0.1:${server.listeners.port('aws', 'tcp') as number}`;
});

afterAll(async () => {
  await server?.stop();
  await redis?.stop();
});

describe('python3-boto3 (Kinesis JSON 1.1)', () => {
  it('makes a stream, puts and reads records, reshards, tags, and gets the Kinesis error codes', async () => {
    const script = join(import.meta.dirname, '../fixtures/kinesis_boto3_client.py');
    const { stdout } = await promisify(execFile)('/usr/bin/python3', [script, endpoint, 'AKIDPY', 'secret'], { timeout: 60_000 });
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(out.status).toBe('ACTIVE');
    expect(out.shards).toEqual(['shardId-000000000000', 'shardId-000000000001']);
    expect(out.listed).toBe(true);
    expect(out.firstShard).toBe(out.ownerShard);
    expect(out.failed).toBe(0);
    expect(out.count).toBe(101);
    expect(out.firstData).toBe('00ff68656c6c6f');
    expect(out.dev0).toEqual(Array.from({ length: 20 }, (_, i) => `r${i * 5}`));
    expect(out.timestamps).toBe(true);
    expect(out.atMinusAfter).toBe(1);
    expect(out.latest).toEqual(['late']);
    expect(out.consumerStatus).toBe('ACTIVE');
    expect(out.fanOutFirst).toBe('00ff68656c6c6f');
    expect(out.afterSplit).toBe(4);
    expect(out.children).toEqual(['shardId-000000000002', 'shardId-000000000003']);
    expect(out.scaled).toBe(2);
    expect(out.openAfterScaling).toBe(2);
    expect(out.tags).toEqual([{ Key: 'team', Value: 'py' }]);
    expect(out.retention).toBe(72);
    expect(out.errors).toEqual({
      missing: 'ResourceNotFoundException',
      again: 'ResourceInUseException',
      badIterator: 'InvalidArgumentException',
      badSplit: 'InvalidArgumentException',
      shorterRetention: 'InvalidArgumentException',
      closedShard: 'ResourceInUseException',
    });
    expect(out.deleted).toBe(true);
  });
});
