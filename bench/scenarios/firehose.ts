// Firehose scenario: records into delivery streams, out as gzipped newline-delimited objects, through
// one Junction process (as `npm start` runs it) with its embedded Redis. Two sources in turn:
// PutRecordBatch producers (500 records a call, over keep-alive HTTP) into a direct-put stream, and
// `--publishers` MQTT devices publishing at QoS 1 into a topic rule. The destination is a directory
// (`firehose.directory`) or, with `--destination s3`, an S3-compatible server (s3rver) on loopback.
// Reported per source: records acknowledged per second over the measured seconds; data freshness
// (record put -> its object visible) at p50/p99, read back from every object after the run; records
// acknowledged but missing from the objects (must be 0); and the broker's peak RSS.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { MqttClient } from 'mqtt';
import { startJunctionProcess } from '../lib/junction-process.ts';
import { connectMqtt } from '../lib/mqtt-connect.ts';
import { BenchSqs } from '../lib/sqs-client.ts';

export interface FirehoseScenario {
  seconds: number;
  size: number;
  producers: number;
  publishers: number;
  /** QoS 1 publishes each MQTT device keeps unacknowledged. */
  inFlight: number;
  intervalSeconds: number;
  destination: 'directory' | 's3';
}

interface Delivered {
  /** Record id -> when its object became visible (ms since the epoch). */
  visibleAt: Map<string, number>;
  duplicates: number;
}

interface SourceResult {
  recordsPerSec: number;
  acknowledged: number;
  missing: number;
  duplicates: number;
  freshnessMs: { p50: number; p99: number; max: number };
}

const S3_SECRET_ENV = 'FIREHOSE_BENCH_S3_SECRET';

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

/** Each record is `<id> <sent ms> <pad>`: its id and put time come back from the object. */
function record(id: string, pad: string): string {
  return `${id} ${String(Date.now())} ${pad}`;
}

async function readDirectory(root: string): Promise<Array<{ body: Buffer; at: number }>> {
  const out: Array<{ body: Buffer; at: number }> = [];
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    // s3rver keeps object K as the file `K._S3rver_object`.
    if (!e.isFile() || !(e.name.endsWith('.gz') || e.name.endsWith('.gz._S3rver_object'))) continue;
    const path = join(e.parentPath, e.name);
    out.push({ body: gunzipSync(await readFile(path)), at: (await stat(path)).mtimeMs });
  }
  return out;
}

function collect(objects: Array<{ body: Buffer; at: number }>, into: Delivered): void {
  for (const o of objects) {
    for (const line of o.body.toString('utf8').split('\n')) {
      if (line === '') continue;
      const id = line.slice(0, line.indexOf(' '));
      if (into.visibleAt.has(id)) into.duplicates++;
      else into.visibleAt.set(id, o.at);
    }
  }
}

function percentile(sorted: number[], q: number): number {
  return sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
}

