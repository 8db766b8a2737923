// Operating streams: made through the admin API, filled and read over STOMP, shown in the API (shards,
// records, named consumers and their lag), in /metrics (Kinesis's metrics by stream) and by
// `junction streams list|show|read`, deleted; and authorized: signed Kinesis requests (SigV4 over
// HTTP/2) and STOMP clients get only the rights the authorization map gives on queue `stream.NAME`.
import { CreateStreamCommand, GetRecordsCommand, GetShardIteratorCommand, KinesisClient, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsAdapter } from '../../adapters/aws/index.ts';
import { stompAdapter } from '../../adapters/stomp/index.ts';
import type { JunctionServer } from '../../src/server.ts';
import { PASSWORD as ADMIN_PASSWORD, startAdminBroker, type AdminBroker } from '../helpers/admin.ts';
import { runJunction } from '../helpers/junction-cli.ts';
import { hashPassword } from '../../src/security/password.ts';
import { startTestServer } from '../helpers/server.ts';
import { RawStomp } from '../helpers/stomp.ts';

const PASSWORD = ADMIN_PASSWORD;
let b: AdminBroker;

beforeAll(async () => {
  b = await startAdminBroker();
});

afterAll(async () => {
  await b?.stop();
});

async function stomp(): Promise<RawStomp> {
  return RawStomp.connect(b.server.listeners.port('stomp', 'tcp')!, {
    'accept-version': '1.2',
    host: '/',
    login: 'app',
    passcode: PASSWORD,
  });
}

