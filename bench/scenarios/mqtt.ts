// MQTT scenario, the shapes of an external load generator, each against a Junction process started
// here and, when ../shared/anchors/ has started them, Mosquitto (41883) and ActiveMQ (21883):
//   fan-in    QoS 0, 4 publishers -> 1 subscriber on a wildcard filter
//   qos1      QoS 1, 1 publisher -> 1 QoS 1 subscriber, at most 100 PUBLISHes unacknowledged
//   fan-out   QoS 1, 1 publisher -> 50 QoS 1 subscribers (deliveries per second across them)
//   fan-out0  QoS 0, 1 publisher -> 50 QoS 0 subscribers
//   rate1k    QoS 1 at a steady 1,000 msg/s, 1 -> 1: latency when the broker is not loaded
//   mqtt-stomp  QoS 1, 1 MQTT publisher -> 1 STOMP subscriber (auto ack) on the topic: the bridge
//               (Junction, and ActiveMQ's STOMP on 26613; Mosquitto speaks no STOMP)
//   mqtt-amqp   QoS 1, 1 MQTT publisher -> 1 AMQP 1.0 receiver (credit 1,000) on the topic
//               (Junction only: the ActiveMQ anchor has no AMQP 1.0)
// Each publisher may run AHEAD (1,000) messages ahead of what every subscriber received, so no
// broker is measured while drowning and latency under load is what a client sees, not a queue
// the generator built; each payload carries its send time, and p50/p99 print beside the rate.
// Each shape runs with MQTT 3.1.1 clients and with MQTT 5 clients (`versions`), one after the
// other against the same broker process, so the two compare (ActiveMQ speaks no MQTT 5).
// Clients are mqtt.js in this process.
// After the measured time publishing stops, every publish is acknowledged, and every subscriber
// must then receive every message: what does not arrive within LOSS_WAIT_MS is reported as lost,
// and a loss at Junction fails the run (exit code 1).
import type mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { startJunctionProcess } from '../lib/junction-process.ts';
import { connectMqtt } from '../lib/mqtt-connect.ts';
import { Measurement, type Measured } from '../lib/measure.ts';
import { reachable } from '../lib/reachable.ts';
import rhea, { type EventContext } from 'rhea';
import { BenchStomp } from '../lib/stomp-client.ts';

export const SHAPES = ['fan-in', 'qos1', 'fan-out', 'fan-out0', 'rate1k', 'mqtt-stomp', 'mqtt-amqp'] as const;
export type Shape = (typeof SHAPES)[number];

export interface MqttScenario {
  seconds: number;
  size: number;
  store: 'embedded' | 'memory';
  mosquittoPort: number;
  activemqPort: number;
  /** ActiveMQ's STOMP port, for mqtt-stomp. */
  activemqStompPort: number;
  junctionPort?: number;
  /** With junctionPort: that broker's STOMP and AMQP ports, for the bridges. */
  junctionStompPort?: number;
  junctionAmqpPort?: number;
  /** MQTT protocol levels to drive: 4 (3.1.1) and 5. */
  versions: Array<4 | 5>;
  shapes: readonly Shape[];
  /** Drive the anchors that run too. */
  anchors: boolean;
}

interface ShapeSpec {
  publishers: number;
  subscribers: number;
  qos: 0 | 1;
  /** Publishes a QoS 1 publisher may have unacknowledged. */
  inFlight: number;
  /** Messages per second across publishers; 0 = as fast as the window allows. */
  rate: number;
  /** What subscribes: MQTT clients, or one STOMP or AMQP consumer on the same topics. */
  consumer: 'mqtt' | 'stomp' | 'amqp';
}

/** A broker's doors: its MQTT port, and where it has them, STOMP and AMQP. */
interface Target {
  mqtt: number;
  stomp?: number;
  amqp?: number;
  login: mqtt.IClientOptions;
}

const SPECS: Record<Shape, ShapeSpec> = {
  'fan-in': { publishers: 4, subscribers: 1, qos: 0, inFlight: Infinity, rate: 0, consumer: 'mqtt' },
  qos1: { publishers: 1, subscribers: 1, qos: 1, inFlight: 100, rate: 0, consumer: 'mqtt' },
  'fan-out': { publishers: 1, subscribers: 50, qos: 1, inFlight: 100, rate: 0, consumer: 'mqtt' },
  'fan-out0': { publishers: 1, subscribers: 50, qos: 0, inFlight: Infinity, rate: 0, consumer: 'mqtt' },
  rate1k: { publishers: 1, subscribers: 1, qos: 1, inFlight: 100, rate: 1000, consumer: 'mqtt' },
  'mqtt-stomp': { publishers: 1, subscribers: 1, qos: 1, inFlight: 100, rate: 0, consumer: 'stomp' },
  'mqtt-amqp': { publishers: 1, subscribers: 1, qos: 1, inFlight: 100, rate: 0, consumer: 'amqp' },
};

