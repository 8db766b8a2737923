// A Junction broker process for the protocol benchmarks: its own process (as users run it), on a
// fresh data directory, with one protocol listening on a free loopback port.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { encryptionConfigLines } from './encryption.ts';

type BenchProtocol = 'stomp' | 'amqp' | 'mqtt' | 'aws' | 'openwire';

/**
 * Starts a broker with `protocol` (and `more` protocols) listening; `port` is the first one's,
 * `ports` all of them; `onLine` sees each log line; `extra` adds configuration lines.
 */
export async function startJunctionProcess(
  store: 'embedded' | 'memory',
  protocol: BenchProtocol,
  opts: {
    more?: BenchProtocol[];
    extra?: string[];
    onLine?: (line: string) => void;
    /** PEM files: each protocol also listens with TLS, on `tlsPorts`. */
    tls?: { cert: string; key: string; /** Client certificates from this CA name the devices (tls.identityFrom: cn). */ ca?: string };
  } = {},
): Promise<{
  port: number;
  ports: Record<BenchProtocol, number>;
  tlsPorts: Partial<Record<BenchProtocol, number>>;
  pid: number;
  stop: () => Promise<void>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'junction-bench-'));
  const config = join(dir, 'junction.yaml');
  const listeners = {
    mqtt: '{ enabled: false }',
    amqp: '{ enabled: false }',
    stomp: '{ enabled: false }',
    aws: '{ enabled: false }',
    openwire: '{ enabled: false }',
  };
  const all = [protocol, ...(opts.more ?? [])];
  for (const p of all) listeners[p] = opts.tls ? '{ port: 0, tlsPort: 0, tls: true }' : '{ port: 0, tls: false }';
  const clientCa = opts.tls?.ca
    ? `, ca: ${opts.tls.ca}, requestCert: true, rejectUnauthorized: true, identityFrom: cn, identityGroups: [devices]`
    : '';
  const tlsLines = opts.tls ? [`tls: { cert: ${opts.tls.cert}, key: ${opts.tls.key}${clientCa} }`] : [];
  writeFileSync(
    config,
    [
      'log: { level: info }',
      'admin: { enabled: false }',
      `store: { type: ${store}, embedded: { dataDir: ${join(dir, 'redis')} } }`,
      `listeners: { host: 127.0.0.1, mqtt: ${listeners.mqtt}, amqp: ${listeners.amqp}, stomp: ${listeners.stomp}, aws: ${listeners.aws},` +
        ` openwire: ${listeners.openwire},` +
        ' websocket: { enabled: false } }',
      ...tlsLines,
      ...encryptionConfigLines(dir),
      ...(opts.extra ?? []),
    ].join('\n'),
  );
  // As `npm start` runs it.
  const child = spawn(
    process.execPath,
    [
      '--max-semi-space-size=64',
      // JUNCTION_BENCH_CPU_PROF=<dir>: the broker writes a CPU profile there when it stops.
      ...(process.env.JUNCTION_BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.JUNCTION_BENCH_CPU_PROF}`] : []),
      join(import.meta.dirname, '../../bin/junction.js'),
      'start',
      '--config',
      config,
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      // The bench's own switches would read as configuration overrides (JUNCTION_<PATH>).
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('JUNCTION_BENCH_'))),
    },
  );
  const tlsPorts: Partial<Record<BenchProtocol, number>> = {};
  const ports = await new Promise<Record<BenchProtocol, number>>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('junction did not start')), 30_000);
    const found: Partial<Record<BenchProtocol, number>> = {};
    createInterface({ input: child.stdout! }).on('line', (line) => {
      opts.onLine?.(line);
      for (const p of all) {
        const m = new RegExp(`"${p}/tcp 127\\.0\\.0\\.1:(\\d+)"`).exec(line);
        if (m) found[p] = Number(m[1]);
        const tls = new RegExp(`"${p}/tls 127\\.0\\.0\\.1:(\\d+)"`).exec(line);
        if (tls) tlsPorts[p] = Number(tls[1]);
      }
      if (all.every((p) => found[p] !== undefined && (!opts.tls || tlsPorts[p] !== undefined))) {
        clearTimeout(t);
        resolve(found as Record<BenchProtocol, number>);
      }
    });
  });
  const port = ports[protocol];
  child.stdout!.resume();
  return {
    port,
    ports,
    tlsPorts,
    pid: child.pid ?? 0,
    stop: async () => {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
