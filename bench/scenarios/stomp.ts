// STOMP scenario: persistent messages through one queue, 1 producer (keeping `window` SENDs with
// receipts outstanding) and 1 client-individual consumer acking each MESSAGE, 1 KB bodies. Runs
// against a Junction process started here (on the embedded Redis store by default) and, when
// ../shared/anchors/start-activemq.sh has started it, against ActiveMQ on port 26613.
import { startJunctionProcess } from '../lib/junction-process.ts';
import { Measurement, type Measured } from '../lib/measure.ts';
import { reachable } from '../lib/reachable.ts';
import { BenchStomp } from '../lib/stomp-client.ts';

export interface StompScenario {
  seconds: number;
  size: number;
  window: number;
  store: 'embedded' | 'memory';
  activemqPort: number;
  /** Drive a Junction already listening here instead of starting one. */
  junctionPort?: number;
}

/** The STOMP persistent queue run against a broker on `port` (other scenarios use it as their reference). */
export async function driveStomp(
  port: number,
  s: Pick<StompScenario, 'seconds' | 'size' | 'window'>,
  login: Record<string, string>,
): Promise<Measured> {
  const dest = `/queue/bench.stomp.${Date.now()}`;
  const producer = await BenchStomp.connect(port, login);
  const consumer = await BenchStomp.connect(port, login);
  const m = new Measurement();
  const body = Buffer.alloc(s.size, 0x73);
  let running = true;
  consumer.onFrame = (f) => {
    if (f.command !== 'MESSAGE') return;
    m.record(Number(f.headers.get('t')));
    consumer.send('ACK', [['id', f.headers.get('ack') ?? '']]);
  };
  consumer.send('SUBSCRIBE', [
    ['id', '1'],
    ['destination', dest],
    ['ack', 'client-individual'],
    ['activemq.prefetchSize', '1000'],
  ]);
  let outstanding = 0;
  let n = 0;
  const pump = (): void => {
    while (running && outstanding < s.window) {
      outstanding++;
      producer.send(
        'SEND',
        [
          ['destination', dest],
          ['persistent', 'true'],
          ['receipt', String(++n)],
          ['t', String(performance.now())],
        ],
        body,
      );
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
  const result = await m.run(s.seconds);
  running = false;
  producer.close();
  consumer.close();
  return result;
}

export async function runStompScenario(s: StompScenario): Promise<Record<string, unknown>> {
  const junction = s.junctionPort ? { port: s.junctionPort, stop: async () => {} } : await startJunctionProcess(s.store, 'stomp');
  let j: Measured;
  try {
    j = await driveStomp(junction.port, s, {});
  } finally {
    await junction.stop();
  }
  const activemq = (await reachable(s.activemqPort))
    ? await driveStomp(s.activemqPort, s, { login: 'admin', passcode: 'admin' })
    : 'not running (../shared/anchors/start-activemq.sh)';
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