/** Messages a publisher may run ahead of what every subscriber received. */
const AHEAD = 1000;

const VERSION_NAME = { 4: '3.1.1', 5: '5' } as const;

/** A shape's figures, with how many messages were acknowledged to publishers and how many never arrived. */
export type ShapeResult = Measured & { acknowledged: number; lost: number };

/** How long messages acknowledged to publishers may take to reach every subscriber after publishing stops. */
const LOSS_WAIT_MS = 10_000;

function payload(size: number): Buffer {
  const b = Buffer.alloc(Math.max(8, size), 0x6d);
  b.writeDoubleLE(performance.now(), 0);
  return b;
}

/** A subscriber that is not an MQTT client: a STOMP or AMQP consumer of the shape's topics, subscribed before this resolves. */
async function bridgeConsumer(kind: 'stomp' | 'amqp', t: Target, run: string, onPayload: (p: Buffer) => void): Promise<() => void> {
  if (kind === 'stomp') {
    const c = await BenchStomp.connect(
      t.stomp as number,
      t.login.username ? { login: t.login.username, passcode: String(t.login.password) } : {},
    );
    const subscribed = new Promise<void>((resolve) => {
      c.onFrame = (f) => {
        if (f.command === 'MESSAGE') onPayload(f.body);
        else if (f.command === 'RECEIPT') resolve();
      };
    });
    c.send('SUBSCRIBE', [
      ['id', '1'],
      ['destination', `/topic/bench.${run}.>`],
      ['ack', 'auto'],
      ['receipt', 'subscribed'],
    ]);
    await subscribed;
    return () => c.close();
  }
  const container = rhea.create_container({ id: `bench-${run}` });
  container.on('error', () => {});
  const conn = container.connect({ host: '127.0.0.1', port: t.amqp as number, reconnect: false });
  const rcv = conn.open_receiver({ source: `topic://bench.${run}.>`, credit_window: 1000, autoaccept: true });
  rcv.on('message', (e: EventContext) => {
    const b = e.message?.body as Buffer | { content: Buffer } | undefined;
    if (b) onPayload(Buffer.isBuffer(b) ? b : b.content);
  });
  await new Promise<void>((resolve, reject) => {
    rcv.once('receiver_open', () => resolve());
    conn.once('disconnected', () => reject(new Error('AMQP connection closed before the receiver attached')));
  });
  return () => conn.close();
}

async function drive(t: Target, shape: Shape, s: MqttScenario): Promise<ShapeResult> {
  const run = `${shape}-${Date.now()}`;
  const port = t.mqtt;
  const login = t.login;
  const { publishers, subscribers, qos, inFlight: maxInFlight, rate, consumer } = SPECS[shape];
  const m = new Measurement();
  const subs: MqttClient[] = [];
  let received = 0;
  let sent = 0;
  let acknowledged = 0;
  /** Resolved when every subscriber has every message published so far (checked once publishing stops). */
  let caughtUp: (() => void) | undefined;
  /** Resolved when no publish waits for its acknowledgement any more. */
  let allAcked: (() => void) | undefined;
  const pumps: Array<() => void> = [];
  const onPayload = (p: Buffer): void => {
    received++;
    m.record(p.readDoubleLE(0));
    if (rate === 0) for (const pump of pumps) pump();
    if (caughtUp && received >= sent * subscribers) caughtUp();
  };
  const closeBridge = consumer === 'mqtt' ? undefined : await bridgeConsumer(consumer, t, run, onPayload);
  for (let i = 0; i < subscribers && consumer === 'mqtt'; i++) {
    const c = await connectMqtt(port, `${run}-sub-${i}`, login);
    c.on('message', (_t, p: Buffer) => onPayload(p));
    await c.subscribeAsync(`bench/${run}/#`, { qos });
    subs.push(c);
  }
  const pubs: MqttClient[] = [];
  let running = true;
  /** Publishes a rate-limited shape may still send (topped up by its ticker). */
  let allowance = rate === 0 ? Infinity : 0;
  for (let i = 0; i < publishers; i++) {
    const c = await connectMqtt(port, `${run}-pub-${i}`, login);
    pubs.push(c);
    let acks = 0;
    let inFlight = 0;
    const topic = `bench/${run}/p${i}`;
    const pump = (): void => {
      while (running && allowance > 0 && sent * subscribers - received < AHEAD * publishers * subscribers && inFlight < maxInFlight) {
        sent++;
        allowance--;
        if (qos === 1) inFlight++;
        c.publish(topic, payload(s.size), { qos }, (err) => {
          if (qos === 1) inFlight--;
          acks++;
          if (!err) acknowledged++;
          if (qos === 1 && (acks % 16 === 0 || inFlight === 0)) pump();
          if (allAcked && acknowledged >= sent) allAcked();
        });
        if (qos === 0 && sent % 256 === 0) {
          setImmediate(pump);
          return;
        }
      }
    };
    pumps.push(pump);
  }
  const ticker =
    rate === 0
      ? undefined
      : setInterval(() => {
          allowance = rate / 100;
          for (const pump of pumps) pump();
        }, 10);
  for (const pump of pumps) pump();
  const result = await m.run(s.seconds);
  running = false;
  clearInterval(ticker);
  await within(LOSS_WAIT_MS, (done) => {
    allAcked = done;
    if (acknowledged >= sent) done();
  });
  await within(LOSS_WAIT_MS, (done) => {
    caughtUp = done;
    if (received >= sent * subscribers) done();
  });
  const lost = Math.max(0, acknowledged * subscribers - received);
  await Promise.all([...pubs, ...subs].map((c) => new Promise<void>((r) => c.end(true, {}, () => r()))));
  closeBridge?.();
  return { ...result, acknowledged: acknowledged * subscribers, lost };
}