describe('streams, operated', () => {
  it('are made, filled, shown with their consumers, counted, read from the CLI and deleted', async () => {
    const made = await b.call('POST', '/api/streams', { name: 'ops', shards: 2 });
    expect(made.status).toBe(200);
    expect(made.body).toMatchObject({ name: 'ops', openShards: 2, mode: 'PROVISIONED' });
    expect((await b.call('POST', '/api/streams', { name: 'ops', shards: 1 })).status).toBe(409);

    const producer = await stomp();
    for (let i = 0; i < 6; i++) {
      producer.send('SEND', { destination: '/stream/ops', 'x-stream-partition-key': `dev-${i % 2}`, receipt: `r${i}` }, `reading-${i}`);
      await producer.expect('RECEIPT');
    }
    const consumer = await stomp();
    consumer.send('SUBSCRIBE', {
      destination: '/stream/ops',
      id: 'ops',
      ack: 'client-individual',
      'x-stream-offset': 'first',
      'x-stream-consumer-name': 'ops-reader',
      receipt: 'sub',
    });
    await consumer.expect('RECEIPT');
    const first = await consumer.expect('MESSAGE');
    consumer.send('ACK', { id: first.headers.get('ack') as string, receipt: 'acked' });
    for (;;) {
      const f = await consumer.next();
      if (f.command === 'RECEIPT') break;
    }
    consumer.send('DISCONNECT', { receipt: 'bye' });
    await consumer.expect('RECEIPT');

    const list = (await b.call('GET', '/api/streams')).body as Array<Record<string, unknown>>;
    expect(list.find((s) => s.name === 'ops')).toMatchObject({ openShards: 2, incomingRecords: 6, retentionHours: 24 });
    const view = (await b.call('GET', '/api/streams/ops')).body as {
      records: number;
      shardList: Array<{ id: string; records: number; state: string }>;
      consumers: Array<{ name: string; lagMs: number; positions: Record<string, string> }>;
    };
    expect(view.records).toBe(6);
    expect(view.shardList.map((s) => s.state)).toEqual(['open', 'open']);
    expect(view.shardList.reduce((n, s) => n + s.records, 0)).toBe(6);
    expect(view.consumers).toHaveLength(1);
    expect(view.consumers[0]?.name).toBe('ops-reader');
    expect(Object.keys(view.consumers[0]?.positions ?? {})).toHaveLength(1);
    expect(view.consumers[0]?.lagMs).toBeGreaterThanOrEqual(0);

    const shard = view.shardList.find((s) => s.records > 0)?.id as string;
    const records = (await b.call('GET', `/api/streams/ops/records?shard=${shard}&limit=10`)).body as Array<Record<string, unknown>>;
    expect(records.length).toBe(view.shardList.find((s) => s.id === shard)?.records);
    expect(records[0]).toMatchObject({
      shard,
      partitionKey: expect.stringMatching(/^dev-[01]$/),
      text: expect.stringMatching(/^reading-\d$/),
    });

    const auth = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`;
    const metrics = await (await fetch(`${b.url}/metrics`, { headers: { authorization: auth } })).text();
    expect(metrics).toMatch(/^junction_stream_incoming_records_total\{stream="ops"\} 6$/m);
    expect(metrics).toMatch(/^junction_stream_open_shards\{stream="ops"\} 2$/m);
    expect(metrics).toMatch(/^junction_stream_outgoing_records_total\{stream="ops"\} [1-9]\d*$/m);

    const env = { JUNCTION_ADMIN_URL: b.url, JUNCTION_ADMIN_USER: 'admin', JUNCTION_ADMIN_PASSWORD: PASSWORD };
    const listed = await runJunction(['streams', 'list'], { env });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^ops\s+PROVISIONED\s+2\s+24\s+6\s+/m);
    const shown = await runJunction(['streams', 'show', 'ops'], { env });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^shardId-000000000000\s+open/m);
    expect(shown.stdout).toMatch(/^ops-reader\s+\d+/m);
    const read = await runJunction(['streams', 'read', 'ops', '--shard', shard, '--limit', '2'], { env });
    expect(read.code).toBe(0);
    expect(read.stdout.trim().split('\n')).toHaveLength(Math.min(2, records.length));
    expect(read.stdout).toMatch(/^4\d{31} \S+ dev-[01] reading-\d$/m);

    expect((await b.call('DELETE', '/api/streams/ops')).status).toBe(200);
    expect((await b.call('GET', '/api/streams/ops')).status).toBe(404);
    producer.socket.destroy();
  });
});

describe('streams, authorized', () => {
  let server: JunctionServer;
  const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  beforeAll(async () => {
    process.env.STREAM_TEST_SECRET = SECRET;
    const passwordHash = await hashPassword(PASSWORD);
    ({ server } = await startTestServer(
      [awsAdapter, stompAdapter],
      { aws: { port: 0, tls: false }, stomp: { port: 0, tls: false }, websocket: { enabled: false } },
      {
        security: {
          users: [
            { username: 'owner', groups: ['iot'], accessKeys: [{ id: 'AKIAOWNEREXAMPLE01', secretEnv: 'STREAM_TEST_SECRET' }] },
            {
              username: 'viewer',
              passwordHash,
              groups: ['viewers'],
              accessKeys: [{ id: 'AKIAVIEWEREXAMPLE1', secretEnv: 'STREAM_TEST_SECRET' }],
            },
          ],
          authorization: [{ queue: 'stream.iot.>', read: ['iot', 'viewers'], write: ['iot'], admin: ['iot'] }],
        },
      },
    ));
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('gives each signed caller the rights the map gives on queue stream.NAME, and refuses the rest with AccessDeniedException', async () => {
    const client = (id: string, secret = SECRET): KinesisClient =>
      new KinesisClient({
        endpoint: `http://127.0.0.1:${server.listeners.port('aws', 'tcp') as number}`,
        region: 'us-east-1',
        credentials: { accessKeyId: id, secretAccessKey: secret },
        maxAttempts: 1,
      });
    const owner = client('AKIAOWNEREXAMPLE01');
    const viewer = client('AKIAVIEWEREXAMPLE1');
    const forged = client('AKIAOWNEREXAMPLE01', 'not-the-secret');
    try {
      await owner.send(new CreateStreamCommand({ StreamName: 'iot.fleet', ShardCount: 1 }));
      await owner.send(new PutRecordCommand({ StreamName: 'iot.fleet', PartitionKey: 'k', Data: Buffer.from('signed') }));
      const it = await viewer.send(
        new GetShardIteratorCommand({ StreamName: 'iot.fleet', ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }),
      );
      const r = await viewer.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator as string }));
      expect(r.Records?.map((x) => Buffer.from(x.Data as Uint8Array).toString())).toEqual(['signed']);
      await expect(
        viewer.send(new PutRecordCommand({ StreamName: 'iot.fleet', PartitionKey: 'k', Data: Buffer.from('no') })),
      ).rejects.toMatchObject({
        name: 'AccessDeniedException',
      });
      await expect(owner.send(new CreateStreamCommand({ StreamName: 'payroll', ShardCount: 1 }))).rejects.toMatchObject({
        name: 'AccessDeniedException',
      });
      await expect(
        forged.send(new PutRecordCommand({ StreamName: 'iot.fleet', PartitionKey: 'k', Data: Buffer.from('x') })),
      ).rejects.toMatchObject({
        name: 'SignatureDoesNotMatch',
      });

      // Over STOMP, the viewer reads the stream and may not append to it.
      const stomp = await RawStomp.connect(server.listeners.port('stomp', 'tcp')!, {
        'accept-version': '1.2',
        host: '/',
        login: 'viewer',
        passcode: PASSWORD,
      });
      stomp.send('SUBSCRIBE', { destination: '/stream/iot.fleet', id: 'v', 'x-stream-offset': 'first' });
      expect((await stomp.expect('MESSAGE')).body.toString()).toBe('signed');
      stomp.send('SEND', { destination: '/stream/iot.fleet', receipt: 'w' }, 'not allowed');
      const refused = await stomp.expect('ERROR');
      expect(refused.headers.get('message')).toMatch(/not authorized|may not/i);
      stomp.socket.destroy();
    } finally {
      owner.destroy();
      viewer.destroy();
      forged.destroy();
    }
  });
});
