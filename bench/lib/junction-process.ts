// A Junction broker process for the protocol benchmarks: its own process (as users run it), on a
// fresh data directory, with one protocol listening on a free loopback port.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export async function startJunctionProcess(
  store: 'embedded' | 'memory',
  protocol: 'stomp' | 'amqp' | 'mqtt',
): Promise<{ port: number; pid: number; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'junction-bench-'));
  const config = join(dir, 'junction.yaml');
  const listeners = { mqtt: '{ enabled: false }', amqp: '{ enabled: false }', stomp: '{ enabled: false }' };
  listeners[protocol] = '{ port: 0, tls: false }';
  writeFileSync(
    config,
    [
      'log: { level: info }',
      'admin: { enabled: false }',
      `store: { type: ${store}, embedded: { dataDir: ${join(dir, 'redis')} } }`,
      `listeners: { host: 127.0.0.1, mqtt: ${listeners.mqtt}, amqp: ${listeners.amqp}, stomp: ${listeners.stomp},` +
        ' websocket: { enabled: false } }',
    ].join('\n'),
  );
  const child = spawn(process.execPath, [join(import.meta.dirname, '../../bin/junction.js'), 'start', '--config', config], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('junction did not start')), 30_000);
    const pattern = new RegExp(`"${protocol}/tcp 127\\.0\\.0\\.1:(\\d+)"`);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = pattern.exec(line);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
  });
  child.stdout!.resume();
  return {
    port,
    pid: child.pid ?? 0,
    stop: async () => {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
