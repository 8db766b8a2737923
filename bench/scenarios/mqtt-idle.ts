// A fleet of idle MQTT devices: N raw clients (TCP, or TLS with `tls`) that CONNECT (clean session,
// keep-alive 60 s), subscribe at QoS 1 to their own command topic, as devices do, and then stay
// silent (MQTT 3.1.1, or 5 with `version: 5`). Against a Junction process started here, then the
// Mosquitto anchor when it runs: the broker's resident memory before, with the fleet connected and
// after every device left, per device, and the connect rate. A fleet beyond one source address's
// ephemeral ports (~28,000) connects from several loopback addresses (127.0.N.x); the file
// limit it needs is raised by bench/run.ts (and for the anchor's process here, with prlimit).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import mqttPacket from 'mqtt-packet';
import { startJunctionProcess } from '../lib/junction-process.ts';
import { makeBenchCert, makeBenchClientCa } from '../lib/cert.ts';
import { reachable } from '../lib/reachable.ts';

export interface MqttIdleScenario {
  connections: number;
  /** Each device subscribes to its own command topic (default), or only connects. */
  subscribe: boolean;
  store: 'embedded' | 'memory';
  /** The devices' MQTT protocol level: 4 (3.1.1) or 5. */
  version: 4 | 5;
  /** Devices connect over TLS (Junction only: the Mosquitto anchor has no TLS listener). */
  tls: boolean;
  /** Over TLS, each device presents a client certificate that names it (no password). */
  clientCerts: boolean;
  mosquittoPort: number;
  anchors: boolean;
}

/** Devices per loopback source address: under the 28,000 ephemeral ports one address has. */
const PER_SOURCE = 25_000;
/** How long a fleet stays idle (connected, then gone) before the broker's memory is read. */
const IDLE_MS = 30_000;
/** Devices connecting at once. */
const CONCURRENCY = 200;

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Dial = (localAddress: string) => net.Socket;

/** Connects one device and resolves once its SUBACK (or CONNACK) is in. */
function device(dial: Dial, localAddress: string, id: string, subscribe: boolean, version: 4 | 5): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = dial(localAddress);
    const parser = mqttPacket.parser({ protocolVersion: version });
    parser.on('packet', (p) => {
      if (p.cmd === 'connack' && !subscribe) {
        resolve(sock);
      } else if (p.cmd === 'connack') {
        sock.write(
          mqttPacket.generate(
            { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `devices/${id}/cmd`, qos: 1 }] },
            { protocolVersion: version },
          ),
        );
      } else if (p.cmd === 'suback') {
        resolve(sock);
      }
    });
    sock.on('data', (d: Buffer) => parser.parse(d));
    sock.once('error', reject);
    sock.write(
      mqttPacket.generate(
        { cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, clientId: id, keepalive: 60 },
        { protocolVersion: version },
      ),
    );
  });
}

interface FleetFigures {
  connections: number;
  connectPerSec: number;
  rssBeforeMB: number;
  rssConnectedMB: number;
  rssAfterLeavingMB: number;
  bytesPerDevice: number;
  /** How much of what the fleet took the broker gave back once it left (1 = all). */
  returned: number;
}

const mb = (b: number): number => +(b / 2 ** 20).toFixed(1);

