// Amazon Data Firehose through the AWS SDK for JavaScript v3 (@aws-sdk/client-firehose, JSON 1.1)
// against a real broker delivering to a real directory (`firehose.directory`): the stream's life
// (create, describe, list, update, tags, delete) and Firehose's errors; records put one at a time
// and in batches coming back byte for byte, delimited and gzipped, under the default key layout and
// under prefix expressions; buffering by size; a destination that refuses writes, then recovers;
// the retry duration running out into the error prefix; a full buffer refusing per record; SNS
// firehose subscriptions; and an MQTT fleet (mqtt.js and mosquitto_pub) feeding a topic rule.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  ConcurrentModificationException,
  CreateDeliveryStreamCommand,
  DeleteDeliveryStreamCommand,
  DescribeDeliveryStreamCommand,
  FirehoseClient,
  InvalidArgumentException,
  ListDeliveryStreamsCommand,
  ListTagsForDeliveryStreamCommand,
  PutRecordBatchCommand,
  PutRecordCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  TagDeliveryStreamCommand,
  UntagDeliveryStreamCommand,
  UpdateDestinationCommand,
} from '@aws-sdk/client-firehose';
import { CreateTopicCommand, PublishCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { awsAdapter } from '../../adapters/aws/index.ts';
import { mqttAdapter } from '../../adapters/mqtt/index.ts';
import type { JunctionServer } from '../../src/server.ts';
import { lines, readBucket, waitForObjects } from '../helpers/firehose.ts';
import { connectMqtt, endMqtt } from '../helpers/mqtt.ts';
import { startTestServer } from '../helpers/server.ts';

const run = promisify(execFile);
const ROLE = 'arn:aws:iam::000000000000:role/firehose';

interface Broker {
  server: JunctionServer;
  client: FirehoseClient;
  directory: string;
  mqttPort: number;
}

async function startBroker(firehose: Record<string, unknown> = {}): Promise<Broker> {
  const directory = mkdtempSync(join(tmpdir(), 'junction-firehose-'));
  const { server } = await startTestServer(
    [awsAdapter, mqttAdapter],
    { aws: { port: 0, tls: false }, mqtt: { port: 0, tls: false }, websocket: { enabled: false } },
    { firehose: { directory, ...firehose } },
  );
  const endpoint = `http://127.0.0.1:${server.listeners.port('aws', 'tcp') as number}`;
  const client = new FirehoseClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  return { server, client, directory, mqttPort: server.listeners.port('mqtt', 'tcp') as number };
}

async function stopBroker(b: Broker | undefined): Promise<void> {
  if (!b) return;
  b.client.destroy();
  await b.server.stop();
  rmSync(b.directory, { recursive: true, force: true });
}

function s3(bucket: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { RoleARN: ROLE, BucketARN: `arn:aws:s3:::${bucket}`, ...extra };
}

const NEWLINE = {
  Enabled: true,
  Processors: [{ Type: 'AppendDelimiterToRecord' as const, Parameters: [{ ParameterName: 'Delimiter' as const, ParameterValue: '\\n' }] }],
};

describe('Firehose API', () => {
  let b: Broker;
  beforeAll(async () => {
    b = await startBroker({
      retryDurationSeconds: 1,
      deliveryStreams: [
        {
          name: 'telemetry',
          source: { kind: 'topic', mqttTopicFilter: 'devices/+/telemetry' },
          destination: { bucket: 'lake', prefix: 'telemetry/', bufferingIntervalSeconds: 0, delimiter: '\n', compression: 'GZIP' },
        },
      ],
    });
  });
  afterAll(() => stopBroker(b));

  it('creates, describes, lists, updates, tags and deletes a stream, with Firehose errors', async () => {
    const arn = (
      await b.client.send(
        new CreateDeliveryStreamCommand({
          DeliveryStreamName: 'orders',
          DeliveryStreamType: 'DirectPut',
          ExtendedS3DestinationConfiguration: s3('archive', {
            Prefix: 'orders/',
            BufferingHints: { SizeInMBs: 2, IntervalInSeconds: 60 },
            CompressionFormat: 'GZIP',
            ProcessingConfiguration: NEWLINE,
          }) as never,
          Tags: [{ Key: 'team', Value: 'shop' }],
        }),
      )
    ).DeliveryStreamARN;
    expect(arn).toBe('arn:aws:firehose:us-east-1:000000000000:deliverystream/orders');

    const d = (await b.client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'orders' }))).DeliveryStreamDescription;
    expect(d?.DeliveryStreamStatus).toBe('ACTIVE');
    expect(d?.VersionId).toBe('1');
    expect(d?.CreateTimestamp).toBeInstanceOf(Date);
    const ext = d?.Destinations?.[0]?.ExtendedS3DestinationDescription;
    expect(ext?.BucketARN).toBe('arn:aws:s3:::archive');
    expect(ext?.RoleARN).toBe(ROLE);
    expect(ext?.BufferingHints).toEqual({ SizeInMBs: 2, IntervalInSeconds: 60 });
    expect(ext?.CompressionFormat).toBe('GZIP');
    expect(ext?.ProcessingConfiguration?.Processors?.[0]?.Parameters?.[0]?.ParameterValue).toBe('\\n');

    const listed = await b.client.send(new ListDeliveryStreamsCommand({}));
    expect(listed.DeliveryStreamNames).toEqual(['orders', 'telemetry']);
    const page = await b.client.send(new ListDeliveryStreamsCommand({ Limit: 1 }));
    expect(page).toMatchObject({ DeliveryStreamNames: ['orders'], HasMoreDeliveryStreams: true });

    await expect(
      b.client.send(new CreateDeliveryStreamCommand({ DeliveryStreamName: 'orders', S3DestinationConfiguration: s3('archive') as never })),
    ).rejects.toBeInstanceOf(ResourceInUseException);
    await expect(b.client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'nope' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    await expect(
      b.client.send(
        new CreateDeliveryStreamCommand({
          DeliveryStreamName: 'lambda',
          ExtendedS3DestinationConfiguration: s3('archive', {
            ProcessingConfiguration: { Enabled: true, Processors: [{ Type: 'Lambda', Parameters: [] }] },
          }) as never,
        }),
      ),
    ).rejects.toBeInstanceOf(InvalidArgumentException);
    await expect(
      b.client.send(
        new CreateDeliveryStreamCommand({
          DeliveryStreamName: 'exprs',
          ExtendedS3DestinationConfiguration: s3('archive', { Prefix: 'x/!{timestamp:yyyy}/' }) as never,
        }),
      ),
    ).rejects.toThrow(/ErrorOutputPrefix must be specified/);
    await expect(
      b.client.send(
        new CreateDeliveryStreamCommand({
          DeliveryStreamName: 'backup',
          ExtendedS3DestinationConfiguration: s3('archive', { S3BackupMode: 'Enabled' }) as never,
        }),
      ),
    ).rejects.toBeInstanceOf(InvalidArgumentException);

    await b.client.send(
      new UpdateDestinationCommand({
        DeliveryStreamName: 'orders',
        CurrentDeliveryStreamVersionId: '1',
        DestinationId: 'destinationId-000000000001',
        ExtendedS3DestinationUpdate: { BufferingHints: { SizeInMBs: 4, IntervalInSeconds: 30 } },
      }),
    );
    const after = (await b.client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'orders' }))).DeliveryStreamDescription;
    expect(after?.VersionId).toBe('2');
    expect(after?.Destinations?.[0]?.ExtendedS3DestinationDescription).toMatchObject({
      BufferingHints: { SizeInMBs: 4, IntervalInSeconds: 30 },
      Prefix: 'orders/',
      CompressionFormat: 'GZIP',
    });
    await expect(
      b.client.send(
        new UpdateDestinationCommand({
          DeliveryStreamName: 'orders',
          CurrentDeliveryStreamVersionId: '1',
          DestinationId: 'destinationId-000000000001',
          S3DestinationUpdate: { Prefix: 'late/' },
        }),
      ),
    ).rejects.toBeInstanceOf(ConcurrentModificationException);

    await b.client.send(new TagDeliveryStreamCommand({ DeliveryStreamName: 'orders', Tags: [{ Key: 'env', Value: 'test' }] }));
    await b.client.send(new UntagDeliveryStreamCommand({ DeliveryStreamName: 'orders', TagKeys: ['team'] }));
    const tags = await b.client.send(new ListTagsForDeliveryStreamCommand({ DeliveryStreamName: 'orders' }));
    expect(tags.Tags).toEqual([{ Key: 'env', Value: 'test' }]);

    await b.client.send(new DeleteDeliveryStreamCommand({ DeliveryStreamName: 'orders' }));
    await expect(
      b.client.send(new PutRecordCommand({ DeliveryStreamName: 'orders', Record: { Data: Buffer.from('x') } })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('delivers put records byte for byte, newline-delimited and gzipped, under the default key layout', async () => {
    await b.client.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: 'events',
        ExtendedS3DestinationConfiguration: s3('events-bucket', {
          BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 },
          CompressionFormat: 'GZIP',
          ProcessingConfiguration: NEWLINE,
        }) as never,
      }),
    );
    const one = await b.client.send(new PutRecordCommand({ DeliveryStreamName: 'events', Record: { Data: Buffer.from('{"n":0}') } }));
    expect(one.RecordId).toMatch(/.+/);
    const batch = await b.client.send(
      new PutRecordBatchCommand({
        DeliveryStreamName: 'events',
        Records: Array.from({ length: 99 }, (_, i) => ({ Data: Buffer.from(JSON.stringify({ n: i + 1, text: 'é✓' })) })),
      }),
    );
    expect(batch.FailedPutCount).toBe(0);
    expect(batch.RequestResponses).toHaveLength(99);
    const objects = await waitForObjects(b.directory, 'events-bucket', (o) => lines(o).length >= 100);
    const got = lines(objects).map((l) => JSON.parse(l) as { n: number; text?: string });
    // Objects written within one second have no order by key (as on Firehose): compare as a set.
    expect(got.map((r) => r.n).sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(got[5]?.text).toBe('é✓');
    const now = new Date();
    const hour = `${String(now.getUTCFullYear())}/${String(now.getUTCMonth() + 1).padStart(2, '0')}/${String(now.getUTCDate()).padStart(2, '0')}`;
    for (const o of objects)
      expect(o.key).toMatch(new RegExp(`^${hour}/\\d\\d/events-1-\\d{4}-\\d\\d-\\d\\d-\\d\\d-\\d\\d-\\d\\d-[0-9a-f-]{36}\\.gz$`));
  });

  it('keeps binary records identical without a delimiter, and seals a batch by size before its interval', async () => {
    await b.client.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: 'blobs',
        S3DestinationConfiguration: s3('blobs', { BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 900 } }) as never,
      }),
    );
    const records = Array.from({ length: 5 }, (_, i) => Buffer.alloc(300 * 1024, i * 51 + 1));
    records[0]?.set([0, 255, 10, 13], 0);
    for (const Data of records) await b.client.send(new PutRecordCommand({ DeliveryStreamName: 'blobs', Record: { Data } }));
    // 1.5 MiB buffered against a 1 MiB hint: the first object is written without waiting 900 s.
    const objects = await waitForObjects(b.directory, 'blobs', (o) => o.length >= 1);
    expect(objects[0]?.body.equals(Buffer.concat(records.slice(0, 4)))).toBe(true);
  });

  it('fills an object to a size hint larger than a queue keeps in memory by default (16 MiB)', async () => {
    await b.client.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: 'large',
        S3DestinationConfiguration: s3('large', { BufferingHints: { SizeInMBs: 32, IntervalInSeconds: 900 } }) as never,
      }),
    );
    for (let i = 0; i < 34; i++)
      await b.client.send(new PutRecordCommand({ DeliveryStreamName: 'large', Record: { Data: Buffer.alloc(1000 * 1024, i) } }));
    // Sealed by size, long before its 900 s interval.
    const [o] = await waitForObjects(b.directory, 'large', (x) => x.length >= 1);
    expect(o?.body.length).toBeGreaterThanOrEqual(32 * 1024 * 1024);
  });

  it('names objects by prefix expressions and a file extension', async () => {
    await b.client.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: 'exprs',
        ExtendedS3DestinationConfiguration: s3('exprs', {
          Prefix: 'year=!{timestamp:yyyy}/month=!{timestamp:MM}/!{firehose:random-string}/',
          ErrorOutputPrefix: 'errors/!{firehose:error-output-type}/',
          BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 },
          FileExtension: '.ndjson',
        }) as never,
      }),
    );
    await b.client.send(new PutRecordCommand({ DeliveryStreamName: 'exprs', Record: { Data: Buffer.from('r') } }));
    const [o] = await waitForObjects(b.directory, 'exprs', (x) => x.length === 1);
    const now = new Date();
    expect(o?.key).toMatch(
      new RegExp(
        `^year=${String(now.getUTCFullYear())}/month=${String(now.getUTCMonth() + 1).padStart(2, '0')}/[A-Za-z0-9]{11}/exprs-1-.*\\.ndjson$`,
      ),
    );
  });

  it('refuses a record over 1,000 KiB and a batch over 500 records, and keeps delivering', async () => {
    await b.client.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: 'limits',
        S3DestinationConfiguration: s3('limits', { BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 } }) as never,
      }),
    );
    await expect(
      b.client.send(new PutRecordCommand({ DeliveryStreamName: 'limits', Record: { Data: Buffer.alloc(1000 * 1024 + 1) } })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(
      b.client.send(
        new PutRecordBatchCommand({
          DeliveryStreamName: 'limits',
          Records: Array.from({ length: 501 }, () => ({ Data: Buffer.from('x') })),
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    await b.client.send(new PutRecordCommand({ DeliveryStreamName: 'limits', Record: { Data: Buffer.from('ok') } }));
    const objects = await waitForObjects(b.directory, 'limits', (o) => o.length === 1);
    expect(objects[0]?.body.toString()).toBe('ok');
  });

  it('retries a destination that refuses writes and delivers once it recovers', async () => {
    // The object's directory is a file: every write fails until it is moved away.
    await mkdir(join(b.directory, 'flaky'), { recursive: true });
    writeFileSync(join(b.directory, 'flaky', 'in'), 'in the way');
    await b.client.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: 'flaky',
        ExtendedS3DestinationConfiguration: s3('flaky', {
          Prefix: 'in/',
          ErrorOutputPrefix: 'failed/!{firehose:error-output-type}/',
          BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 },
          ProcessingConfiguration: NEWLINE,
        }) as never,
      }),
    );
    await b.client.send(new PutRecordCommand({ DeliveryStreamName: 'flaky', Record: { Data: Buffer.from('kept') } }));
    // The retry duration (1 s) runs out: the batch lands under the error prefix, its data in base64.
    const errors = await waitForObjects(b.directory, 'flaky', (o) => o.some((x) => x.key.startsWith('failed/')));
    const line = JSON.parse(lines(errors.filter((x) => x.key.startsWith('failed/delivery-failed/')))[0] as string) as Record<
      string,
      unknown
    >;
    expect(Buffer.from(line.rawData as string, 'base64').toString()).toBe('kept');
    expect(line.errorCode).toBe('S3.DeliveryFailed');
    expect(line.attemptsMade).toBeGreaterThan(1);

    rmSync(join(b.directory, 'flaky', 'in'));
    await b.client.send(new PutRecordCommand({ DeliveryStreamName: 'flaky', Record: { Data: Buffer.from('after') } }));
    const objects = await waitForObjects(b.directory, 'flaky', (o) => o.some((x) => x.key.startsWith('in/')));
    expect(lines(objects.filter((x) => x.key.startsWith('in/')))).toEqual(['after']);
  });

  it('takes SNS messages from firehose subscriptions, as notifications or raw, one a line', async () => {
    const sns = new SNSClient({
      endpoint: `http://127.0.0.1:${b.server.listeners.port('aws', 'tcp') as number}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    try {
      for (const name of ['sns-envelopes', 'sns-raw'])
        await b.client.send(
          new CreateDeliveryStreamCommand({
            DeliveryStreamName: name,
            S3DestinationConfiguration: s3(name, { BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 } }) as never,
          }),
        );
      const topicArn = (await sns.send(new CreateTopicCommand({ Name: 'orders-feed' }))).TopicArn;
      const streamArn = (name: string): string => `arn:aws:firehose:us-east-1:000000000000:deliverystream/${name}`;
      await expect(
        sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'firehose', Endpoint: streamArn('sns-raw') })),
      ).rejects.toThrow(/SubscriptionRoleArn/);
      await expect(
        sns.send(
          new SubscribeCommand({
            TopicArn: topicArn,
            Protocol: 'firehose',
            Endpoint: streamArn('missing'),
            Attributes: { SubscriptionRoleArn: ROLE },
          }),
        ),
      ).rejects.toThrow(/delivery stream/);
      const subscribed = await sns.send(
        new SubscribeCommand({
          TopicArn: topicArn,
          Protocol: 'firehose',
          Endpoint: streamArn('sns-envelopes'),
          Attributes: { SubscriptionRoleArn: ROLE },
        }),
      );
      expect(subscribed.SubscriptionArn).toMatch(/^arn:aws:sns:us-east-1:000000000000:orders-feed:/);
      await sns.send(
        new SubscribeCommand({
          TopicArn: topicArn,
          Protocol: 'firehose',
          Endpoint: streamArn('sns-raw'),
          Attributes: { SubscriptionRoleArn: ROLE, RawMessageDelivery: 'true' },
        }),
      );
      for (const n of [1, 2, 3])
        await sns.send(
          new PublishCommand({
            TopicArn: topicArn,
            Message: `order ${String(n)}`,
            Subject: 'orders',
            MessageAttributes: { n: { DataType: 'Number', StringValue: String(n) } },
          }),
        );
      const raw = await waitForObjects(b.directory, 'sns-raw', (o) => lines(o).length >= 3);
      expect(lines(raw).sort()).toEqual(['order 1', 'order 2', 'order 3']);
      const envelopes = await waitForObjects(b.directory, 'sns-envelopes', (o) => lines(o).length >= 3);
      const docs = lines(envelopes).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(docs.map((d) => d.Message).sort()).toEqual(['order 1', 'order 2', 'order 3']);
      expect(docs[0]).toMatchObject({ Type: 'Notification', TopicArn: topicArn, Subject: 'orders' });
      expect(docs[0]?.MessageAttributes).toMatchObject({ n: { Type: 'Number' } });
    } finally {
      sns.destroy();
    }
  });

  it('feeds a topic rule from an MQTT fleet (mqtt.js and mosquitto_pub) into gzipped objects', async () => {
    const devices = await Promise.all(
      [1, 2, 3].map(async (n) => (await connectMqtt(`mqtt://127.0.0.1:${String(b.mqttPort)}`, { clientId: `device-${String(n)}` })).client),
    );
    try {
      await Promise.all(
        devices.map(async (c, i) => {
          for (let k = 0; k < 20; k++) await c.publishAsync(`devices/d${String(i)}/telemetry`, JSON.stringify({ d: i, k }), { qos: 1 });
        }),
      );
      await devices[0]?.publishAsync('devices/d0/status', 'not telemetry', { qos: 1 });
    } finally {
      await Promise.all(devices.map((c) => endMqtt(c)));
    }
    await run(
      'mosquitto_pub',
      ['-h', '127.0.0.1', '-p', String(b.mqttPort), '-q', '1', '-t', 'devices/mosq/telemetry', '-m', '{"d":"mosq"}'],
      {
        timeout: 10_000,
      },
    );
    const objects = await waitForObjects(b.directory, 'lake', (o) => lines(o).length >= 61);
    const got = lines(objects).map((l) => JSON.parse(l) as { d: number | string; k?: number });
    expect(got).toHaveLength(61);
    for (const d of [0, 1, 2])
      expect(
        got
          .filter((r) => r.d === d)
          .map((r) => r.k ?? -1)
          .sort((x, y) => x - y),
      ).toEqual(Array.from({ length: 20 }, (_, k) => k));
    // Within one object, each device's records keep their publish order.
    for (const o of objects) {
      const ks = lines([o]).map((l) => JSON.parse(l) as { d: number | string; k?: number });
      for (const d of [0, 1, 2]) {
        const seq = ks.filter((r) => r.d === d).map((r) => r.k ?? -1);
        expect(seq).toEqual([...seq].sort((x, y) => x - y));
      }
    }
    expect(got.some((r) => r.d === 'mosq')).toBe(true);
    for (const o of objects) expect(o.key).toMatch(/^telemetry\/\d{4}\/\d\d\/\d\d\/\d\d\/telemetry-1-.*\.gz$/);
  });
});

