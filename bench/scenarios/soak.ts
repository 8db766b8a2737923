// The soak: a Junction process (embedded Redis, MQTT, STOMP and AMQP) under mixed traffic for a
// configurable time, with pressure built in:
// - MQTT: a device publishes QoS 1 telemetry at a steady rate; a subscriber reads it at QoS 1.
// - AMQP: a sender sends durable orders to a queue as its credit allows; a receiver accepts them.
// - STOMP: a runaway producer floods a topic with non-persistent 1 KB messages as fast as the broker
//   takes them; one subscriber keeps up, one reads about 100 messages a second (a slow consumer,
//   whose oldest messages the topic's drop-oldest default sheds).
// Prints the broker's resident memory every 10 s, then one JSON line: RSS at start, peak and end;
// per flow, messages acknowledged to the producer, delivered, and lost (acknowledged persistent
// messages never delivered after the drain); the STOMP drops by policy (from the broker's log).
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import rhea, { type EventContext } from 'rhea';
import { BenchStomp } from '../lib/stomp-client.ts';
import { startJunctionProcess } from '../lib/junction-process.ts';

export interface SoakScenario {
  seconds: number;
  /** limits.memoryHighWatermark for the broker. */
  watermark: string;
  /** MQTT telemetry messages per second. */
  mqttRate: number;
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

const mb = (b: number): number => +(b / 2 ** 20).toFixed(1);

export async function runSoakScenario(s: SoakScenario): Promise<Record<string, unknown>> {
  let droppedByPolicy = 0;
  let alarms = 0;
  const junction = await startJunctionProcess('embedded', 'stomp', {
    more: ['mqtt', 'amqp'],
    extra: [`limits: { memoryHighWatermark: ${s.watermark} }`],
    onLine: (line) => {
      if (line.includes('slow consumer')) {
        const m = /"droppedTotal":(\d+)/.exec(line);
        const q = /"queue":"([^"]+)"/.exec(line);
        if (m && q) perQueueDrops.set(q[1] as string, Number(m[1]));
        droppedByPolicy = [...perQueueDrops.values()].reduce((a, b) => a + b, 0);
      }
      if (line.includes('memory high watermark reached')) alarms++;
    },
  });
  const perQueueDrops = new Map<string, number>();
  const start = rssBytes(junction.pid);
  let peak = start;
  const samples: number[] = [];
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(junction.pid))), 200);
  const printer = setInterval(() => {
    const rss = rssBytes(junction.pid);
    samples.push(mb(rss));
    process.stderr.write(`soak t=${samples.length * 10}s rss=${mb(rss)}MB\n`);
  }, 10_000);
  let running = true;

  // MQTT telemetry, QoS 1.
  const mqttUrl = `mqtt://127.0.0.1:${junction.ports.mqtt}`;
  const mqttSub = mqtt.connect(mqttUrl, { clientId: 'soak-sub', clean: true, reconnectPeriod: 0 });
  await new Promise((r) => mqttSub.once('connect', r));
  const mqttGot = new Set<string>();
  mqttSub.on('message', (_t, payload) => mqttGot.add(payload.toString()));
  await mqttSub.subscribeAsync('soak/telemetry', { qos: 1 });
  const mqttPub = mqtt.connect(mqttUrl, { clientId: 'soak-pub', clean: true, reconnectPeriod: 0 });
  await new Promise((r) => mqttPub.once('connect', r));
  let mqttAcked = 0;
  let mqttSeq = 0;
  const mqttTimer = setInterval(() => {
    for (let i = 0; i < s.mqttRate / 10; i++) {
      const id = `t${mqttSeq++}`;
      mqttPub.publish('soak/telemetry', id, { qos: 1 }, (err) => {
        if (!err) mqttAcked++;
      });
    }
  }, 100);

  // AMQP durable orders.
  const container = rhea.create_container({ id: 'soak' });
  const amqp = container.connect({ host: '127.0.0.1', port: junction.ports.amqp, reconnect: false });
  const amqpGot = new Set<string>();
  let amqpAcked = 0;
  let amqpSent = 0;
  const receiver = amqp.open_receiver({ source: 'queue://soak.orders', autoaccept: true, credit_window: 200 });
  receiver.on('message', (e: EventContext) => amqpGot.add(String(e.message?.message_id)));
  const sender = amqp.open_sender({ target: 'queue://soak.orders' });
  sender.on('accepted', () => amqpAcked++);
  sender.on('sendable', () => {
    while (running && sender.sendable()) sender.send({ message_id: `o${amqpSent++}`, durable: true, body: 'order' });
  });

  // STOMP firehose with a fast and a slow subscriber.
  const fast = await BenchStomp.connect(junction.ports.stomp);
  const slow = await BenchStomp.connect(junction.ports.stomp);
  const producer = await BenchStomp.connect(junction.ports.stomp);
  let fastGot = 0;
  let slowGot = 0;
  fast.onFrame = (f) => {
    if (f.command === 'MESSAGE') fastGot++;
  };
  const slowAcks: string[] = [];
  slow.onFrame = (f) => {
    if (f.command === 'MESSAGE') {
      slowGot++;
      slowAcks.push(f.headers.get('ack') ?? '');
    }
  };
  fast.send('SUBSCRIBE', [
    ['id', 'f'],
    ['destination', '/topic/firehose'],
    ['ack', 'auto'],
  ]);
  slow.send('SUBSCRIBE', [
    ['id', 's'],
    ['destination', '/topic/firehose'],
    ['ack', 'client-individual'],
    ['activemq.prefetchSize', '10'],
  ]);
  const slowTimer = setInterval(() => {
    const id = slowAcks.shift();
    if (id) slow.send('ACK', [['id', id]]);
  }, 10);
  let stompSent = 0;
  const body = Buffer.alloc(1024, 0x78);
  const flood = (): void => {
    while (running) {
      stompSent++;
      if (!producer.send('SEND', [['destination', '/topic/firehose']], body)) {
        producer.socket.once('drain', flood);
        return;
      }
    }
  };
  // Let the subscriptions land before the flood starts.
  await new Promise((r) => setTimeout(r, 500));
  flood();

  await new Promise((r) => setTimeout(r, s.seconds * 1000));
  running = false;
  clearInterval(mqttTimer);
  clearInterval(slowTimer);
  // Drain: persistent flows get up to 30 s to deliver what was acknowledged.
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && (mqttGot.size < mqttAcked || amqpGot.size < amqpAcked)) await new Promise((r) => setTimeout(r, 200));
  const end = rssBytes(junction.pid);
  clearInterval(sampler);
  clearInterval(printer);
  mqttPub.end(true);
  mqttSub.end(true);
  amqp.close();
  for (const c of [fast, slow, producer]) c.close();
  await junction.stop();
  return {
    scenario: 'soak',
    seconds: s.seconds,
    watermark: s.watermark,
    rssMB: { start: mb(start), peak: mb(peak), end: mb(end), every10s: samples },
    memoryAlarms: alarms,
    mqttQos1: { acknowledged: mqttAcked, delivered: mqttGot.size, lost: Math.max(0, mqttAcked - mqttGot.size) },
    amqpDurable: { acknowledged: amqpAcked, delivered: amqpGot.size, lost: Math.max(0, amqpAcked - amqpGot.size) },
    stompNonPersistent: { sent: stompSent, fastDelivered: fastGot, slowDelivered: slowGot, droppedByPolicy },
    node: process.version,
  };
}
