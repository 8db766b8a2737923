// Streams from the broker's own protocols, RabbitMQ streams' way, on a real Redis: STOMP consumers
// (stompit, python3-stomp) and AMQP 1.0 consumers (rhea, python3-qpid-proton) attach to a stream
// at an offset (first, next, last, a numeric offset, a timestamp) and read every record in each
// key's order; a named consumer resumes where it acknowledged; STOMP and AMQP publishers append with
// a partition key; an MQTT topic filter feeds a stream through a configured rule (mqtt.js). A
// stream made over Kinesis is read over STOMP and the other way round.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CreateStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import type { EventContext } from 'rhea';
import stompit from 'stompit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amqpAdapter } from '../../adapters/amqp/index.ts';
import { awsAdapter } from '../../adapters/aws/index.ts';
import { mqttAdapter } from '../../adapters/mqtt/index.ts';
import { stompAdapter } from '../../adapters/stomp/index.ts';
import type { JunctionServer } from '../../src/server.ts';
import { AmqpClient } from '../helpers/amqp.ts';
import { Collector } from '../helpers/collector.ts';
import { connectMqtt, endMqtt } from '../helpers/mqtt.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { startTestServer } from '../helpers/server.ts';

const run = promisify(execFile);
let redis: TestRedis;
let server: JunctionServer;
let kinesis: KinesisClient;
let stompPort: number;
let amqpPort: number;
let mqttPort: number;

