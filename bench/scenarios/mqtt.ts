// MQTT scenario, three shapes in one run, each against a Junction process started here and, when
// ../shared/anchors/ has started them, Mosquitto (41883) and ActiveMQ (21883):
//   fan-in   QoS 0, 4 publishers -> 1 subscriber on a wildcard filter
//   qos1     QoS 1, 1 publisher (PUBACK window) -> 1 QoS 1 subscriber
//   fan-out  QoS 1, 1 publisher -> 50 QoS 1 subscribers (deliveries per second across them)
// Clients are mqtt.js in this process. Publishers stay within a window of messages not yet
// received, so no broker is measured while drowning; each payload carries its send time.
import mqtt, { type MqttClient } from 'mqtt';
import { startJunctionProcess } from '../lib/junction-process.ts';
import { Measurement, type Measured } from '../lib/measure.ts';
import { reachable } from '../lib/reachable.ts';

export interface MqttScenario {
  seconds: number;
  size: number;
  store: 'embedded' | 'memory';
  mosquittoPort: number;
  activemqPort: number;
  junctionPort?: number;
}

type Shape = 'fan-in' | 'qos1' | 'fan-out';

async function connect(port: number, id: string, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { clientId: id, reconnectPeriod: 0, clean: true, ...opts });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return c;
}

function payload(size: number): Buffer {
  const b = Buffer.alloc(Math.max(8, size), 0x6d);
  b.writeDoubleLE(performance.now(), 0);
  return b;
}

async function drive(port: number, shape: Shape, s: MqttScenario, login: mqtt.IClientOptions): Promise<Measured> {
  const run = `${shape}-${Date.now()}`;
  const publishers = shape === 'fan-in' ? 4 : 1;
  const subscribers = shape === 'fan-out' ? 50 : 1;
  const qos = shape === 'fan-in' ? 0 : 1;
  const window = shape === 'fan-in' ? 2000 : shape === 'qos1' ? 500 : 100;
  const m = new Measurement();
  const subs: MqttClient[] = [];
  let received = 0;
  let sent = 0;
  const pumps: Array<() => void> = [];
  for (let i = 0; i < subscribers; i++) {
    const c = await connect(port, `${run}-sub-${i}`, login);
    c.on('message', (_t, p: Buffer) => {
      received++;
      m.record(p.readDoubleLE(0));
      for (const pump of pumps) pump();
    });
    await c.subscribeAsync(`bench/${run}/#`, { qos });
    subs.push(c);
  }
  const pubs: MqttClient[] = [];
  let running = true;
  for (let i = 0; i < publishers; i++) {
    const c = await connect(port, `${run}-pub-${i}`, login);
    pubs.push(c);
    let acks = 0;
    let inFlight = 0;
    const topic = `bench/${run}/p${i}`;
    const pump = (): void => {
      // Messages not yet received by every subscriber, shared across publishers.
      while (running && sent * subscribers - received < window * subscribers && inFlight < window) {
        sent++;
        inFlight++;
        c.publish(topic, payload(s.size), { qos }, () => {
          inFlight--;
          acks++;
          if (acks % 64 === 0 || inFlight === 0) pump();
        });
        if (qos === 0 && sent % 256 === 0) {
          setImmediate(pump);
          return;
        }
      }
    };
    pumps.push(pump);
  }
  for (const pump of pumps) pump();
  const result = await m.run(s.seconds);
  running = false;
  await Promise.all([...pubs, ...subs].map((c) => new Promise<void>((r) => c.end(true, {}, () => r()))));
  return result;
}

async function allShapes(port: number, s: MqttScenario, login: mqtt.IClientOptions): Promise<Record<Shape, Measured>> {
  return {
    'fan-in': await drive(port, 'fan-in', s, login),
    qos1: await drive(port, 'qos1', s, login),
    'fan-out': await drive(port, 'fan-out', s, login),
  };
}

export async function runMqttScenario(s: MqttScenario): Promise<Record<string, unknown>> {
  const junction = s.junctionPort ? { port: s.junctionPort, stop: async () => {} } : await startJunctionProcess(s.store, 'mqtt');
  let j: Record<Shape, Measured>;
  try {
    j = await allShapes(junction.port, s, {});
  } finally {
    await junction.stop();
  }
  const mosquitto = (await reachable(s.mosquittoPort))
    ? await allShapes(s.mosquittoPort, s, {})
    : 'not running (../shared/anchors/start-mosquitto.sh)';
  const activemq = (await reachable(s.activemqPort))
    ? await allShapes(s.activemqPort, s, { username: 'admin', password: 'admin' })
    : 'not running (../shared/anchors/start-activemq.sh)';
  return {
    scenario: 'mqtt',
    payloadBytes: s.size,
    seconds: s.seconds,
    junction: { store: s.junctionPort ? `running on ${s.junctionPort}` : s.store, ...j },
    mosquitto,
    activemq,
    node: process.version,
  };
}