describe('python3-boto3 (Firehose JSON 1.1)', () => {
  let b: Broker | undefined;
  afterEach(() => stopBroker(b));

  it('creates a stream, puts records that arrive byte for byte, updates, tags, and gets the Firehose error codes', async () => {
    b = await startBroker();
    const script = join(import.meta.dirname, '../fixtures/firehose_boto3_client.py');
    const endpoint = `http://127.0.0.1:${b.server.listeners.port('aws', 'tcp') as number}`;
    const { stdout } = await run('/usr/bin/python3', [script, endpoint, 'AKIDPY', 'secret'], { timeout: 30_000 });
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(out).toMatchObject({
      arn: 'arn:aws:firehose:us-east-1:000000000000:deliverystream/py-stream',
      singleHasId: true,
      failed: 0,
      responses: 5,
      status: 'ACTIVE',
      version: '1',
      bucket: 'arn:aws:s3:::py-bucket',
      compression: 'GZIP',
      names: ['py-stream'],
      updated: ['2', 60],
      tags: [
        ['env', 'ci'],
        ['team', 'py'],
      ],
      errors: {
        missing: 'ResourceNotFoundException',
        exists: 'ResourceInUseException',
        zip: 'InvalidArgumentException',
        staleVersion: 'ConcurrentModificationException',
        tooBig: 'ValidationException',
      },
    });
    const objects = await waitForObjects(b.directory, 'py-bucket', (o) => lines(o).length >= 7);
    const small = lines(objects).filter((l) => l.length < 100);
    expect(small.sort()).toEqual(['python 2', 'python 3', 'python 4', 'python 5', 'python one', 'é'].sort());
    expect(lines(objects).filter((l) => l === 'z'.repeat(1_000_000))).toHaveLength(1);
    for (const o of objects) expect(o.key).toMatch(/^py\/\d{4}\/.*\.gz$/);
  });
});

