// Hostile scenario: a normal MQTT client (QoS 1 at a steady rate, publisher and subscriber) is
// measured against a Junction process serving every protocol, first alone, then beside each attack
// in turn, each for the same time:
//   amqp-preauth   connections that declare a 4 GB AMQP frame before SASL and stream bytes into it
//   stomp-preauth  connections that stream a body before CONNECT, with no NUL
//   mqtt5-props    MQTT 5 PUBLISHes of 2 million User Properties (12 MB, under maxPacketBytes)
//   amqp-props     AMQP messages of 100,000 application properties (1 MB, under maxMessageBytes)
//   stalled-sub    a subscriber to `#` at QoS 1 that never reads its socket
//   idle-sockets   2,000 sockets that never send a byte
// For each: the normal client's throughput and latency, the broker's peak resident memory while
// the attack ran (from /proc), event-loop stalls it logged, and whether it fenced itself (its
// lease lapsed). The normal client's messages must all arrive: a loss fails the run.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import rhea from 'rhea';
import { startJunctionProcess } from '../lib/junction-process.ts';
import { connectMqtt } from '../lib/mqtt-connect.ts';
import { Measurement } from '../lib/measure.ts';
import { varint } from '../../adapters/mqtt/varint.ts';

export interface HostileScenario {
  seconds: number;
  /** The normal client's publishes per second. */
  rate: number;
  store: 'embedded' | 'memory';
}

type Attack = 'none' | 'amqp-preauth' | 'stomp-preauth' | 'mqtt5-props' | 'amqp-props' | 'stalled-sub' | 'idle-sockets';
const ATTACKS: Attack[] = ['none', 'amqp-preauth', 'stomp-preauth', 'mqtt5-props', 'amqp-props', 'stalled-sub', 'idle-sockets'];

export interface AttackResult {
  attack: Attack;
  msgsPerSec: number;
  latencyMs: { p50: number; p99: number };
  peakRssMb: number;
  stalls: number;
  fenced: boolean;
  lost: number;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}

/** Keeps `open()` connections streaming what `feed` writes until stopped; reconnects those the broker closes. */
function streamer(count: number, open: () => net.Socket, feed: (s: net.Socket) => void): () => void {
  let stopped = false;
  const sockets = new Set<net.Socket>();
  const start = (): void => {
    if (stopped) return;
    const s = open();
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => {
      sockets.delete(s);
      setTimeout(start, 10);
    });
    s.on('connect', () => feed(s));
  };
  for (let i = 0; i < count; i++) start();
  return () => {
    stopped = true;
    for (const s of sockets) s.destroy();
  };
}

/** Writes `chunk` again and again as the socket drains, until it closes. */
function pour(s: net.Socket, head: Buffer, chunk: Buffer): void {
  s.write(head);
  const more = (): void => {
    while (!s.destroyed && s.write(chunk));
  };
  s.on('drain', more);
  more();
}