/** Connects the fleet to a broker (process `pid`), measures, then disconnects it. */
async function fleet(pid: number, dial: Dial, s: MqttIdleScenario, run: string): Promise<FleetFigures> {
  const before = rssBytes(pid);
  const sockets: net.Socket[] = [];
  try {
    // Each run starts at a source address of its own: the ports of the last run's closed
    // connections wait out TIME_WAIT on theirs.
    const first = 2 + Math.floor(Math.random() * 200);
    const t0 = performance.now();
    for (let i = 0; i < s.connections; i += CONCURRENCY) {
      const batch = [];
      for (let j = i; j < Math.min(s.connections, i + CONCURRENCY); j++) {
        const source = `127.0.${first + Math.floor(j / PER_SOURCE)}.${1 + (j % 250)}`;
        batch.push(device(dial, source, `${run}-${j}`, s.subscribe, s.version));
      }
      sockets.push(...(await Promise.all(batch)));
    }
    const seconds = (performance.now() - t0) / 1000;
    // An idle fleet's memory, read once the broker has settled: Junction collects once no
    // connection opened for 5 s, and again every 8 s until V8 has shrunk its young generation
    // (heap-reclaimer.ts).
    await settle(IDLE_MS);
    const connected = rssBytes(pid);
    for (const sock of sockets.splice(0)) sock.destroy();
    await settle(IDLE_MS);
    const left = rssBytes(pid);
    return {
      connections: s.connections,
      connectPerSec: Math.round(s.connections / seconds),
      rssBeforeMB: mb(before),
      rssConnectedMB: mb(connected),
      rssAfterLeavingMB: mb(left),
      bytesPerDevice: Math.round((connected - before) / s.connections),
      returned: +((connected - left) / Math.max(1, connected - before)).toFixed(2),
    };
  } finally {
    for (const sock of sockets) sock.destroy();
  }
}

/** The Mosquitto anchor's process, its file limit raised for the fleet where the machine allows. */
function mosquittoPid(connections: number): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync('/tmp/anchor-mosquitto/pid', 'utf8'));
  } catch {
    return undefined;
  }
  const limit = connections + 1000;
  try {
    execFileSync('prlimit', ['--pid', String(pid), `--nofile=${limit}:${limit}`], { stdio: 'ignore' });
  } catch {
    // Past the hard limit without CAP_SYS_RESOURCE: the anchor keeps its own limit.
  }
  return pid;
}

export async function runMqttIdleScenario(s: MqttIdleScenario): Promise<Record<string, unknown>> {
  const cert = s.tls || s.clientCerts ? makeBenchCert() : undefined;
  const fleetCa = s.clientCerts ? makeBenchClientCa() : undefined;
  const clientCert = fleetCa ? { cert: readFileSync(fleetCa.clientCert), key: readFileSync(fleetCa.clientKey) } : {};
  // The fleet may be larger than a listener's default limit (limits.maxConnections, 10,000).
  const junction = await startJunctionProcess(s.store, 'mqtt', {
    extra: ['limits: { maxConnections: 0 }'],
    ...(cert ? { tls: { ...cert, ...(fleetCa ? { ca: fleetCa.ca } : {}) } } : {}),
  });
  let j: FleetFigures;
  try {
    await settle(2000);
    const port = cert ? (junction.tlsPorts.mqtt as number) : junction.port;
    const dial: Dial = cert
      ? (localAddress) =>
          tls.connect({ socket: net.connect({ port, host: '127.0.0.1', localAddress }), rejectUnauthorized: false, ...clientCert })
      : (localAddress) => net.connect({ port, host: '127.0.0.1', localAddress });
    j = await fleet(junction.pid, dial, s, 'dev');
  } finally {
    await junction.stop();
  }
  let mosquitto: FleetFigures | string = 'not driven (--no-anchors)';
  if (s.anchors && cert) mosquitto = 'not driven: the anchor has no TLS listener';
  else if (s.anchors && !(await reachable(s.mosquittoPort))) mosquitto = 'not running (../shared/anchors/start-mosquitto.sh)';
  else if (s.anchors) {
    const pid = mosquittoPid(s.connections);
    mosquitto = pid
      ? await fleet(pid, (localAddress) => net.connect({ port: s.mosquittoPort, host: '127.0.0.1', localAddress }), s, `mq-${Date.now()}`)
      : 'running, but its process was not found (/tmp/anchor-mosquitto/pid)';
  }
  return {
    scenario: 'mqtt-idle',
    subscribed: s.subscribe,
    mqttVersion: s.version === 5 ? '5' : '3.1.1',
    transport: fleetCa ? 'tls, client certificates' : cert ? 'tls' : 'tcp',
    junction: { store: s.store, ...j },
    mosquitto,
    node: process.version,
  };
}