/** Waits (bounded) until every acknowledged record is in an object; then the figures. */
async function settle(
  acked: Map<string, number>,
  seconds: number,
  read: () => Promise<Array<{ body: Buffer; at: number }>>,
  timeoutMs: number,
): Promise<SourceResult> {
  const deadline = Date.now() + timeoutMs;
  let d: Delivered;
  for (;;) {
    d = { visibleAt: new Map(), duplicates: 0 };
    collect(await read(), d);
    let missing = 0;
    for (const id of acked.keys()) if (!d.visibleAt.has(id)) missing++;
    if (missing === 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const fresh: number[] = [];
  let missing = 0;
  for (const [id, sent] of acked) {
    const at = d.visibleAt.get(id);
    if (at === undefined) missing++;
    else fresh.push(at - sent);
  }
  fresh.sort((a, b) => a - b);
  return {
    recordsPerSec: Math.round(acked.size / seconds),
    acknowledged: acked.size,
    missing,
    duplicates: d.duplicates,
    freshnessMs: { p50: Math.round(percentile(fresh, 0.5)), p99: Math.round(percentile(fresh, 0.99)), max: Math.round(fresh.at(-1) ?? 0) },
  };
}

async function putRecordBatches(port: number, s: FirehoseScenario, pad: string): Promise<Map<string, number>> {
  const client = new BenchSqs(port, s.producers + 2, { target: 'Firehose_20150804', jsonVersion: '1.1' });
  const acked = new Map<string, number>();
  let running = true;
  let n = 0;
  const produce = async (p: number): Promise<void> => {
    while (running) {
      const ids = Array.from({ length: 500 }, () => `p${String(p)}-${String(n++)}`);
      const sent = ids.map((id) => record(id, pad));
      const r = await client.call<{ RequestResponses: Array<{ RecordId?: string }> }>('PutRecordBatch', {
        DeliveryStreamName: 'direct',
        Records: sent.map((x) => ({ Data: Buffer.from(x).toString('base64') })),
      });
      const at = Date.now();
      r.RequestResponses.forEach((x, i) => {
        if (x.RecordId !== undefined) acked.set(ids[i] as string, Number((sent[i] as string).split(' ')[1] ?? at));
      });
    }
  };
  const loops = Array.from({ length: s.producers }, (_, p) => produce(p));
  await new Promise((r) => setTimeout(r, s.seconds * 1000));
  running = false;
  await Promise.allSettled(loops);
  client.close();
  return acked;
}

async function mqttFleet(port: number, s: FirehoseScenario, pad: string): Promise<Map<string, number>> {
  const devices: MqttClient[] = [];
  for (let i = 0; i < s.publishers; i++) devices.push(await connectMqtt(port, `bench-device-${String(i)}`, { clean: true }));
  const acked = new Map<string, number>();
  let running = true;
  const publish = async (c: MqttClient, i: number): Promise<void> => {
    let n = 0;
    const one = async (): Promise<void> => {
      while (running) {
        const id = `d${String(i)}-${String(n++)}`;
        const body = record(id, pad);
        await c.publishAsync(`bench/d${String(i)}/telemetry`, body, { qos: 1 });
        acked.set(id, Number(body.split(' ')[1]));
      }
    };
    await Promise.all(Array.from({ length: s.inFlight }, one));
  };
  const loops = devices.map((c, i) => publish(c, i));
  await new Promise((r) => setTimeout(r, s.seconds * 1000));
  running = false;
  await Promise.allSettled(loops);
  await Promise.all(devices.map((c) => c.endAsync()));
  return acked;
}

export async function runFirehoseScenario(s: FirehoseScenario): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'junction-bench-firehose-'));
  const objects = join(dir, 'objects');
  let s3: { close(): Promise<void> } | undefined;
  let s3Port = 0;
  if (s.destination === 's3') {
    process.env[S3_SECRET_ENV] = 'S3RVER'; // s3rver's own key; the broker process inherits it
    const { default: S3rver } = await import('s3rver');
    const server = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory: join(dir, 's3'),
      configureBuckets: [{ name: 'lake', configs: [] }],
    });
    s3Port = ((await server.run()) as { port: number }).port;
    s3 = server;
  }
  const destination = `{ bucket: lake, bufferingIntervalSeconds: ${String(s.intervalSeconds)}, compression: GZIP, delimiter: "\\n" }`;
  const junction = await startJunctionProcess('embedded', 'aws', {
    more: ['mqtt'],
    extra: [
      'firehose:',
      `  directory: ${objects}`,
      ...(s.destination === 's3'
        ? [`  s3: { endpoint: "http://127.0.0.1:${String(s3Port)}", accessKeyId: S3RVER, secretAccessKeyEnv: ${S3_SECRET_ENV} }`]
        : []),
      '  deliveryStreams:',
      `    - { name: direct, destination: ${destination} }`,
      `    - { name: fleet, source: { kind: topic, topic: "bench.*.telemetry" }, destination: ${destination} }`,
    ],
  });
  let peakKb = 0;
  const sampler = setInterval(() => (peakKb = Math.max(peakKb, rssKb(junction.pid))), 250);
  const rssStartKb = rssKb(junction.pid);
  try {
    const pad = 'x'.repeat(Math.max(0, s.size - 40));
    const read = async (): Promise<Array<{ body: Buffer; at: number }>> => {
      if (s.destination === 'directory') return readDirectory(join(objects, 'lake'));
      return readDirectory(join(dir, 's3', 'lake'));
    };
    const direct = await putRecordBatches(junction.ports.aws, s, pad);
    const directResult = await settle(direct, s.seconds, read, 60_000 + s.intervalSeconds * 1000);
    const fleet = await mqttFleet(junction.ports.mqtt, s, pad);
    const all = new Map([...direct, ...fleet]);
    const both = await settle(all, s.seconds, read, 60_000 + s.intervalSeconds * 1000);
    const fleetResult = { ...both, recordsPerSec: Math.round(fleet.size / s.seconds), acknowledged: fleet.size };
    return {
      scenario: 'firehose',
      destination: s.destination,
      recordBytes: s.size,
      seconds: s.seconds,
      bufferingIntervalSeconds: s.intervalSeconds,
      putRecordBatch: { producers: s.producers, ...directResult },
      mqttTopicRule: {
        publishers: s.publishers,
        inFlightEach: s.inFlight,
        ...fleetResult,
        note: 'missing/duplicates/freshness over both sources',
      },
      rssStartMiB: Math.round(rssStartKb / 1024),
      rssPeakMiB: Math.round(peakKb / 1024),
      node: process.version,
    };
  } finally {
    clearInterval(sampler);
    await junction.stop();
    await s3?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
