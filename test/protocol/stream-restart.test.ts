// Streams across restarts: a broker stops, then Redis itself restarts from its append-only file,
// and the next broker has every acknowledged record, in order, once, with the stream's shards,
// lineage, retention and tags, and a named consumer's position.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateStreamCommand,
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  IncreaseStreamRetentionPeriodCommand,
  KinesisClient,
  ListTagsForStreamCommand,
  PutRecordsCommand,
  SplitShardCommand,
  AddTagsToStreamCommand,
} from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsAdapter } from '../../adapters/aws/index.ts';
import type { JunctionServer } from '../../src/server.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { startTestServer } from '../helpers/server.ts';

let redis: TestRedis;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'junction-stream-aof-'));
  redis = await startRedis(undefined, { dataDir });
});

afterAll(async () => {
  await redis?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(): Promise<{ server: JunctionServer; client: KinesisClient }> {
  const { server } = await startTestServer(
    [awsAdapter],
    { aws: { port: 0, tls: false }, websocket: { enabled: false } },
    { store: { type: 'redis', redis: { url: redis.url } } },
  );
  const client = new KinesisClient({
    endpoint: `http://127.0.0.1:${server.listeners.port('aws', 'tcp') as number}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  return { server, client };
}

async function readShard(client: KinesisClient, shard: string): Promise<string[]> {
  let it = (await client.send(new GetShardIteratorCommand({ StreamName: 'kept', ShardId: shard, ShardIteratorType: 'TRIM_HORIZON' })))
    .ShardIterator;
  const out: string[] = [];
  while (it !== undefined) {
    const r = await client.send(new GetRecordsCommand({ ShardIterator: it }));
    out.push(...(r.Records ?? []).map((x) => Buffer.from(x.Data as Uint8Array).toString()));
    if ((r.Records ?? []).length === 0) break;
    it = r.NextShardIterator;
  }
  return out;
}

describe('streams across restarts', () => {
  it('keep every acknowledged record, the shards and the settings through a broker restart and a Redis restart from its AOF', async () => {
    const first = await start();
    await first.client.send(new CreateStreamCommand({ StreamName: 'kept', ShardCount: 1 }));
    const put = async (client: KinesisClient, from: number, n: number): Promise<void> => {
      const r = await client.send(
        new PutRecordsCommand({
          StreamName: 'kept',
          Records: Array.from({ length: n }, (_, i) => ({ PartitionKey: 'k', Data: Buffer.from(`r${from + i}`) })),
        }),
      );
      expect(r.FailedRecordCount).toBe(0);
    };
    await put(first.client, 0, 50);
    await first.client.send(
      new SplitShardCommand({ StreamName: 'kept', ShardToSplit: 'shardId-000000000000', NewStartingHashKey: (1n << 127n).toString() }),
    );
    await put(first.client, 50, 50);
    await first.client.send(new IncreaseStreamRetentionPeriodCommand({ StreamName: 'kept', RetentionPeriodHours: 168 }));
    await first.client.send(new AddTagsToStreamCommand({ StreamName: 'kept', Tags: { kept: 'yes' } }));
    await first.server.activeStreams()?.putPositions('kept', 'reader', { 'shardId-000000000000': '1-0' });
    first.client.destroy();
    await first.server.stop();

    const port = redis.port;
    await redis.stop();
    redis = await startRedis(port, { dataDir });

    const second = await start();
    try {
      const d = (await second.client.send(new DescribeStreamCommand({ StreamName: 'kept' }))).StreamDescription;
      expect(d?.RetentionPeriodHours).toBe(168);
      expect(d?.Shards?.map((s) => [s.ShardId, s.ParentShardId])).toEqual([
        ['shardId-000000000000', undefined],
        ['shardId-000000000001', 'shardId-000000000000'],
        ['shardId-000000000002', 'shardId-000000000000'],
      ]);
      expect((await second.client.send(new ListTagsForStreamCommand({ StreamName: 'kept' }))).Tags).toEqual([
        { Key: 'kept', Value: 'yes' },
      ]);
      const parent = await readShard(second.client, 'shardId-000000000000');
      const children = [
        ...(await readShard(second.client, 'shardId-000000000001')),
        ...(await readShard(second.client, 'shardId-000000000002')),
      ];
      expect([...parent, ...children]).toEqual(Array.from({ length: 100 }, (_, i) => `r${i}`));
      expect(await second.server.activeStreams()?.positions('kept')).toEqual({ reader: { 'shardId-000000000000': '1-0' } });
      // The restarted broker writes on: the shards it claimed take records.
      await put(second.client, 100, 5);
    } finally {
      second.client.destroy();
      await second.server.stop();
    }
  });
});
