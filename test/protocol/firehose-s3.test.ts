// Delivery to a real S3-compatible server (s3rver, started here on a free port) over the S3 API:
// objects read back through @aws-sdk/client-s3 hold every record byte for byte, gunzipped; when the
// server goes away the stream retries, shows that it is failing, and delivers everything it had
// accepted once the server is back on the same port.
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CreateDeliveryStreamCommand, FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { awsAdapter } from '../../adapters/aws/index.ts';
import type { JunctionServer } from '../../src/server.ts';
import { startTestServer } from '../helpers/server.ts';

const SECRET_ENV = 'TEST_FIREHOSE_S3_SECRET';
let s3Dir: string;
let s3server: S3rver | undefined;
let s3port: number;
let s3: S3Client;
let server: JunctionServer;
let firehose: FirehoseClient;

async function startS3(port: number): Promise<number> {
  s3server = new S3rver({ port, address: '127.0.0.1', silent: true, directory: s3Dir, configureBuckets: [{ name: 'lake', configs: [] }] });
  const address = (await s3server.run()) as AddressInfo;
  return address.port;
}

async function stopS3(): Promise<void> {
  const s = s3server;
  s3server = undefined;
  if (s) await s.close();
}

beforeAll(async () => {
  s3Dir = mkdtempSync(join(tmpdir(), 'junction-s3rver-'));
  s3port = await startS3(0);
  const endpoint = `http://127.0.0.1:${String(s3port)}`;
  s3 = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  process.env[SECRET_ENV] = 'S3RVER';
  ({ server } = await startTestServer(
    [awsAdapter],
    { aws: { port: 0, tls: false }, websocket: { enabled: false } },
    { firehose: { s3: { endpoint, accessKeyId: 'S3RVER', secretAccessKeyEnv: SECRET_ENV }, retryDurationSeconds: 3600 } },
  ));
  firehose = new FirehoseClient({
    endpoint: `http://127.0.0.1:${server.listeners.port('aws', 'tcp') as number}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  await firehose.send(
    new CreateDeliveryStreamCommand({
      DeliveryStreamName: 'to-s3',
      ExtendedS3DestinationConfiguration: {
        RoleARN: 'arn:aws:iam::000000000000:role/firehose',
        BucketARN: 'arn:aws:s3:::lake',
        Prefix: 'raw/',
        CompressionFormat: 'GZIP',
        BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 },
        ProcessingConfiguration: {
          Enabled: true,
          Processors: [{ Type: 'AppendDelimiterToRecord', Parameters: [{ ParameterName: 'Delimiter', ParameterValue: '\\n' }] }],
        },
      },
    }),
  );
});

afterAll(async () => {
  firehose.destroy();
  s3.destroy();
  await server.stop();
  await stopS3();
  delete process.env[SECRET_ENV];
  rmSync(s3Dir, { recursive: true, force: true });
});

async function objectsUnder(prefix: string): Promise<{ key: string; lines: string[] }[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'lake', Prefix: prefix }));
  const out: { key: string; lines: string[] }[] = [];
  for (const o of listed.Contents ?? []) {
    const got = await s3.send(new GetObjectCommand({ Bucket: 'lake', Key: o.Key }));
    const body = Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
    out.push({
      key: o.Key as string,
      lines: gunzipSync(body)
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== ''),
    });
  }
  return out;
}

async function waitForLines(n: number): Promise<string[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const got = (await objectsUnder('raw/')).flatMap((o) => o.lines);
    if (got.length >= n) return got;
    if (Date.now() > deadline) throw new Error(`S3 holds ${String(got.length)} of ${String(n)} records`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function batch(from: number, n: number): { Data: Buffer }[] {
  return Array.from({ length: n }, (_, i) => ({ Data: Buffer.from(JSON.stringify({ i: from + i, pad: 'x'.repeat(i % 50) })) }));
}

it('writes gzipped objects to the S3 server, every record byte for byte', async () => {
  const r = await firehose.send(new PutRecordBatchCommand({ DeliveryStreamName: 'to-s3', Records: batch(0, 200) }));
  expect(r.FailedPutCount).toBe(0);
  const got = await waitForLines(200);
  expect(got.sort()).toEqual(
    batch(0, 200)
      .map((b) => b.Data.toString())
      .sort(),
  );
  const keys = (await objectsUnder('raw/')).map((o) => o.key);
  for (const k of keys) expect(k).toMatch(/^raw\/\d{4}\/\d\d\/\d\d\/\d\d\/to-s3-1-.*\.gz$/);
});

it('retries while the S3 server is down and delivers what it accepted once it is back', async () => {
  await stopS3();
  const r = await firehose.send(new PutRecordBatchCommand({ DeliveryStreamName: 'to-s3', Records: batch(1000, 50) }));
  expect(r.FailedPutCount).toBe(0);
  const streams = server.activeDeliveryStreams();
  const deadline = Date.now() + 10_000;
  while (streams?.view('to-s3').stats?.failingSince === undefined && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
  expect(streams?.view('to-s3').stats?.failures).toBeGreaterThan(0);

  await startS3(s3port);
  const got = await waitForLines(250);
  expect(got.filter((l) => (JSON.parse(l) as { i: number }).i >= 1000)).toHaveLength(50);
  expect(streams?.view('to-s3').stats?.failingSince).toBeUndefined();
});