async function startAttack(attack: Attack, ports: Record<'mqtt' | 'amqp' | 'stomp', number>): Promise<() => void> {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  switch (attack) {
    case 'none':
      return () => {};
    case 'amqp-preauth': {
      const head = Buffer.alloc(12);
      Buffer.from('AMQP\x03\x01\x00\x00', 'latin1').copy(head);
      head.writeUInt32BE(0xf0000000, 8);
      return streamer(
        4,
        () => net.connect(ports.amqp, '127.0.0.1'),
        (s) => pour(s, head, chunk),
      );
    }
    case 'stomp-preauth':
      return streamer(
        4,
        () => net.connect(ports.stomp, '127.0.0.1'),
        (s) => pour(s, Buffer.from('CONNECT\nhost:x\n\n'), chunk),
      );
    case 'mqtt5-props': {
      const entry = Buffer.from([0x26, 0x00, 0x01, 0x61, 0x00, 0x00]);
      const props = Buffer.alloc(entry.length * 2_000_000);
      for (let i = 0; i < props.length; i += entry.length) entry.copy(props, i);
      const body = Buffer.concat([Buffer.from([0x00, 0x01, 0x74]), varint(props.length), props, Buffer.from('x')]);
      const publish = Buffer.concat([Buffer.from([0x30]), varint(body.length), body]);
      const connectPacket = Buffer.from([0x10, 0x0e, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x05, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x70]);
      return streamer(
        2,
        () => net.connect(ports.mqtt, '127.0.0.1'),
        (s) => {
          s.write(connectPacket);
          s.write(publish);
        },
      );
    }
    case 'amqp-props': {
      const application_properties: Record<string, number> = {};
      for (let i = 0; i < 100_000; i++) application_properties[`k${i}`] = i;
      const conn = rhea.create_container({ id: 'flooder' }).connect({ host: '127.0.0.1', port: ports.amqp, reconnect: false });
      conn.on('error', () => {});
      conn.on('disconnected', () => {});
      const sender = conn.open_sender('queue://hostile.props');
      // Encoded once (encoding it takes this process 140 ms, which would be measured as the broker's
      // delay); one message under way at a time, again as soon as the broker settles the last.
      const encoded = rhea.message.encode({ body: 'x', application_properties });
      const next = (): void => {
        if (sender.sendable()) sender.send(encoded, undefined, 0);
      };
      sender.once('sendable', next);
      for (const outcome of ['accepted', 'rejected', 'released', 'modified']) sender.on(outcome, next);
      return () => conn.close();
    }
    case 'stalled-sub': {
      const c = await connectMqtt(ports.mqtt, 'stalled', { protocolVersion: 4 });
      await c.subscribeAsync('#', { qos: 1 });
      // mqtt.js reads on: its socket is paused, so it neither reads nor acknowledges from here on.
      (c.stream as net.Socket).pause();
      return () => c.end(true);
    }
    case 'idle-sockets': {
      const sockets: net.Socket[] = [];
      for (let i = 0; i < 2000; i++) {
        const s = net.connect(ports.mqtt, '127.0.0.1');
        s.on('error', () => {});
        sockets.push(s);
      }
      return () => sockets.forEach((s) => s.destroy());
    }
  }
}

async function measure(
  attack: Attack,
  ports: Record<'mqtt' | 'amqp' | 'stomp', number>,
  s: HostileScenario,
  pid: number,
  log: { stalls: number; fenced: boolean },
): Promise<AttackResult> {
  const run = `${attack}-${Date.now()}`;
  const m = new Measurement();
  const sub = await connectMqtt(ports.mqtt, `${run}-sub`);
  let received = 0;
  sub.on('message', (_t, p: Buffer) => {
    received++;
    m.record(p.readDoubleLE(0));
  });
  await sub.subscribeAsync(`normal/${run}`, { qos: 1 });
  const pub = await connectMqtt(ports.mqtt, `${run}-pub`);
  const stop = await startAttack(attack, ports);
  const stallsBefore = log.stalls;
  let sent = 0;
  let peak = rssMb(pid);
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 100);
  const every = 1000 / s.rate;
  const t0 = performance.now();
  const ticker = setInterval(() => {
    const due = Math.floor((performance.now() - t0) / every);
    while (sent < due) {
      const b = Buffer.alloc(256, 0x6d);
      b.writeDoubleLE(performance.now(), 0);
      sent++;
      pub.publish(`normal/${run}`, b, { qos: 1 });
    }
  }, 5);
  const measured = await m.run(s.seconds, 1000);
  clearInterval(ticker);
  stop();
  clearInterval(sampler);
  const deadline = Date.now() + 10_000;
  while (received < sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  pub.end(true);
  sub.end(true);
  return {
    attack,
    msgsPerSec: measured.msgsPerSec,
    latencyMs: { p50: measured.latencyUs.p50 / 1000, p99: measured.latencyUs.p99 / 1000 },
    peakRssMb: peak,
    stalls: log.stalls - stallsBefore,
    fenced: log.fenced,
    lost: sent - received,
  };
}

export async function runHostileScenario(s: HostileScenario): Promise<{ scenario: 'hostile'; results: AttackResult[] }> {
  const log = { stalls: 0, fenced: false };
  const j = await startJunctionProcess(s.store, 'mqtt', {
    more: ['amqp', 'stomp'],
    onLine: (line) => {
      if (line.includes('event loop stalled')) log.stalls++;
      if (line.includes('"fencing')) log.fenced = true;
    },
  });
  const results: AttackResult[] = [];
  try {
    for (const attack of ATTACKS) {
      const r = await measure(attack, j.ports, s, j.pid, log);
      results.push(r);
      process.stderr.write(`${JSON.stringify(r)}\n`);
    }
  } finally {
    await j.stop();
  }
  if (results.some((r) => r.lost > 0)) process.exitCode = 1;
  return { scenario: 'hostile', results };
}
