// The memory high watermark on a real broker process: a STOMP producer floods a queue with
// non-persistent messages (no per-queue bound) while its one subscriber holds its single prefetched
// message unacknowledged. Without the watermark the broker's resident set grows with the backlog;
// with it, the broker raises its alarm, stops taking publishes (the producer's socket backs up), and
// its resident set stays near the watermark. Once the subscriber catches up the alarm clears, the
// producer finishes, and every message the broker receipted is delivered.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { RawStomp } from '../helpers/stomp.ts';

const root = join(import.meta.dirname, '../..');
const bin = join(root, 'bin/junction.js');
const WATERMARK_MIB = 320;

let child: ChildProcess | undefined;
const clients: RawStomp[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  child?.kill('SIGKILL');
  child = undefined;
});

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Starts the broker; resolves with its STOMP port. `lines` receives every log line it prints. */
async function startBroker(lines: Array<Record<string, unknown>>, onLine: () => void): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'junction-mem-'));
  const config = join(dir, 'junction.yaml');
  writeFileSync(
    config,
    [
      'store: { type: memory }',
      'admin: { enabled: false }',
      'listeners: { host: 127.0.0.1, mqtt: { enabled: false }, amqp: { enabled: false }, stomp: { port: 0 }, websocket: { enabled: false } }',
      `limits: { memoryHighWatermark: ${WATERMARK_MIB}MiB }`,
      'destinations: { policies: [ { match: "queue://flood", transientMaxMessages: 0, transientMaxBytes: 0 } ] }',
      '',
    ].join('\n'),
  );
  child = spawn(process.execPath, [bin, 'start', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const p = child;
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('broker did not start')), 20_000);
    p.once('exit', (code) => reject(new Error(`broker exited with ${code}`)));
    createInterface({ input: p.stdout! }).on('line', (l) => {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(l) as Record<string, unknown>;
      } catch {
        return;
      }
      lines.push(line);
      onLine();
      if (line.msg === 'broker running') {
        clearTimeout(t);
        const stomp = (line.listeners as string[]).find((a) => a.startsWith('stomp/tcp'))!;
        resolve(Number(stomp.split(':').pop()));
      }
    });
  });
}

describe('limits.memoryHighWatermark', () => {
  it('holds a runaway producer back at the watermark and loses nothing it receipted', async () => {
    const lines: Array<Record<string, unknown>> = [];
    let notify = (): void => {};
    const port = await startBroker(lines, () => notify());
    const logged = (msg: string, timeoutMs: number): Promise<void> =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no "${msg}" within ${timeoutMs} ms`)), timeoutMs);
        const look = (): void => {
          if (lines.some((l) => l.msg === msg)) {
            clearTimeout(t);
            notify = () => {};
            resolve();
          }
        };
        notify = look;
        look();
      });
    const pid = child!.pid!;
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 50);
    try {
      const consumer = await RawStomp.connect(port);
      const producer = await RawStomp.connect(port);
      clients.push(consumer, producer);
      consumer.send('SUBSCRIBE', {
        id: 's',
        destination: '/queue/flood',
        ack: 'client-individual',
        'activemq.prefetchSize': '1',
        receipt: 'sub',
      });
      await consumer.expect('RECEIPT');

      const total = 80_000;
      const body = Buffer.alloc(8 * 1024, 'x');
      let receipts = 0;
      producer.socket.on('data', () => {
        for (const f of producer.frames.splice(0)) if (f.command === 'RECEIPT') receipts++;
      });
      let sent = 0;
      const produce = async (): Promise<void> => {
        while (sent < total) {
          producer.send('SEND', { destination: '/queue/flood', receipt: `r${sent}` }, body);
          sent++;
          if (producer.socket.writableLength > 4 * 1024 * 1024) await new Promise((r) => producer.socket.once('drain', r));
        }
      };
      const producing = produce();

      await logged('memory high watermark reached: holding every publisher back until memory falls (limits.memoryHighWatermark)', 60_000);
      expect(sent).toBeLessThan(total); // the producer is held: its socket backs up
      const watermark = WATERMARK_MIB * 2 ** 20;

      // The subscriber catches up (it acknowledges what it holds, and a second one reads with auto ack).
      const fast = await RawStomp.connect(port);
      clients.push(fast);
      const seen = new Set<string>();
      const drained = new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`only ${seen.size} of ${total} delivered`)), 120_000);
        const take = (c: RawStomp, ack: boolean) => (): void => {
          for (const f of c.frames.splice(0)) {
            if (f.command !== 'MESSAGE') continue;
            seen.add(f.headers.get('message-id')!);
            if (ack) c.send('ACK', { id: f.headers.get('ack')! });
          }
          if (seen.size >= total) {
            clearTimeout(t);
            resolve();
          }
        };
        consumer.socket.on('data', take(consumer, true));
        fast.socket.on('data', take(fast, false));
        take(consumer, true)();
      });
      fast.send('SUBSCRIBE', { id: 'f', destination: '/queue/flood', ack: 'auto', 'activemq.prefetchSize': '1000' });
      await producing;
      await drained;
      while (receipts < total) await new Promise((r) => producer.socket.once('data', r));
      await logged('memory below the high watermark again: publishers resume', 10_000);
      expect(receipts).toBe(total);
      expect(seen.size).toBe(total);
      // Sampled every 50 ms: the resident set never went far past the watermark (unguarded, the 640 MiB
      // flood takes it past twice the watermark). What passes it is what arrives between two of the
      // guard's samples plus what the allocator keeps: 15-25% on a quiet machine (main before and
      // after the Firehose work alike), 26% once under a full CI run's load.
      expect(peak).toBeLessThan(watermark * 1.4);
    } finally {
      clearInterval(sampler);
    }
  }, 180_000);
});