describe('a full buffer', () => {
  let b: Broker | undefined;
  afterEach(() => stopBroker(b));

  it('holds at most maxBytesInFlight in memory while the destination fails; the rest waits in the store', async () => {
    b = await startBroker({ maxBytesInFlight: 1024 * 1024 });
    writeFileSync(join(b.directory, 'held-bucket'), 'not a directory');
    await b.client.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: 'held',
        S3DestinationConfiguration: s3('held-bucket', { BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 } }) as never,
      }),
    );
    const records = Array.from({ length: 10 }, (_, i) => Buffer.alloc(300 * 1024, i + 1));
    for (const Data of records) await b.client.send(new PutRecordCommand({ DeliveryStreamName: 'held', Record: { Data } }));
    const streams = b.server.activeDeliveryStreams();
    const view = streams?.view('held');
    expect(view?.stats?.inFlightBytes).toBeLessThanOrEqual(1024 * 1024 + 300 * 1024);
    expect(view?.bufferedEntries).toBeGreaterThanOrEqual(5);

    rmSync(join(b.directory, 'held-bucket'));
    const objects = await waitForObjects(b.directory, 'held-bucket', (o) => o.reduce((n, x) => n + x.body.length, 0) >= 10 * 300 * 1024);
    const got = Buffer.concat(objects.map((o) => o.body));
    expect(got.length).toBe(10 * 300 * 1024);
    for (let i = 1; i <= 10; i++) expect(got.includes(Buffer.alloc(300 * 1024, i))).toBe(true);
  });

  it('refuses records per record with ServiceUnavailableException, and delivers every accepted one', async () => {
    b = await startBroker({ maxBufferedMessages: 5, maxMessagesInFlight: 2 });
    await mkdir(join(b.directory, 'small'), { recursive: true });
    writeFileSync(join(b.directory, 'small', 'p'), 'in the way');
    await b.client.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: 'small',
        ExtendedS3DestinationConfiguration: s3('small', {
          Prefix: 'p/',
          BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 },
          ProcessingConfiguration: NEWLINE,
        }) as never,
      }),
    );
    // Ten puts of two records: the buffer (5 puts, 2 of them taken by the stuck delivery) fills up.
    const accepted: string[] = [];
    const codes: string[] = [];
    for (let p = 0; p < 10; p++) {
      const data = [`r${String(p)}a`, `r${String(p)}b`];
      const r = await b.client.send(
        new PutRecordBatchCommand({ DeliveryStreamName: 'small', Records: data.map((x) => ({ Data: Buffer.from(x) })) }),
      );
      r.RequestResponses?.forEach((x, i) => (x.RecordId !== undefined ? accepted.push(data[i] as string) : codes.push(x.ErrorCode ?? '')));
    }
    expect(codes.length).toBeGreaterThan(0);
    expect(accepted.length + codes.length).toBe(20);
    expect(new Set(codes)).toEqual(new Set(['ServiceUnavailableException']));
    expect((await readBucket(b.directory, 'small')).map((o) => o.key)).toEqual(['p']);

    rmSync(join(b.directory, 'small', 'p'));
    const objects = await waitForObjects(
      b.directory,
      'small',
      (o) => lines(o.filter((x) => x.key.startsWith('p/'))).length >= accepted.length,
    );
    expect(lines(objects.filter((x) => x.key.startsWith('p/'))).sort()).toEqual([...accepted].sort());
  });
});
