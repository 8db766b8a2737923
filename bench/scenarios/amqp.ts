// AMQP scenario: durable messages through one queue, 1 unsettled sender (as many in flight as its
// credit allows) and 1 receiver with credit 1000 accepting each, 1 KB bodies. Runs against a
// Junction process started here (embedded Redis store by default) and, when
// ../shared/anchors/start-rabbitmq.sh has started it, against RabbitMQ's AMQP 1.0 on 35672.
import rhea, { type Connection, type EventContext } from 'rhea';
import { reachable } from '../lib/reachable.ts';
import { startJunctionProcess } from '../lib/junction-process.ts';
import { Measurement, type Measured } from '../lib/measure.ts';

export interface AmqpScenario {
  seconds: number;
  size: number;
  store: 'embedded' | 'memory';
  rabbitmqPort: number;
  /** Drive a Junction already listening here instead of starting one. */
  junctionPort?: number;
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

async function drive(port: number, address: string, s: AmqpScenario, auth: Record<string, string>): Promise<Measured> {
  const producer = await connect(port, auth);
  const consumer = await connect(port, auth);
  const m = new Measurement();
  const body = rhea.message.data_section(Buffer.alloc(s.size, 0x61));
  let running = true;
  const rcv = consumer.open_receiver({ source: address, credit_window: 1000, autoaccept: true });
  rcv.on('message', (e: EventContext) => m.record(Number(e.message?.application_properties?.t)));
  const snd = producer.open_sender({ target: address });
  const pump = (): void => {
    while (running && snd.sendable()) snd.send({ body, durable: true, application_properties: { t: performance.now() } });
  };
  snd.on('sendable', pump);
  snd.on('accepted', pump);
  const result = await m.run(s.seconds);
  running = false;
  producer.close();
  consumer.close();
  return result;
}

export async function runAmqpScenario(s: AmqpScenario): Promise<Record<string, unknown>> {
  const junction = s.junctionPort ? { port: s.junctionPort, stop: async () => {} } : await startJunctionProcess(s.store, 'amqp');
  let j: Measured;
  try {
    j = await drive(junction.port, `queue://bench.amqp.${Date.now()}`, s, {});
  } finally {
    await junction.stop();
  }
  const rabbitmq = (await reachable(s.rabbitmqPort))
    ? await drive(s.rabbitmqPort, `/queue/bench.amqp.${Date.now()}`, s, { username: 'guest', password: 'guest' })
    : 'not running (../shared/anchors/start-rabbitmq.sh)';
  return {
    scenario: 'amqp',
    durable: true,
    bodyBytes: s.size,
    seconds: s.seconds,
    junction: { store: s.store, ...j },
    rabbitmq,
    node: process.version,
  };
}
