// AMQP scenario: durable messages through one queue, 1 unsettled sender (as many in flight as its
// credit allows) and 1 receiver with credit 1000 accepting each, 1 KB bodies. Runs against a
// Junction process started here (embedded Redis store by default) and, when
// ../shared/anchors/start-rabbitmq.sh has started it, against RabbitMQ's AMQP 1.0 on 35672.
import * as hdr from 'hdr-histogram-js';
import rhea, { type Connection, type EventContext } from 'rhea';
import { reachable } from '../lib/stomp-client.ts';
import { startJunctionProcess } from '../lib/junction-process.ts';

export interface AmqpScenario {
  seconds: number;
  size: number;
  store: 'embedded' | 'memory';
  rabbitmqPort: number;
}

interface Result {
  msgsPerSec: number;
  latencyUs: { p50: number; p99: number };
}

function connect(port: number, auth: Record<string, string>): Promise<Connection> {
  const c = rhea.create_container({ id: `bench-${Math.random().toString(36).slice(2)}` });
  c.on('error', () => {}); // transfers cut short when the run ends
  const conn = c.connect({ host: '127.0.0.1', port, reconnect: false, ...auth });
  return new Promise((resolve, reject) => {
    conn.once('connection_open', () => resolve(conn));
    conn.once('connection_error', () => reject(new Error('connection refused')));
    conn.once('disconnected', (e: EventContext) => reject(new Error(`disconnected: ${String(e.error ?? '')}`)));
  });
}

async function drive(port: number, address: string, s: AmqpScenario, auth: Record<string, string>): Promise<Result> {
  const producer = await connect(port, auth);
  const consumer = await connect(port, auth);
  const latency = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const body = rhea.message.data_section(Buffer.alloc(s.size, 0x61));
  let measuring = false;
  let received = 0;
  let running = true;
  const rcv = consumer.open_receiver({ source: address, credit_window: 1000, autoaccept: true });
  rcv.on('message', (e: EventContext) => {
    if (!measuring) return;
    received++;
    const t = Number(e.message?.application_properties?.t);
    latency.recordValue(Math.max(1, Math.round((performance.now() - t) * 1000)));
  });
  const snd = producer.open_sender({ target: address });
  const pump = (): void => {
    while (running && snd.sendable()) snd.send({ body, durable: true, application_properties: { t: performance.now() } });
  };
  snd.on('sendable', pump);
  snd.on('accepted', pump);
  await new Promise((r) => setTimeout(r, 2000));
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

export async function runAmqpScenario(s: AmqpScenario): Promise<Record<string, unknown>> {
  const junction = await startJunctionProcess(s.store, 'amqp');
  let j: Result;
  try {
    j = await drive(junction.port, `queue://bench.amqp.${Date.now()}`, s, {});
  } finally {
    await junction.stop();
  }
  const rabbitmq = (await reachable(s.rabbitmqPort))
    ? await drive(s.rabbitmqPort, `/queue/bench.amqp.${Date.now()}`, s, { username: 'guest', password: 'guest' })
    : 'not running (../shared/anchors/start-rabbitmq.sh)';
  return { scenario: 'amqp', durable: true, bodyBytes: s.size, seconds: s.seconds, junction: { store: s.store, ...j }, rabbitmq, node: process.version };
}
