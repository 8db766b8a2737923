// Streams scenario: a 4-shard stream fed by PutRecords producers (500 records of `size` bytes a
// call, over keep-alive HTTP) and read live by one GetRecords loop per shard, through one Junction
// process (as `npm start` runs it) with its embedded Redis; then a replay of `replay` records from
// TRIM_HORIZON with the broker's RSS sampled. The same two shapes through RabbitMQ 3.10's stream
// queues (AMQP 0-9-1, `x-queue-type: stream`, publisher confirms per 500, consumers with prefetch
// and `x-stream-offset`) when its anchor runs. Reported: records/s appended and read live, end-to-end
// latency (put -> read) p50/p99, records acknowledged but never read (must be 0), replay records/s,
// and peak RSS before and during the replay.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'amqplib';
import { startJunctionProcess } from '../lib/junction-process.ts';
import { reachable } from '../lib/reachable.ts';
import { BenchSqs } from '../lib/sqs-client.ts';

export interface StreamScenario {
  seconds: number;
  size: number;
  producers: number;
  shards: number;
  /** Records in the stream before the replay reads it from the start. */
  replay: number;
}

interface Side {
  appendedPerSec: number;
  readPerSec: number;
  acknowledged: number;
  missing: number;
  latencyMs: { p50: number; p99: number };
  replay: { records: number; recordsPerSec: number; rssBeforeMb: number; rssPeakMb: number };
}

const RABBIT_PORT = 35672;
const BATCH = 500;

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Math.round(Number(m?.[1] ?? 0) / 1024);
  } catch {
    return 0;
  }
}

/** Samples a process's RSS every 100 ms until stopped; resolves with the peak. */
function sampleRss(pid: number): { stop: () => number } {
  let peak = rssMb(pid);
  const t = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 100);
  return {
    stop: () => {
      clearInterval(t);
      return Math.max(peak, rssMb(pid));
    },
  };
}

function percentile(sorted: number[], q: number): number {
  return sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
}

