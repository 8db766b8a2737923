// Amazon Kinesis Data Streams through the AWS SDK for JavaScript v3 (@aws-sdk/client-kinesis, JSON
// 1.1) and raw CBOR requests (what the Java SDK and the KCL send), against a real broker on a real
// Redis: a stream's life, records in and out byte for byte through every iterator type, partition
// keys landing in the shard whose hash key range holds their MD5, resharding under load keeping
// each key's order, PROVISIONED limits, and Kinesis's errors for bad input with nothing changed.
import { createHash, randomBytes } from 'node:crypto';
import {
  AddTagsToStreamCommand,
  CreateStreamCommand,
  DecreaseStreamRetentionPeriodCommand,
  DeleteStreamCommand,
  DeregisterStreamConsumerCommand,
  DescribeStreamConsumerCommand,
  DescribeLimitsCommand,
  DescribeStreamCommand,
  DescribeStreamSummaryCommand,
  EnableEnhancedMonitoringCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  IncreaseStreamRetentionPeriodCommand,
  KinesisClient,
  ListShardsCommand,
  ListStreamConsumersCommand,
  ListStreamsCommand,
  ListTagsForStreamCommand,
  MergeShardsCommand,
  PutRecordCommand,
  PutRecordsCommand,
  RegisterStreamConsumerCommand,
  RemoveTagsFromStreamCommand,
  SplitShardCommand,
  StartStreamEncryptionCommand,
  SubscribeToShardCommand,
  UpdateShardCountCommand,
  UpdateStreamModeCommand,
  type Shard,
  type _Record,
} from '@aws-sdk/client-kinesis';
import { decode, encode } from 'cbor-x';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsAdapter } from '../../adapters/aws/index.ts';
import { encodeIterator } from '../../adapters/aws/kinesis/shard-iterators.ts';
import type { JunctionServer } from '../../src/server.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { startTestServer } from '../helpers/server.ts';

let redis: TestRedis;
let server: JunctionServer;
let endpoint: string;
let client: KinesisClient;

beforeAll(async () => {
  redis = await startRedis();
  ({ server } = await startTestServer(
    [awsAdapter],
    { aws: { port: 0, tls: false }, websocket: { enabled: false } },
    {
      store: { type: 'redis', redis: { url: redis.url } },
      streams: { provisioned: { enforce: true, writeRecordsPerSecond: 2000 } },
    },
  ));
  endpoint = `http://127.0.0.1:${server.listeners.port('aws', 'tcp') as number}`;
  client = new KinesisClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client?.destroy();
  await server?.stop();
  await redis?.stop();
});

const hashKey = (key: string): bigint => BigInt(`0x${createHash('md5').update(key).digest('hex')}`);

async function create(name: string, shards: number): Promise<void> {
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
}

async function shardsOf(name: string): Promise<Shard[]> {
  return (await client.send(new ListShardsCommand({ StreamName: name }))).Shards ?? [];
}