beforeAll(async () => {
  redis = await startRedis();
  const ephemeral = { port: 0, tls: false };
  ({ server } = await startTestServer(
    [stompAdapter, amqpAdapter, mqttAdapter, awsAdapter],
    { stomp: ephemeral, amqp: ephemeral, mqtt: ephemeral, aws: ephemeral, websocket: { enabled: false } },
    {
      store: { type: 'redis', redis: { url: redis.url } },
      streams: { rules: [{ mqttFilter: 'devices/+/telemetry', stream: 'telemetry', partitionKey: { topicLevel: 1 } }] },
    },
  ));
  stompPort = server.listeners.port('stomp', 'tcp') as number;
  amqpPort = server.listeners.port('amqp', 'tcp') as number;
  mqttPort = server.listeners.port('mqtt', 'tcp') as number;
  kinesis = new KinesisClient({
    endpoint: `http://127.0.0.1:${server.listeners.port('aws', 'tcp') as number}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  kinesis?.destroy();
  await server?.stop();
  await redis?.stop();
});

/** A stream of `shards` shards holding `n` records `k<i % 4>:<i>` put over Kinesis. */
async function fill(name: string, shards: number, n: number): Promise<void> {
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  const records = Array.from({ length: n }, (_, i) => ({ PartitionKey: `k${i % 4}`, Data: Buffer.from(`k${i % 4}:${i}`) }));
  const r = await kinesis.send(new PutRecordsCommand({ StreamName: name, Records: records }));
  expect(r.FailedRecordCount).toBe(0);
}

/** Each key's records in the order read: every key's numbers must increase. */
function expectKeyOrder(bodies: string[]): void {
  const last = new Map<string, number>();
  for (const b of bodies) {
    const [key, n] = b.split(':') as [string, string];
    expect(Number(n)).toBeGreaterThan(last.get(key) ?? -1);
    last.set(key, Number(n));
  }
}

interface StompRecord {
  body: string;
  headers: Record<string, string>;
  message: stompit.Client.Message;
}

async function stompClient(): Promise<stompit.Client> {
  return new Promise<stompit.Client>((resolve, reject) =>
    stompit.connect({ host: '127.0.0.1', port: stompPort, connectHeaders: { host: '/', 'accept-version': '1.2' } }, (err, c) =>
      err ? reject(err) : resolve(c),
    ),
  );
}

function stompSubscribe(client: stompit.Client, headers: Record<string, string>): Collector<StompRecord> {
  const got = new Collector<StompRecord>();
  client.subscribe({ ack: 'client-individual', ...headers } as never, (err: Error | null, message: stompit.Client.Message) => {
    if (err) return;
    message.readString('utf-8', (_e, body) =>
      got.push({ body: body ?? '', headers: (message as unknown as { headers: Record<string, string> }).headers, message }),
    );
  });
  return got;
}

function disconnect(client: stompit.Client): Promise<void> {
  return new Promise<void>((resolve) => client.disconnect(() => resolve()));
}

describe('STOMP stream consumers', () => {
  it('stompit reads from first, from an offset and from next, every key in order, with the record offsets', async () => {
    await fill('st-read', 3, 40);
    const client = await stompClient();
    try {
      const all = stompSubscribe(client, { destination: '/stream/st-read', id: 'a', 'x-stream-offset': 'first', 'prefetch-count': '5' });
      for (let i = 1; i <= 40; i++) client.ack((await all.nth(i)).message);
      const bodies = all.items.map((x) => x.body);
      expect([...bodies].sort()).toEqual(Array.from({ length: 40 }, (_, i) => `k${i % 4}:${i}`).sort());
      expectKeyOrder(bodies);
      const first = all.items[0] as StompRecord;
      expect(first.headers.destination).toBe('/stream/st-read');
      expect(first.headers['x-stream-offset']).toMatch(/^\d+$/);
      expect(first.headers['x-stream-shard']).toMatch(/^shardId-\d{12}$/);

      // From the offset of the 20th record read: that record and every later one of its shard come again.
      const pick = all.items[19] as StompRecord;
      const from = stompSubscribe(client, {
        destination: '/stream/st-read',
        id: 'b',
        'x-stream-offset': `offset=${pick.headers['x-stream-offset']}`,
      });
      const sameShard = all.items.filter((x) => x.headers['x-stream-shard'] === pick.headers['x-stream-shard']);
      const expected = sameShard.slice(sameShard.indexOf(pick)).map((x) => x.body);
      for (let i = 1; i <= expected.length; i++) client.ack((await from.nth(i)).message);
      expect(from.items.filter((x) => x.headers['x-stream-shard'] === pick.headers['x-stream-shard']).map((x) => x.body)).toEqual(expected);

      const next = stompSubscribe(client, { destination: '/stream/st-read', id: 'c', 'x-stream-offset': 'next' });
      const receipt = client.send({ destination: '/stream/st-read', 'x-stream-partition-key': 'k9' });
      receipt.write('k9:new');
      receipt.end();
      const fresh = await next.nth(1);
      expect(fresh.body).toBe('k9:new');
      expect(fresh.headers['x-stream-partition-key']).toBe('k9');
    } finally {
      await disconnect(client);
    }
  });

  it('a named consumer resumes after what it acknowledged, and the broker shows its position', async () => {
    await fill('st-named', 2, 20);
    const first = await stompClient();
    const got = stompSubscribe(first, {
      destination: '/stream/st-named',
      id: 'n',
      'x-stream-offset': 'first',
      'x-stream-consumer-name': 'billing',
      'prefetch-count': '20',
    });
    for (let i = 1; i <= 20; i++) await got.nth(i);
    // Acknowledge the first 4 of each shard's order, then leave.
    const byShard = new Map<string, StompRecord[]>();
    for (const r of got.items)
      byShard.set(r.headers['x-stream-shard'] as string, [...(byShard.get(r.headers['x-stream-shard'] as string) ?? []), r]);
    const acked = new Set<string>();
    for (const list of byShard.values()) {
      for (const r of list.slice(0, 4)) {
        first.ack(r.message);
        acked.add(r.body);
      }
    }
    await disconnect(first);

    const again = await stompClient();
    try {
      const resumed = stompSubscribe(again, { destination: '/stream/st-named', id: 'n', 'x-stream-consumer-name': 'billing' });
      for (let i = 1; i <= 20 - acked.size; i++) await resumed.nth(i);
      expect(resumed.items.map((x) => x.body).sort()).toEqual(
        got.items
          .map((x) => x.body)
          .filter((b) => !acked.has(b))
          .sort(),
      );
      const positions = await server.activeStreams()?.positions('st-named');
      expect(Object.keys(positions?.billing ?? {})).toHaveLength(byShard.size);
    } finally {
      await disconnect(again);
    }
  });

  it('python3-stomp reads a stream from first, acknowledging each record', async () => {
    await fill('st-py', 2, 12);
    const script = join(import.meta.dirname, '../fixtures/stream_clients.py');
    const { stdout } = await run('/usr/bin/python3', [script, 'stomp', String(stompPort), 'st-py', '12', 'first'], { timeout: 30_000 });
    const out = JSON.parse(stdout) as { records: Array<{ body: string; offset: string; key: string }> };
    expect(out.records.map((r) => r.body).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `k${i % 4}:${i}`).sort());
    expectKeyOrder(out.records.map((r) => r.body));
    expect(out.records.every((r) => /^\d+$/.test(r.offset) && r.key === r.body.split(':')[0])).toBe(true);
  });
});

describe('AMQP stream consumers and publishers', () => {
  it('rhea reads with rabbitmq:stream-offset-spec first under link credit, and appends with a partition key', async () => {
    await fill('am-read', 2, 30);
    const client = await AmqpClient.connect(amqpPort);
    try {
      const { link, got } = await client.receiver({
        source: { address: 'stream://am-read', filter: { 'rabbitmq:stream-offset-spec': 'first' } },
        credit_window: 0,
      } as never);
      link.add_credit(10);
      for (let i = 1; i <= 10; i++) (await got.nth(i)).delivery.accept();
      expect(got.items).toHaveLength(10);
      link.add_credit(20);
      for (let i = 11; i <= 30; i++) (await got.nth(i)).delivery.accept();
      // A data section: rhea gives it as a Section holding the bytes.
      const bodies = got.items.map((r) => Buffer.from((r.message.body as { content: Buffer }).content).toString());
      expect([...bodies].sort()).toEqual(Array.from({ length: 30 }, (_, i) => `k${i % 4}:${i}`).sort());
      expectKeyOrder(bodies);
      expect(got.items[0]?.message.application_properties?.['x-stream-offset']).toMatch(/^\d+$/);

      const sender = await client.sender({ target: { address: 'stream://am-read' } });
      const outcome = await client.send(sender, {
        body: Buffer.from('from-amqp'),
        application_properties: { 'x-stream-partition-key': 'amqp-key' },
      });
      expect(outcome.outcome).toBe('accepted');
      const shards = (await kinesis.send(new ListShardsCommand({ StreamName: 'am-read' }))).Shards ?? [];
      let found: { key?: string; data: string } | undefined;
      for (const s of shards) {
        const it = await kinesis.send(
          new GetShardIteratorCommand({ StreamName: 'am-read', ShardId: s.ShardId as string, ShardIteratorType: 'TRIM_HORIZON' }),
        );
        const r = await kinesis.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator as string }));
        const rec = r.Records?.find((x) => Buffer.from(x.Data as Uint8Array).toString() === 'from-amqp');
        if (rec) found = { key: rec.PartitionKey, data: 'from-amqp' };
      }
      expect(found).toEqual({ key: 'amqp-key', data: 'from-amqp' });
    } finally {
      client.close();
    }
  });

  it('refuses a bad offset spec and an unknown stream with AMQP errors', async () => {
    const client = await AmqpClient.connect(amqpPort);
    const refusal = (source: Record<string, unknown>): Promise<string> => {
      const link = client.conn.open_receiver({ source } as never);
      return new Promise<string>((resolve) =>
        link.once('receiver_error', (e: EventContext) => resolve(String((e.receiver?.error as { condition?: string })?.condition))),
      );
    };
    try {
      expect(await refusal({ address: 'stream://nope' })).toBe('amqp:not-found');
      await fill('am-bad', 1, 1);
      expect(await refusal({ address: 'stream://am-bad', filter: { 'x-stream-offset': 'yesterday' } })).toBe('amqp:invalid-field');
    } finally {
      client.close();
    }
  });

  it('python3-qpid-proton reads a stream from first with the offset filter', async () => {
    await fill('am-py', 2, 12);
    const script = join(import.meta.dirname, '../fixtures/stream_clients.py');
    const { stdout } = await run('/usr/bin/python3', [script, 'proton', `127.0.0.1:${amqpPort}`, 'am-py', '12', 'first'], {
      timeout: 30_000,
    });
    const out = JSON.parse(stdout) as { records: Array<{ body: string; offset: string; key: string }> };
    expect(out.records.map((r) => r.body).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `k${i % 4}:${i}`).sort());
    expectKeyOrder(out.records.map((r) => r.body));
    expect(out.records.every((r) => r.key === r.body.split(':')[0])).toBe(true);
  });
});

describe('MQTT into a stream', () => {
  it('a topic rule feeds devices/+/telemetry into stream telemetry, keyed by the device', async () => {
    const { client } = await connectMqtt(`mqtt://127.0.0.1:${mqttPort}`, { clientId: 'rule-publisher' });
    try {
      for (let i = 0; i < 10; i++) await client.publishAsync(`devices/d${i % 2}/telemetry`, `t${i}`, { qos: 1 });
    } finally {
      await endMqtt(client);
    }
    const reader = await stompClient();
    try {
      const got = stompSubscribe(reader, { destination: '/stream/telemetry', id: 't', 'x-stream-offset': 'first' });
      for (let i = 1; i <= 10; i++) reader.ack((await got.nth(i)).message);
      const byDevice = (d: string): string[] => got.items.filter((x) => x.headers['x-stream-partition-key'] === d).map((x) => x.body);
      expect(byDevice('d0')).toEqual(['t0', 't2', 't4', 't6', 't8']);
      expect(byDevice('d1')).toEqual(['t1', 't3', 't5', 't7', 't9']);
    } finally {
      await disconnect(reader);
    }
  });
});
