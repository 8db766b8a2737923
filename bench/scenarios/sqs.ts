// SQS scenario: producers SendMessageBatch (10 × `size` bytes) and consumers ReceiveMessage (10,
// long poll) then DeleteMessageBatch, over keep-alive HTTP, on a standard and then a FIFO queue
// (10 message groups), end to end through one Junction process; the STOMP persistent queue
// scenario runs against the same process as the reference. Then the long poll's wake-up latency
// (one message every 50 ms to a consumer waiting on an empty queue), and the broker's memory per
// idle long poll (`--idle-polls` requests waiting at once).
import { readFileSync } from 'node:fs';
import { startJunctionProcess } from '../lib/junction-process.ts';
import { Measurement, type Measured } from '../lib/measure.ts';
import { BenchSqs } from '../lib/sqs-client.ts';
import { driveStomp } from './stomp.ts';

export interface SqsScenario {
  seconds: number;
  size: number;
  producers: number;
  consumers: number;
  idlePolls: number;
  store: 'embedded' | 'memory';
}

interface Batch {
  Messages?: Array<{ Body: string; ReceiptHandle: string }>;
}

async function throughput(port: number, s: SqsScenario, fifo: boolean): Promise<Measured> {
  const client = new BenchSqs(port, s.producers + s.consumers + 4);
  const name = `bench-${Date.now()}${fifo ? '.fifo' : ''}`;
  const { QueueUrl: url } = await client.call<{ QueueUrl: string }>('CreateQueue', {
    QueueName: name,
    Attributes: fifo ? { FifoQueue: 'true', ContentBasedDeduplication: 'false' } : {},
  });
  const m = new Measurement();
  const pad = 'x'.repeat(Math.max(0, s.size - 24));
  let running = true;
  let seq = 0;
  const produce = async (): Promise<void> => {
    while (running) {
      const now = performance.now().toFixed(3);
      const Entries = Array.from({ length: 10 }, (_, i) => ({
        Id: `e${i}`,
        MessageBody: `${now}|${pad}`,
        ...(fifo ? { MessageGroupId: `g${i}`, MessageDeduplicationId: String(++seq) } : {}),
      }));
      await client.call('SendMessageBatch', { QueueUrl: url, Entries });
    }
  };
  const consume = async (): Promise<void> => {
    while (running) {
      const r = await client.call<Batch>('ReceiveMessage', { QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 });
      const got = r.Messages ?? [];
      if (got.length === 0) continue;
      for (const x of got) m.record(Number(x.Body.slice(0, x.Body.indexOf('|'))));
      await client.call('DeleteMessageBatch', {
        QueueUrl: url,
        Entries: got.map((x, i) => ({ Id: `d${i}`, ReceiptHandle: x.ReceiptHandle })),
      });
    }
  };
  const loops = [...Array.from({ length: s.producers }, produce), ...Array.from({ length: s.consumers }, consume)];
  const result = await m.run(s.seconds);
  running = false;
  await Promise.allSettled(loops);
  client.close();
  return result;
}

async function wakeUp(port: number): Promise<{ p50Ms: number; p99Ms: number; samples: number }> {
  const client = new BenchSqs(port, 4);
  const { QueueUrl: url } = await client.call<{ QueueUrl: string }>('CreateQueue', { QueueName: `wake-${Date.now()}` });
  const waits: number[] = [];
  for (let i = 0; i < 100; i++) {
    const poll = client.call<Batch>('ReceiveMessage', { QueueUrl: url, WaitTimeSeconds: 20 });
    await new Promise((r) => setTimeout(r, 50));
    const sentAt = performance.now();
    await client.call('SendMessage', { QueueUrl: url, MessageBody: 'ping' });
    const r = await poll;
    waits.push(performance.now() - sentAt);
    const handle = r.Messages?.[0]?.ReceiptHandle;
    if (handle) await client.call('DeleteMessage', { QueueUrl: url, ReceiptHandle: handle });
  }
  client.close();
  waits.sort((a, b) => a - b);
  const at = (q: number): number => Number((waits[Math.min(waits.length - 1, Math.floor(q * waits.length))] ?? 0).toFixed(2));
  return { p50Ms: at(0.5), p99Ms: at(0.99), samples: waits.length };
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

async function idlePolls(
  port: number,
  pid: number,
  n: number,
): Promise<{ polls: number; kibPerPoll: number; rssBeforeKb: number; rssWaitingKb: number }> {
  const client = new BenchSqs(port, n);
  const { QueueUrl: url } = await client.call<{ QueueUrl: string }>('CreateQueue', { QueueName: `idle-${Date.now()}` });
  await new Promise((r) => setTimeout(r, 1000));
  const before = rssKb(pid);
  const polls = Array.from({ length: n }, () =>
    client.call('ReceiveMessage', { QueueUrl: url, WaitTimeSeconds: 20 }).catch(() => undefined),
  );
  await new Promise((r) => setTimeout(r, 8000));
  const waiting = rssKb(pid);
  for (let i = 0; i < 10; i++) await client.call('SendMessage', { QueueUrl: url, MessageBody: 'release' }).catch(() => undefined);
  client.close();
  await Promise.race([Promise.allSettled(polls), new Promise((r) => setTimeout(r, 25_000))]);
  return { polls: n, kibPerPoll: Number(((waiting - before) / n).toFixed(2)), rssBeforeKb: before, rssWaitingKb: waiting };
}

export async function runSqsScenario(s: SqsScenario): Promise<Record<string, unknown>> {
  const junction = await startJunctionProcess(s.store, 'aws', { more: ['stomp'] });
  try {
    const stomp = await driveStomp(junction.ports.stomp, { seconds: s.seconds, size: s.size, window: 100 }, {});
    const standard = await throughput(junction.port, s, false);
    const fifo = await throughput(junction.port, s, true);
    const wake = await wakeUp(junction.port);
    const idle = s.idlePolls > 0 ? await idlePolls(junction.port, junction.pid, s.idlePolls) : 'skipped';
    return {
      scenario: 'sqs',
      bodyBytes: s.size,
      seconds: s.seconds,
      producers: s.producers,
      consumers: s.consumers,
      store: s.store,
      stompReference: stomp,
      standard,
      fifo,
      standardVsStomp: Number((standard.msgsPerSec / Math.max(1, stomp.msgsPerSec)).toFixed(2)),
      longPollWakeUp: wake,
      idleLongPolls: idle,
      node: process.version,
    };
  } finally {
    await junction.stop();
  }
}