/** A record: its put time (8 bytes, ms as a double), then padding to `size`. */
function payload(size: number, pad: Buffer): Buffer {
  const b = Buffer.allocUnsafe(Math.max(8, size));
  b.writeDoubleBE(Date.now(), 0);
  pad.copy(b, 8, 0, Math.max(0, size - 8));
  return b;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function junctionSide(s: StreamScenario): Promise<Side> {
  const broker = await startJunctionProcess('embedded', 'aws');
  const client = new BenchSqs(broker.port, s.producers + s.shards + 4, { target: 'Kinesis_20131202', jsonVersion: '1.1' });
  const pad = randomBytes(s.size);
  try {
    await client.call('CreateStream', { StreamName: 'bench', ShardCount: s.shards, StreamModeDetails: { StreamMode: 'ON_DEMAND' } });
    const shards = (await client.call<{ Shards: Array<{ ShardId: string }> }>('ListShards', { StreamName: 'bench' })).Shards.map(
      (x) => x.ShardId,
    );
    let acked = 0;
    let read = 0;
    const latencies: number[] = [];
    let producing = true;
    let reading = true;
    const consume = async (shard: string): Promise<void> => {
      let it = (
        await client.call<{ ShardIterator: string }>('GetShardIterator', {
          StreamName: 'bench',
          ShardId: shard,
          ShardIteratorType: 'LATEST',
        })
      ).ShardIterator;
      while (reading) {
        const r = await client.call<{ Records: Array<{ Data: string }>; NextShardIterator: string }>('GetRecords', {
          ShardIterator: it,
          Limit: 10_000,
        });
        const now = Date.now();
        for (const rec of r.Records) latencies.push(now - Buffer.from(rec.Data.slice(0, 12), 'base64').readDoubleBE(0));
        read += r.Records.length;
        it = r.NextShardIterator;
        if (r.Records.length === 0) await sleep(20);
      }
    };
    const produce = async (): Promise<void> => {
      while (producing) {
        const Records = Array.from({ length: BATCH }, () => ({
          PartitionKey: randomBytes(6).toString('hex'),
          Data: payload(s.size, pad).toString('base64'),
        }));
        const r = await client.call<{ FailedRecordCount: number }>('PutRecords', { StreamName: 'bench', Records });
        acked += BATCH - r.FailedRecordCount;
      }
    };
    const consumers = shards.map((x) => consume(x));
    await sleep(200);
    const started = Date.now();
    const producers = Array.from({ length: s.producers }, () => produce());
    await sleep(s.seconds * 1000);
    producing = false;
    await Promise.all(producers);
    const elapsed = (Date.now() - started) / 1000;
    const readAtEnd = read;
    const deadline = Date.now() + 10_000;
    while (read < acked && Date.now() < deadline) await sleep(50);
    reading = false;
    await Promise.all(consumers);
    latencies.sort((a, b) => a - b);

    // Replay: the stream filled to `replay` records, then read from the start, all shards at once.
    let total = acked;
    producing = true;
    const filler = async (): Promise<void> => {
      while (total < s.replay) {
        const Records = Array.from({ length: BATCH }, () => ({
          PartitionKey: randomBytes(6).toString('hex'),
          Data: payload(s.size, pad).toString('base64'),
        }));
        const r = await client.call<{ FailedRecordCount: number }>('PutRecords', { StreamName: 'bench', Records });
        total += BATCH - r.FailedRecordCount;
      }
    };
    await Promise.all(Array.from({ length: s.producers }, () => filler()));
    const rssBefore = rssMb(broker.pid);
    const sampler = sampleRss(broker.pid);
    const t0 = Date.now();
    let replayed = 0;
    await Promise.all(
      shards.map(async (shard) => {
        let it = (
          await client.call<{ ShardIterator: string }>('GetShardIterator', {
            StreamName: 'bench',
            ShardId: shard,
            ShardIteratorType: 'TRIM_HORIZON',
          })
        ).ShardIterator;
        for (;;) {
          const r = await client.call<{ Records: unknown[]; NextShardIterator: string; MillisBehindLatest: number }>('GetRecords', {
            ShardIterator: it,
            Limit: 10_000,
          });
          replayed += r.Records.length;
          it = r.NextShardIterator;
          if (r.Records.length === 0) break;
        }
      }),
    );
    const replaySeconds = (Date.now() - t0) / 1000;
    return {
      appendedPerSec: Math.round(acked / elapsed),
      readPerSec: Math.round(readAtEnd / elapsed),
      acknowledged: acked,
      missing: Math.max(0, acked - read),
      latencyMs: { p50: Math.round(percentile(latencies, 0.5)), p99: Math.round(percentile(latencies, 0.99)) },
      replay: { records: replayed, recordsPerSec: Math.round(replayed / replaySeconds), rssBeforeMb: rssBefore, rssPeakMb: sampler.stop() },
    };
  } finally {
    client.close();
    await broker.stop();
  }
}

function rabbitPid(): number {
  try {
    return Number(execFileSync('pgrep', ['-f', '-o', 'beam.smp.*rabbit'], { encoding: 'utf8' }).trim().split('\n')[0]);
  } catch {
    return 0;
  }
}

async function rabbitSide(s: StreamScenario): Promise<Side> {
  const conn = await connect(`amqp://guest:guest@127.0.0.1:${RABBIT_PORT}`);
  const queue = `junction-bench-stream-${Date.now()}`;
  const pad = randomBytes(s.size);
  const pid = rabbitPid();
  try {
    const admin = await conn.createChannel();
    await admin.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'stream' } });
    let acked = 0;
    let read = 0;
    const latencies: number[] = [];
    let producing = true;
    const live = await conn.createChannel();
    await live.prefetch(1000);
    await live.consume(
      queue,
      (m) => {
        if (!m) return;
        latencies.push(Date.now() - m.content.readDoubleBE(0));
        read++;
        live.ack(m);
      },
      { noAck: false, arguments: { 'x-stream-offset': 'next' } },
    );
    const produce = async (): Promise<void> => {
      const ch = await conn.createConfirmChannel();
      while (producing) {
        for (let i = 0; i < BATCH; i++) ch.sendToQueue(queue, payload(s.size, pad), { persistent: true });
        await ch.waitForConfirms();
        acked += BATCH;
      }
      await ch.close();
    };
    await sleep(200);
    const started = Date.now();
    const producers = Array.from({ length: s.producers }, () => produce());
    await sleep(s.seconds * 1000);
    producing = false;
    await Promise.all(producers);
    const elapsed = (Date.now() - started) / 1000;
    const readAtEnd = read;
    const deadline = Date.now() + 10_000;
    while (read < acked && Date.now() < deadline) await sleep(50);
    await live.close();
    latencies.sort((a, b) => a - b);

    let total = acked;
    const filler = async (): Promise<void> => {
      const ch = await conn.createConfirmChannel();
      while (total < s.replay) {
        for (let i = 0; i < BATCH; i++) ch.sendToQueue(queue, payload(s.size, pad), { persistent: true });
        await ch.waitForConfirms();
        total += BATCH;
      }
      await ch.close();
    };
    await Promise.all(Array.from({ length: s.producers }, () => filler()));
    const rssBefore = pid ? rssMb(pid) : 0;
    const sampler = pid ? sampleRss(pid) : { stop: () => 0 };
    const replay = await conn.createChannel();
    await replay.prefetch(10_000);
    const t0 = Date.now();
    let replayed = 0;
    await new Promise<void>((resolve) => {
      void replay.consume(
        queue,
        (m) => {
          if (!m) return;
          replayed++;
          if (replayed % 1000 === 0) replay.ack(m, true);
          if (replayed >= total) resolve();
        },
        { noAck: false, arguments: { 'x-stream-offset': 'first' } },
      );
    });
    const replaySeconds = (Date.now() - t0) / 1000;
    await replay.close();
    await admin.deleteQueue(queue);
    return {
      appendedPerSec: Math.round(acked / elapsed),
      readPerSec: Math.round(readAtEnd / elapsed),
      acknowledged: acked,
      missing: Math.max(0, acked - read),
      latencyMs: { p50: Math.round(percentile(latencies, 0.5)), p99: Math.round(percentile(latencies, 0.99)) },
      replay: { records: replayed, recordsPerSec: Math.round(replayed / replaySeconds), rssBeforeMb: rssBefore, rssPeakMb: sampler.stop() },
    };
  } finally {
    await conn.close();
  }
}

export async function runStreamScenario(s: StreamScenario): Promise<Record<string, unknown>> {
  const junction = await junctionSide(s);
  const rabbitmq = (await reachable(RABBIT_PORT)) ? await rabbitSide(s) : undefined;
  return {
    scenario: 'stream',
    ...s,
    junction,
    ...(rabbitmq ? { rabbitmq } : { rabbitmq: 'anchor not running (../shared/anchors/start-rabbitmq.sh)' }),
  };
}