/** Waits until `start`'s callback is called, or `ms` passed. */
function within(ms: number, start: (done: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    start(() => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** The shapes `t` has the doors for (the bridges need its STOMP or AMQP port). */
async function allShapes(t: Target, s: MqttScenario): Promise<Partial<Record<Shape, ShapeResult>>> {
  const out: Partial<Record<Shape, ShapeResult>> = {};
  for (const shape of s.shapes) {
    const c = SPECS[shape].consumer;
    if (c === 'mqtt' || t[c] !== undefined) out[shape] = await drive(t, shape, s);
  }
  return out;
}

/** Every shape with each protocol version in turn (3.1.1, then 5), keyed by version. */
async function byVersion(t: Target, s: MqttScenario, versions: Array<4 | 5>): Promise<Record<string, Partial<Record<Shape, ShapeResult>>>> {
  const out: Record<string, Partial<Record<Shape, ShapeResult>>> = {};
  for (const v of versions) out[VERSION_NAME[v]] = await allShapes({ ...t, login: { ...t.login, protocolVersion: v } }, s);
  return out;
}

export async function runMqttScenario(s: MqttScenario): Promise<Record<string, unknown>> {
  const bridges = s.shapes.some((x) => SPECS[x].consumer !== 'mqtt');
  const junction = s.junctionPort
    ? { port: s.junctionPort, ports: { stomp: s.junctionStompPort, amqp: s.junctionAmqpPort }, stop: async () => {} }
    : await startJunctionProcess(s.store, 'mqtt', bridges ? { more: ['stomp', 'amqp'] } : {});
  let j: Record<string, Partial<Record<Shape, ShapeResult>>>;
  try {
    const { stomp, amqp } = junction.ports;
    j = await byVersion({ mqtt: junction.port, login: {}, ...(stomp ? { stomp } : {}), ...(amqp ? { amqp } : {}) }, s, s.versions);
  } finally {
    await junction.stop();
  }
  const mosquitto = !s.anchors
    ? 'not driven (--no-anchors)'
    : (await reachable(s.mosquittoPort))
      ? await byVersion({ mqtt: s.mosquittoPort, login: {} }, s, s.versions)
      : 'not running (../shared/anchors/start-mosquitto.sh)';
  const activemq = !s.anchors
    ? 'not driven (--no-anchors)'
    : (await reachable(s.activemqPort))
      ? await byVersion(
          {
            mqtt: s.activemqPort,
            login: { username: 'admin', password: 'admin' },
            ...((await reachable(s.activemqStompPort)) ? { stomp: s.activemqStompPort } : {}),
          },
          s,
          s.versions.filter((v) => v === 4),
        )
      : 'not running (../shared/anchors/start-activemq.sh)';
  const lost = Object.values(j)
    .flatMap((shapes) => Object.values(shapes))
    .reduce((n, r) => n + (r?.lost ?? 0), 0);
  // Junction never loses what it acknowledged: a loss fails the run.
  if (lost > 0) process.exitCode = 1;
  return {
    scenario: 'mqtt',
    payloadBytes: s.size,
    seconds: s.seconds,
    junction: { store: s.junctionPort ? `running on ${s.junctionPort}` : s.store, lost, ...j },
    mosquitto,
    activemq,
    node: process.version,
  };
}
