// Firehose reading a Kinesis stream (KinesisStreamAsSource), on a real Redis: records put to the
// stream after the delivery stream was made land in objects, each once; the delivery stream takes
// no direct puts; a missing stream is refused; and after a broker restart the delivery stream goes
// on from where it acknowledged (its position in the stream is the broker's), writing nothing twice.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateDeliveryStreamCommand,
  DescribeDeliveryStreamCommand,
  FirehoseClient,
  ListDeliveryStreamsCommand,
  PutRecordCommand as FirehosePutRecordCommand,
  UpdateDestinationCommand,
} from '@aws-sdk/client-firehose';
import { CreateStreamCommand, KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsAdapter } from '../../adapters/aws/index.ts';
import type { JunctionServer } from '../../src/server.ts';
import { lines, waitForObjects } from '../helpers/firehose.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { startTestServer } from '../helpers/server.ts';

let redis: TestRedis;
let directory: string;

beforeAll(async () => {
  redis = await startRedis();
  directory = mkdtempSync(join(tmpdir(), 'junction-firehose-kinesis-'));
});

afterAll(async () => {
  await redis?.stop();
  rmSync(directory, { recursive: true, force: true });
});

async function start(): Promise<{ server: JunctionServer; firehose: FirehoseClient; kinesis: KinesisClient; stop: () => Promise<void> }> {
  const { server } = await startTestServer(
    [awsAdapter],
    { aws: { port: 0, tls: false }, websocket: { enabled: false } },
    { store: { type: 'redis', redis: { url: redis.url } }, firehose: { directory } },
  );
  const config = {
    endpoint: `http://127.0.0.1:${server.listeners.port('aws', 'tcp') as number}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' },
    maxAttempts: 1,
  };
  const firehose = new FirehoseClient(config);
  const kinesis = new KinesisClient(config);
  return {
    server,
    firehose,
    kinesis,
    stop: async () => {
      firehose.destroy();
      kinesis.destroy();
      await server.stop();
    },
  };
}

const put = async (kinesis: KinesisClient, from: number, n: number, stream = 'clicks'): Promise<void> => {
  const r = await kinesis.send(
    new PutRecordsCommand({
      StreamName: stream,
      Records: Array.from({ length: n }, (_, i) => ({ PartitionKey: `user-${(from + i) % 5}`, Data: Buffer.from(`click-${from + i}`) })),
    }),
  );
  expect(r.FailedRecordCount).toBe(0);
};

describe('Firehose with a Kinesis stream as its source', () => {
  it('delivers what is put to the stream, takes no direct puts, and goes on after a restart without writing twice', async () => {
    const first = await start();
    await first.kinesis.send(new CreateStreamCommand({ StreamName: 'clicks', ShardCount: 2 }));
    await put(first.kinesis, -10, 10); // before the delivery stream: not delivered (it starts at the stream's tip)
    await first.firehose.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: 'clicks-to-lake',
        DeliveryStreamType: 'KinesisStreamAsSource',
        KinesisStreamSourceConfiguration: {
          KinesisStreamARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/clicks',
          RoleARN: 'arn:aws:iam::000000000000:role/firehose',
        },
        ExtendedS3DestinationConfiguration: {
          RoleARN: 'arn:aws:iam::000000000000:role/firehose',
          BucketARN: 'arn:aws:s3:::clicks-lake',
          BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 },
          ProcessingConfiguration: {
            Enabled: true,
            Processors: [{ Type: 'AppendDelimiterToRecord', Parameters: [{ ParameterName: 'Delimiter', ParameterValue: '\\n' }] }],
          },
        },
      }),
    );
    const described = (await first.firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'clicks-to-lake' })))
      .DeliveryStreamDescription;
    expect(described?.DeliveryStreamType).toBe('KinesisStreamAsSource');
    expect(described?.Source?.KinesisStreamSourceDescription?.KinesisStreamARN).toBe(
      'arn:aws:kinesis:us-east-1:000000000000:stream/clicks',
    );
    expect(
      (await first.firehose.send(new ListDeliveryStreamsCommand({ DeliveryStreamType: 'KinesisStreamAsSource' }))).DeliveryStreamNames,
    ).toEqual(['clicks-to-lake']);
    await expect(
      first.firehose.send(new FirehosePutRecordCommand({ DeliveryStreamName: 'clicks-to-lake', Record: { Data: Buffer.from('direct') } })),
    ).rejects.toMatchObject({ name: 'InvalidArgumentException' });
    await expect(
      first.firehose.send(
        new CreateDeliveryStreamCommand({
          DeliveryStreamName: 'from-nowhere',
          DeliveryStreamType: 'KinesisStreamAsSource',
          KinesisStreamSourceConfiguration: { KinesisStreamARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/absent', RoleARN: 'r' },
          ExtendedS3DestinationConfiguration: { RoleARN: 'r', BucketARN: 'arn:aws:s3:::x-lake' },
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidArgumentException' });

    await put(first.kinesis, 0, 40);
    const objects = await waitForObjects(directory, 'clicks-lake', (o) => lines(o).length >= 40);
    expect(lines(objects).sort()).toEqual(Array.from({ length: 40 }, (_, i) => `click-${i}`).sort());
    await first.stop();

    const second = await start();
    let stopped = false;
    try {
      await put(second.kinesis, 40, 20);
      await waitForObjects(directory, 'clicks-lake', (o) => lines(o).length >= 60);
      // A record delivered again would come before the new ones of its shard: once they are all in, and the
      // broker has stopped, the objects hold everything there will be.
      await second.stop();
      stopped = true;
      const all = lines(await waitForObjects(directory, 'clicks-lake', () => true));
      expect(all.sort()).toEqual(Array.from({ length: 60 }, (_, i) => `click-${i}`).sort());
    } finally {
      if (!stopped) await second.stop();
    }
  });

  it('reads from where it was made even when the broker stops before its first batch', async () => {
    const first = await start();
    await first.kinesis.send(new CreateStreamCommand({ StreamName: 'views', ShardCount: 2 }));
    // A 900 s interval: nothing is written, nothing acknowledged, before this broker stops.
    await first.firehose.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: 'views-to-lake',
        DeliveryStreamType: 'KinesisStreamAsSource',
        KinesisStreamSourceConfiguration: { KinesisStreamARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/views', RoleARN: 'r' },
        ExtendedS3DestinationConfiguration: {
          RoleARN: 'r',
          BucketARN: 'arn:aws:s3:::views-lake',
          BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 900 },
          ProcessingConfiguration: {
            Enabled: true,
            Processors: [{ Type: 'AppendDelimiterToRecord', Parameters: [{ ParameterName: 'Delimiter', ParameterValue: '\\n' }] }],
          },
        },
      }),
    );
    await put(first.kinesis, 0, 10, 'views');
    // The next batch, on the next broker, is written at once.
    const d = (await first.firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'views-to-lake' })))
      .DeliveryStreamDescription;
    await first.firehose.send(
      new UpdateDestinationCommand({
        DeliveryStreamName: 'views-to-lake',
        CurrentDeliveryStreamVersionId: d?.VersionId as string,
        DestinationId: d?.Destinations?.[0]?.DestinationId as string,
        ExtendedS3DestinationUpdate: { BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 } },
      }),
    );
    await first.stop();

    const second = await start();
    try {
      await put(second.kinesis, 10, 5, 'views');
      const objects = await waitForObjects(directory, 'views-lake', (o) => lines(o).length >= 15);
      expect(lines(objects).sort()).toEqual(Array.from({ length: 15 }, (_, i) => `click-${i}`).sort());
    } finally {
      await second.stop();
    }
  });
});