/** Every record of a shard from TRIM_HORIZON to now (or its end). */
async function readShard(name: string, shardId: string): Promise<_Record[]> {
  let it = (await client.send(new GetShardIteratorCommand({ StreamName: name, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' })))
    .ShardIterator;
  const out: _Record[] = [];
  while (it !== undefined) {
    const r = await client.send(new GetRecordsCommand({ ShardIterator: it, Limit: 1000 }));
    out.push(...(r.Records ?? []));
    if ((r.Records ?? []).length === 0 || r.NextShardIterator === undefined) break;
    it = r.NextShardIterator;
  }
  return out;
}

/** Reads a stream as the KCL does: a child only after all its parents are read to their end. */
async function readStreamInLineage(name: string): Promise<_Record[]> {
  const shards = await shardsOf(name);
  const done = new Set<string>();
  const out: _Record[] = [];
  while (done.size < shards.length) {
    const ready = shards.filter(
      (s) => !done.has(s.ShardId as string) && [s.ParentShardId, s.AdjacentParentShardId].every((p) => p === undefined || done.has(p)),
    );
    for (const s of ready) {
      out.push(...(await readShard(name, s.ShardId as string)));
      done.add(s.ShardId as string);
    }
  }
  return out;
}

function errorName(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'no error',
    (e: Error) => e.name,
  );
}

describe('Kinesis through @aws-sdk/client-kinesis', () => {
  it('creates, describes, lists, tags and deletes streams, with the shards covering every hash key', async () => {
    await create('life', 3);
    const d = (await client.send(new DescribeStreamCommand({ StreamName: 'life' }))).StreamDescription;
    expect(d?.StreamStatus).toBe('ACTIVE');
    expect(d?.StreamARN).toBe('arn:aws:kinesis:us-east-1:000000000000:stream/life');
    expect(d?.RetentionPeriodHours).toBe(24);
    expect(d?.StreamModeDetails?.StreamMode).toBe('PROVISIONED');
    const shards = d?.Shards ?? [];
    expect(shards.map((s) => s.ShardId)).toEqual(['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002']);
    expect(shards[0]?.HashKeyRange?.StartingHashKey).toBe('0');
    expect(shards[2]?.HashKeyRange?.EndingHashKey).toBe(((1n << 128n) - 1n).toString());
    for (let i = 1; i < shards.length; i++)
      expect(BigInt(shards[i]?.HashKeyRange?.StartingHashKey as string)).toBe(
        BigInt(shards[i - 1]?.HashKeyRange?.EndingHashKey as string) + 1n,
      );
    const summary = (await client.send(new DescribeStreamSummaryCommand({ StreamName: 'life' }))).StreamDescriptionSummary;
    expect(summary?.OpenShardCount).toBe(3);
    expect(summary?.StreamCreationTimestamp).toBeInstanceOf(Date);

    await create('life-2', 1);
    const page1 = await client.send(new ListStreamsCommand({ Limit: 1 }));
    expect(page1.StreamNames).toEqual(['life']);
    expect(page1.HasMoreStreams).toBe(true);
    const page2 = await client.send(new ListStreamsCommand({ NextToken: page1.NextToken as string }));
    expect(page2.StreamNames).toContain('life-2');
    expect(await errorName(client.send(new CreateStreamCommand({ StreamName: 'life', ShardCount: 1 })))).toBe('ResourceInUseException');

    await client.send(new AddTagsToStreamCommand({ StreamName: 'life', Tags: { team: 'iot', env: 'test' } }));
    await client.send(new RemoveTagsFromStreamCommand({ StreamName: 'life', TagKeys: ['env'] }));
    expect((await client.send(new ListTagsForStreamCommand({ StreamName: 'life' }))).Tags).toEqual([{ Key: 'team', Value: 'iot' }]);

    await client.send(new IncreaseStreamRetentionPeriodCommand({ StreamName: 'life', RetentionPeriodHours: 48 }));
    expect(await errorName(client.send(new IncreaseStreamRetentionPeriodCommand({ StreamName: 'life', RetentionPeriodHours: 30 })))).toBe(
      'InvalidArgumentException',
    );
    await client.send(new DecreaseStreamRetentionPeriodCommand({ StreamName: 'life', RetentionPeriodHours: 36 }));
    await client.send(new StartStreamEncryptionCommand({ StreamName: 'life', EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' }));
    const mon = await client.send(new EnableEnhancedMonitoringCommand({ StreamName: 'life', ShardLevelMetrics: ['IncomingRecords'] }));
    expect(mon.DesiredShardLevelMetrics).toEqual(['IncomingRecords']);
    await client.send(new UpdateStreamModeCommand({ StreamARN: d?.StreamARN as string, StreamModeDetails: { StreamMode: 'ON_DEMAND' } }));
    const after = (await client.send(new DescribeStreamSummaryCommand({ StreamName: 'life' }))).StreamDescriptionSummary;
    expect(after?.RetentionPeriodHours).toBe(36);
    expect(after?.EncryptionType).toBe('KMS');
    expect(after?.StreamModeDetails?.StreamMode).toBe('ON_DEMAND');
    const limits = await client.send(new DescribeLimitsCommand({}));
    expect(limits.OpenShardCount).toBeGreaterThanOrEqual(4);

    await client.send(new DeleteStreamCommand({ StreamName: 'life' }));
    await client.send(new DeleteStreamCommand({ StreamName: 'life-2' }));
    expect(await errorName(client.send(new DescribeStreamCommand({ StreamName: 'life' })))).toBe('ResourceNotFoundException');
  });

  it('puts records one at a time and 500 to a call, and gives every byte back in order per key, each in the shard its key hashes to', async () => {
    await create('records', 4);
    const shards = await shardsOf('records');
    const sent: Array<{ key: string; data: Buffer }> = [];
    const single = { key: 'device-0', data: Buffer.from([0, 255, 1, 254]) };
    const one = await client.send(new PutRecordCommand({ StreamName: 'records', PartitionKey: single.key, Data: single.data }));
    sent.push(single);
    const owner = shards.find((s) => {
      const h = hashKey(single.key);
      return h >= BigInt(s.HashKeyRange?.StartingHashKey as string) && h <= BigInt(s.HashKeyRange?.EndingHashKey as string);
    });
    expect(one.ShardId).toBe(owner?.ShardId);
    expect(one.SequenceNumber).toMatch(/^\d+$/);
    for (let batch = 0; batch < 2; batch++) {
      const records = Array.from({ length: 500 }, (_, i) => ({ key: `device-${i % 13}`, data: randomBytes(1 + ((i * 7) % 300)) }));
      const r = await client.send(
        new PutRecordsCommand({ StreamName: 'records', Records: records.map((x) => ({ PartitionKey: x.key, Data: x.data })) }),
      );
      expect(r.FailedRecordCount).toBe(0);
      expect(r.Records).toHaveLength(500);
      sent.push(...records);
    }
    const received: _Record[] = [];
    for (const s of shards) {
      const records = await readShard('records', s.ShardId as string);
      for (const rec of records) {
        const h = hashKey(rec.PartitionKey as string);
        expect(h >= BigInt(s.HashKeyRange?.StartingHashKey as string) && h <= BigInt(s.HashKeyRange?.EndingHashKey as string)).toBe(true);
      }
      for (let i = 1; i < records.length; i++)
        expect(BigInt(records[i]?.SequenceNumber as string) > BigInt(records[i - 1]?.SequenceNumber as string)).toBe(true);
      received.push(...records);
    }
    expect(received).toHaveLength(sent.length);
    const byKey = (list: Array<{ key: string; data: string }>): Map<string, string[]> => {
      const m = new Map<string, string[]>();
      for (const x of list) m.set(x.key, [...(m.get(x.key) ?? []), x.data]);
      return m;
    };
    expect(
      byKey(received.map((r) => ({ key: r.PartitionKey as string, data: Buffer.from(r.Data as Uint8Array).toString('hex') }))),
    ).toEqual(byKey(sent.map((s) => ({ key: s.key, data: s.data.toString('hex') }))));
    expect(received[0]?.ApproximateArrivalTimestamp).toBeInstanceOf(Date);
  });

  it('starts iterators at TRIM_HORIZON, LATEST, AT/AFTER_SEQUENCE_NUMBER and AT_TIMESTAMP, and reports how far behind a reader is', async () => {
    // ON_DEMAND: no per-shard read limit for this test's quick succession of reads.
    await client.send(new CreateStreamCommand({ StreamName: 'iterators', ShardCount: 1, StreamModeDetails: { StreamMode: 'ON_DEMAND' } }));
    const shard = 'shardId-000000000000';
    const put = async (data: string): Promise<string> =>
      (await client.send(new PutRecordCommand({ StreamName: 'iterators', PartitionKey: 'k', Data: Buffer.from(data) })))
        .SequenceNumber as string;
    const iterator = async (
      type: 'TRIM_HORIZON' | 'LATEST' | 'AT_SEQUENCE_NUMBER' | 'AFTER_SEQUENCE_NUMBER' | 'AT_TIMESTAMP',
      extra = {},
    ): Promise<string> =>
      (await client.send(new GetShardIteratorCommand({ StreamName: 'iterators', ShardId: shard, ShardIteratorType: type, ...extra })))
        .ShardIterator as string;
    const data = async (it: string, limit?: number): Promise<{ data: string[]; behind: number | undefined; next: string | undefined }> => {
      const r = await client.send(new GetRecordsCommand({ ShardIterator: it, ...(limit ? { Limit: limit } : {}) }));
      return {
        data: (r.Records ?? []).map((x) => Buffer.from(x.Data as Uint8Array).toString()),
        behind: r.MillisBehindLatest,
        next: r.NextShardIterator,
      };
    };
    const latestBefore = await iterator('LATEST');
    const s1 = await put('one');
    const s2 = await put('two');
    const beforeThree = Date.now();
    // The third record arrives after the timestamp the AT_TIMESTAMP iterator asks for.
    while (Date.now() <= beforeThree) await new Promise((r) => setImmediate(r));
    await put('three');
    expect((await data(await iterator('TRIM_HORIZON'))).data).toEqual(['one', 'two', 'three']);
    expect((await data(latestBefore)).data).toEqual(['one', 'two', 'three']);
    const latestNow = await iterator('LATEST');
    expect((await data(latestNow)).data).toEqual([]);
    await put('four');
    expect((await data(latestNow)).data).toEqual(['four']);
    expect((await data(await iterator('AT_SEQUENCE_NUMBER', { StartingSequenceNumber: s2 }))).data).toEqual(['two', 'three', 'four']);
    expect((await data(await iterator('AFTER_SEQUENCE_NUMBER', { StartingSequenceNumber: s1 }))).data).toEqual(['two', 'three', 'four']);
    expect((await data(await iterator('AT_TIMESTAMP', { Timestamp: new Date(beforeThree + 1) }))).data).toEqual(['three', 'four']);
    const first = await data(await iterator('TRIM_HORIZON'), 1);
    expect(first.data).toEqual(['one']);
    expect(first.behind).toBeGreaterThanOrEqual(0);
    const rest = await data(first.next as string);
    expect(rest.data).toEqual(['two', 'three', 'four']);
    expect(rest.behind).toBe(0);
  });

  it('refuses bad iterators and bad records with Kinesis errors, changing nothing', async () => {
    await create('bad', 2);
    const expired = encodeIterator({
      stream: 'bad',
      createdAt: 0,
      shard: 'shardId-000000000000',
      from: '0-0',
      inclusive: true,
      issuedAt: Date.now() - 6 * 60_000,
    });
    expect(await errorName(client.send(new GetRecordsCommand({ ShardIterator: expired })))).toBe('ExpiredIteratorException');
    expect(await errorName(client.send(new GetRecordsCommand({ ShardIterator: 'not-an-iterator' })))).toBe('InvalidArgumentException');
    const otherShard = (
      await client.send(new PutRecordCommand({ StreamName: 'bad', PartitionKey: 'x', ExplicitHashKey: '0', Data: Buffer.from('a') }))
    ).SequenceNumber;
    expect(
      await errorName(
        client.send(
          new GetShardIteratorCommand({
            StreamName: 'bad',
            ShardId: 'shardId-000000000001',
            ShardIteratorType: 'AT_SEQUENCE_NUMBER',
            StartingSequenceNumber: otherShard,
          }),
        ),
      ),
    ).toBe('InvalidArgumentException');
    expect(
      await errorName(
        client.send(new GetShardIteratorCommand({ StreamName: 'bad', ShardId: 'shardId-000000000009', ShardIteratorType: 'LATEST' })),
      ),
    ).toBe('ResourceNotFoundException');
    expect(await errorName(client.send(new PutRecordCommand({ StreamName: 'nope', PartitionKey: 'k', Data: Buffer.from('x') })))).toBe(
      'ResourceNotFoundException',
    );
    expect(
      await errorName(client.send(new PutRecordCommand({ StreamName: 'bad', PartitionKey: 'k', Data: Buffer.alloc(1024 * 1024 + 1) }))),
    ).toBe('ValidationException');
    const tooMany = Array.from({ length: 501 }, () => ({ PartitionKey: 'k', Data: Buffer.from('x') }));
    expect(await errorName(client.send(new PutRecordsCommand({ StreamName: 'bad', Records: tooMany })))).toBe('ValidationException');
    expect(
      await errorName(
        client.send(new PutRecordCommand({ StreamName: 'bad', PartitionKey: 'k', ExplicitHashKey: '-1', Data: Buffer.from('x') })),
      ),
    ).toBe('InvalidArgumentException');
    expect(
      await errorName(
        client.send(new SplitShardCommand({ StreamName: 'bad', ShardToSplit: 'shardId-000000000000', NewStartingHashKey: '0' })),
      ),
    ).toBe('InvalidArgumentException');
    expect(
      await errorName(client.send(new UpdateShardCountCommand({ StreamName: 'bad', TargetShardCount: 5, ScalingType: 'UNIFORM_SCALING' }))),
    ).toBe('InvalidArgumentException');
    // Nothing of the refused calls landed: only the one good record is there.
    const all = [...(await readShard('bad', 'shardId-000000000000')), ...(await readShard('bad', 'shardId-000000000001'))];
    expect(all.map((r) => Buffer.from(r.Data as Uint8Array).toString())).toEqual(['a']);
    expect((await shardsOf('bad')).length).toBe(2);
  });

  it('reshards under load (split, merge, a target count) and a reader following the lineage sees every key in order', async () => {
    // ON_DEMAND: the producer runs as fast as it can, past a PROVISIONED shard's write limit.
    await client.send(new CreateStreamCommand({ StreamName: 'reshard', ShardCount: 2, StreamModeDetails: { StreamMode: 'ON_DEMAND' } }));
    const keys = Array.from({ length: 20 }, (_, i) => `sensor-${i}`);
    const next = new Map(keys.map((k) => [k, 0]));
    let producing = true;
    const producer = (async () => {
      while (producing) {
        const records = keys.map((k) => {
          const n = next.get(k) as number;
          next.set(k, n + 1);
          return { PartitionKey: k, Data: Buffer.from(`${k}:${n}`) };
        });
        const r = await client.send(new PutRecordsCommand({ StreamName: 'reshard', Records: records }));
        expect(r.FailedRecordCount).toBe(0);
      }
    })();
    const open = async (): Promise<Shard[]> =>
      (await shardsOf('reshard')).filter((s) => s.SequenceNumberRange?.EndingSequenceNumber === undefined);
    const first = (await open())[0] as Shard;
    const mid = (BigInt(first.HashKeyRange?.StartingHashKey as string) + BigInt(first.HashKeyRange?.EndingHashKey as string)) / 2n;
    await client.send(
      new SplitShardCommand({ StreamName: 'reshard', ShardToSplit: first.ShardId as string, NewStartingHashKey: mid.toString() }),
    );
    const afterSplit = (await open()).sort((a, b) =>
      BigInt(a.HashKeyRange?.StartingHashKey as string) < BigInt(b.HashKeyRange?.StartingHashKey as string) ? -1 : 1,
    );
    expect(afterSplit).toHaveLength(3);
    await client.send(
      new MergeShardsCommand({
        StreamName: 'reshard',
        ShardToMerge: afterSplit[0]?.ShardId as string,
        AdjacentShardToMerge: afterSplit[1]?.ShardId as string,
      }),
    );
    expect(await open()).toHaveLength(2);
    const scaled = await client.send(
      new UpdateShardCountCommand({ StreamName: 'reshard', TargetShardCount: 4, ScalingType: 'UNIFORM_SCALING' }),
    );
    expect(scaled.TargetShardCount).toBe(4);
    expect(await open()).toHaveLength(4);
    producing = false;
    await producer;

    const closed = (await shardsOf('reshard')).find((s) => s.SequenceNumberRange?.EndingSequenceNumber !== undefined) as Shard;
    let it = (
      await client.send(
        new GetShardIteratorCommand({ StreamName: 'reshard', ShardId: closed.ShardId as string, ShardIteratorType: 'TRIM_HORIZON' }),
      )
    ).ShardIterator;
    let end;
    while (it !== undefined) {
      end = await client.send(new GetRecordsCommand({ ShardIterator: it }));
      it = end.NextShardIterator;
    }
    expect(end?.ChildShards?.length).toBeGreaterThanOrEqual(1);
    expect(end?.ChildShards?.[0]?.ParentShards).toContain(closed.ShardId);

    const seen = new Map<string, number>();
    for (const r of await readStreamInLineage('reshard')) {
      const [key, n] = Buffer.from(r.Data as Uint8Array)
        .toString()
        .split(':') as [string, string];
      expect(Number(n)).toBe((seen.get(key) ?? -1) + 1);
      seen.set(key, Number(n));
    }
    for (const k of keys) expect((seen.get(k) ?? -1) + 1).toBe(next.get(k));
  });

  it('answers a PROVISIONED shard past its write limit with ProvisionedThroughputExceededException, per record in PutRecords', async () => {
    await create('limited', 1);
    const records = Array.from({ length: 2500 }, (_, i) => ({ PartitionKey: 'k', Data: Buffer.from(String(i)) }));
    let failed = 0;
    let codes = new Set<string>();
    for (let i = 0; i < records.length; i += 500) {
      const r = await client.send(new PutRecordsCommand({ StreamName: 'limited', Records: records.slice(i, i + 500) }));
      failed += r.FailedRecordCount ?? 0;
      codes = new Set([...codes, ...(r.Records ?? []).map((x) => x.ErrorCode).filter((c): c is string => c !== undefined)]);
    }
    // 2,000 records a second per shard (this test's setting): the calls above fit in one or two seconds.
    expect(failed).toBeGreaterThan(0);
    expect([...codes]).toEqual(['ProvisionedThroughputExceededException']);
    // Five GetRecords calls a second per shard.
    const it = (
      await client.send(
        new GetShardIteratorCommand({ StreamName: 'limited', ShardId: 'shardId-000000000000', ShardIteratorType: 'LATEST' }),
      )
    ).ShardIterator as string;
    const reads = await Promise.all(Array.from({ length: 12 }, () => errorName(client.send(new GetRecordsCommand({ ShardIterator: it })))));
    expect(reads).toContain('ProvisionedThroughputExceededException');
    expect(reads).toContain('no error');
  });

  it('registers consumers and streams records to them with SubscribeToShard (enhanced fan-out, an event stream over HTTP/2)', async () => {
    await client.send(new CreateStreamCommand({ StreamName: 'fanout', ShardCount: 1, StreamModeDetails: { StreamMode: 'ON_DEMAND' } }));
    const streamArn = (await client.send(new DescribeStreamSummaryCommand({ StreamName: 'fanout' }))).StreamDescriptionSummary
      ?.StreamARN as string;
    const registered = await client.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: 'dashboard' }));
    const consumerArn = registered.Consumer?.ConsumerARN as string;
    expect(consumerArn).toMatch(/^arn:aws:kinesis:us-east-1:000000000000:stream\/fanout\/consumer\/dashboard:\d+$/);
    expect(registered.Consumer?.ConsumerStatus).toBe('ACTIVE');
    expect(await errorName(client.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: 'dashboard' })))).toBe(
      'ResourceInUseException',
    );
    expect((await client.send(new ListStreamConsumersCommand({ StreamARN: streamArn }))).Consumers?.map((c) => c.ConsumerName)).toEqual([
      'dashboard',
    ]);
    expect((await client.send(new DescribeStreamConsumerCommand({ ConsumerARN: consumerArn }))).ConsumerDescription?.StreamARN).toBe(
      streamArn,
    );
    expect((await client.send(new DescribeStreamSummaryCommand({ StreamName: 'fanout' }))).StreamDescriptionSummary?.ConsumerCount).toBe(1);

    await client.send(
      new PutRecordsCommand({ StreamName: 'fanout', Records: ['a', 'b', 'c'].map((x) => ({ PartitionKey: 'k', Data: Buffer.from(x) })) }),
    );
    const abort = new AbortController();
    const sub = await client.send(
      new SubscribeToShardCommand({
        ConsumerARN: consumerArn,
        ShardId: 'shardId-000000000000',
        StartingPosition: { Type: 'TRIM_HORIZON' },
      }),
      { abortSignal: abort.signal },
    );
    const got: string[] = [];
    let continuation: string | undefined;
    let putLater = true;
    for await (const event of sub.EventStream ?? []) {
      const e = event.SubscribeToShardEvent;
      if (!e) continue;
      got.push(...(e.Records ?? []).map((r) => Buffer.from(r.Data as Uint8Array).toString()));
      continuation = e.ContinuationSequenceNumber;
      if (putLater && got.length >= 3) {
        putLater = false;
        // A record put while subscribed arrives on the same subscription.
        await client.send(new PutRecordCommand({ StreamName: 'fanout', PartitionKey: 'k', Data: Buffer.from('d') }));
      }
      if (got.length >= 4) break;
    }
    abort.abort();
    expect(got).toEqual(['a', 'b', 'c', 'd']);
    expect(continuation).toMatch(/^\d+$/);

    // Again from the continuation: nothing before it comes back.
    await client.send(new PutRecordCommand({ StreamName: 'fanout', PartitionKey: 'k', Data: Buffer.from('e') }));
    const again = await client.send(
      new SubscribeToShardCommand({
        ConsumerARN: consumerArn,
        ShardId: 'shardId-000000000000',
        StartingPosition: { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: continuation },
      }),
    );
    const next: string[] = [];
    for await (const event of again.EventStream ?? []) {
      next.push(...(event.SubscribeToShardEvent?.Records ?? []).map((r) => Buffer.from(r.Data as Uint8Array).toString()));
      if (next.length >= 1) break;
    }
    expect(next).toEqual(['e']);
    await client.send(new DeregisterStreamConsumerCommand({ ConsumerARN: consumerArn }));
    expect(await errorName(client.send(new DescribeStreamConsumerCommand({ ConsumerARN: consumerArn })))).toBe('ResourceNotFoundException');
  });

  it('speaks CBOR (application/x-amz-cbor-1.1), blobs as byte strings and timestamps as tag-1 times', async () => {
    await create('cbor', 1);
    const call = async (
      op: string,
      body: Record<string, unknown>,
    ): Promise<{ status: number; type: string | null; body: Record<string, unknown> }> => {
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-cbor-1.1', 'x-amz-target': `Kinesis_20131202.${op}` },
        body: encode(body),
      });
      return {
        status: res.status,
        type: res.headers.get('content-type'),
        body: decode(Buffer.from(await res.arrayBuffer())) as Record<string, unknown>,
      };
    };
    const data = randomBytes(64);
    const put = await call('PutRecord', { StreamName: 'cbor', PartitionKey: 'k', Data: data });
    expect(put.status).toBe(200);
    expect(put.type).toBe('application/x-amz-cbor-1.1');
    const it = await call('GetShardIterator', { StreamName: 'cbor', ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' });
    const got = await call('GetRecords', { ShardIterator: it.body.ShardIterator });
    const rec = (got.body.Records as Array<Record<string, unknown>>)[0] as Record<string, unknown>;
    expect(Buffer.from(rec.Data as Uint8Array).equals(data)).toBe(true);
    expect(rec.ApproximateArrivalTimestamp).toBeInstanceOf(Date);
    expect(rec.SequenceNumber).toBe(put.body.SequenceNumber);
    const missing = await call('DescribeStream', { StreamName: 'absent' });
    expect(missing.status).toBe(400);
    expect(missing.body.__type).toBe('ResourceNotFoundException');
    const garbage = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-cbor-1.1', 'x-amz-target': 'Kinesis_20131202.PutRecord' },
      body: Buffer.from([0xff, 0x00, 0x13]),
    });
    expect(garbage.status).toBe(400);
  });
});
