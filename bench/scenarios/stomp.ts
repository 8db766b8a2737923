// STOMP scenario: persistent messages through one queue, 1 producer (keeping `window` SENDs with
// receipts outstanding) and 1 client-individual consumer acking each MESSAGE, 1 KB bodies. Runs
// against a Junction process started here (on the embedded Redis store by default) and, when
// ../shared/anchors/start-activemq.sh has started it, against ActiveMQ on port 26613.
import * as hdr from 'hdr-histogram-js';
import { startJunctionProcess } from '../lib/junction-process.ts';
import { BenchStomp, reachable } from '../lib/stomp-client.ts';

export interface StompScenario {
  seconds: number;
  size: number;
  window: number;
  store: 'embedded' | 'memory';
  activemqPort: number;
  /** Drive a Junction already listening here instead of starting one. */
  junctionPort?: number;
}

interface Result {
  msgsPerSec: number;
  latencyUs: { p50: number; p99: number };
}

async function drive(port: number, s: StompScenario, login: Record<string, string>): Promise<Result> {
  const dest = `/queue/bench.stomp.${Date.now()}`;
  const producer = await BenchStomp.connect(port, login);
  const consumer = await BenchStomp.connect(port, login);
  const latency = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const body = Buffer.alloc(s.size, 0x73);
  let measuring = false;
  let received = 0;
  let running = true;
  consumer.onFrame = (f) => {
    if (f.command !== 'MESSAGE') return;
    if (measuring) {
      received++;
      latency.recordValue(Math.max(1, Math.round((performance.now() - Number(f.headers.get('t'))) * 1000)));
    }
    consumer.send('ACK', [['id', f.headers.get('ack') ?? '']]);
  };
  consumer.send('SUBSCRIBE', [['id', '1'], ['destination', dest], ['ack', 'client-individual'], ['activemq.prefetchSize', '1000']]);
  let outstanding = 0;
  let n = 0;
  const pump = (): void => {
    while (running && outstanding < s.window) {
      outstanding++;
      producer.send('SEND', [['destination', dest], ['persistent', 'true'], ['receipt', String(++n)], ['t', String(performance.now())]], body);
    }
  };
  producer.onFrame = (f) => {
    if (f.command === 'RECEIPT') {
      outstanding--;
      pump();
    } else if (f.command === 'ERROR') {
      throw new Error(`broker refused a send: ${f.headers.get('message')}`);
    }
  };
  pump();
  await new Promise((r) => setTimeout(r, 2000)); // warm-up
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, s.seconds * 1000));
  measuring = false;
  const elapsed = (performance.now() - t0) / 1000;
  running = false;
  producer.close();
  consumer.close();
  return { msgsPerSec: Math.round(received / elapsed), latencyUs: { p50: latency.getValueAtPercentile(50), p99: latency.getValueAtPercentile(99) } };
}

export async function runStompScenario(s: StompScenario): Promise<Record<string, unknown>> {
  const junction = s.junctionPort ? { port: s.junctionPort, stop: async () => {} } : await startJunctionProcess(s.store, 'stomp');
  let j: Result;
  try {
    j = await drive(junction.port, s, {});
  } finally {
    await junction.stop();
  }
  const activemq = (await reachable(s.activemqPort)) ? await drive(s.activemqPort, s, { login: 'admin', passcode: 'admin' }) : 'not running (../shared/anchors/start-activemq.sh)';
  return {
    scenario: 'stomp',
    persistent: true,
    bodyBytes: s.size,
    window: s.window,
    seconds: s.seconds,
    junction: { store: s.junctionPort ? `running on ${s.junctionPort}` : s.store, ...j },
    activemq,
    node: process.version,
  };
}
