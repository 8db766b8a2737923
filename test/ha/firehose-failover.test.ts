// A delivery stream across a failover: two broker processes on one Redis, delivering to one shared
// directory. Records are put in batches to the active broker while it buffers and writes objects;
// it is killed (-9) with a batch half-filled; the broker that takes over delivers every record the
// SDK had seen acknowledged, none twice, and goes on delivering what is put to it. An MQTT device publishing into a topic rule at the same time has
// every PUBACKed message delivered too.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess } from '../helpers/broker-process.ts';
import { lines, waitForObjects } from '../helpers/firehose.ts';
import { connectMqtt } from '../helpers/mqtt.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';

let redis: TestRedis;
let directory: string;
const brokers: BrokerProcess[] = [];
const clients: FirehoseClient[] = [];

beforeAll(async () => {
  redis = await startRedis();
  directory = mkdtempSync(join(tmpdir(), 'junction-firehose-ha-'));
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  for (const b of brokers) await b.stop();
  await redis?.stop();
  rmSync(directory, { recursive: true, force: true });
});

function firehose(b: BrokerProcess): FirehoseClient {
  const c = new FirehoseClient({
    endpoint: `http://127.0.0.1:${b.ports.aws as number}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDHA', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  clients.push(c);
  return c;
}

/** Puts batches of 50 until stopped; answers the records each acknowledged response accepted. */
function produce(client: FirehoseClient, tag: string, stop: { stopped: boolean }): Promise<string[]> {
  return (async () => {
    const acked: string[] = [];
    for (let n = 0; !stop.stopped; n++) {
      const records = Array.from({ length: 50 }, (_, i) => `${tag}-${String(n)}-${String(i)}`);
      try {
        const r = await client.send(
          new PutRecordBatchCommand({ DeliveryStreamName: 'ha', Records: records.map((x) => ({ Data: Buffer.from(x) })) }),
        );
        r.RequestResponses?.forEach((x, i) => {
          if (x.RecordId !== undefined) acked.push(records[i] as string);
        });
      } catch {
        return acked; // the broker went away mid-request: those records were never acknowledged
      }
    }
    return acked;
  })();
}

/** Publishes telemetry at QoS 1 until stopped or the broker is gone; answers what was PUBACKed. */
async function publishUntilGone(client: MqttClient, stop: { stopped: boolean }): Promise<string[]> {
  const acked: string[] = [];
  // A publish in flight when the connection drops is never settled by mqtt.js: the close ends the wait.
  const gone = new Promise<'gone'>((resolve) => client.once('close', () => resolve('gone')));
  for (let n = 0; !stop.stopped; n++) {
    const body = `t-${String(n)}`;
    const outcome = await Promise.race([
      client.publishAsync('devices/d1/telemetry', body, { qos: 1 }).then(() => 'acked' as const),
      gone,
    ]).catch(() => 'gone' as const);
    if (outcome === 'gone') return acked;
    acked.push(body);
  }
  return acked;
}

describe('Firehose across a failover', () => {
  it('delivers every acknowledged record after a kill -9 of the active mid-batch', async () => {
    const config = [
      `firehose: { directory: "${directory}", maxMessagesInFlight: 2000, deliveryStreams: [` +
        `{ name: ha, destination: { bucket: lake, bufferingIntervalSeconds: 1, compression: GZIP, delimiter: "\\n" } },` +
        `{ name: fleet, source: { kind: topic, topic: "devices.*.telemetry" }, destination: { bucket: fleet-lake, bufferingIntervalSeconds: 1, delimiter: "\\n" } }] }`,
    ];
    const a = await BrokerProcess.start('a', redis.url, { cluster: 'firehose', extra: config });
    brokers.push(a);
    await a.waitActive();
    const b = await BrokerProcess.start('b', redis.url, { cluster: 'firehose', extra: config });
    brokers.push(b);

    const stop = { stopped: false };
    const producing = produce(firehose(a), 'a', stop);
    const device = (await connectMqtt(`mqtt://127.0.0.1:${String(a.ports.mqtt)}`, { clientId: 'ha-device', reconnectPeriod: 0 })).client;
    const publishing = publishUntilGone(device, stop);
    // Objects are being written and more records are buffered when the active dies.
    await waitForObjects(directory, 'lake', (o) => o.length >= 2, 20_000);
    const from = b.lines.length;
    await a.kill();
    stop.stopped = true;
    const ackedOnA = await producing;
    const pubackedOnA = await publishing;
    device.end(true);
    expect(ackedOnA.length).toBeGreaterThan(0);
    expect(pubackedOnA.length).toBeGreaterThan(0);
    await b.waitActive(20_000, from);

    const after = await firehose(b).send(
      new PutRecordBatchCommand({ DeliveryStreamName: 'ha', Records: ['b-1', 'b-2'].map((x) => ({ Data: Buffer.from(x) })) }),
    );
    expect(after.FailedPutCount).toBe(0);

    const expected = [...ackedOnA, 'b-1', 'b-2'];
    const objects = await waitForObjects(
      directory,
      'lake',
      (o) => {
        const got = new Set(lines(o));
        return expected.every((x) => got.has(x));
      },
      30_000,
    );
    const got = lines(objects);
    const duplicates = got.length - new Set(got).size;
    // The object the killed broker was writing is in the store's journal: b acknowledges its records
    // without writing them again, so nothing comes twice.
    expect(duplicates).toBe(0);
    const wanted = new Set(expected);
    const extra = got.filter((x) => !wanted.has(x));
    // What else was written was put by the request the kill cut short (stored, never acknowledged).
    for (const x of extra) expect(x).toMatch(/^a-\d+-\d+$/);

    // The topic rule's subscription lives in the store: every PUBACKed telemetry message is delivered by b.
    const fleet = await waitForObjects(
      directory,
      'fleet-lake',
      (o) => {
        const seen = new Set(lines(o));
        return pubackedOnA.every((x) => seen.has(x));
      },
      30_000,
    );
    expect(new Set(lines(fleet)).size).toBeGreaterThanOrEqual(pubackedOnA.length);
  }, 90_000);
});
