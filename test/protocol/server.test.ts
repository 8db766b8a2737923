// The composition root in-process: an adapter gets the broker and a listener; a broker whose
// store epoch is superseded fences itself (listeners closed, /health unavailable, still running).
import net from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { AdapterDescriptor } from '../../adapters/adapter.ts';
import { z } from 'zod';
import { validateConfig } from '../../src/config/load.ts';
import { queue } from '../../src/core/destination.ts';
import { boundPort } from '../../src/admin/admin-server.ts';
import { JunctionServer } from '../../src/server.ts';
import { MemoryData, MemoryStore } from '../../src/store/memory-store.ts';
import { silent } from '../helpers/core.ts';
import { loadConfig } from '../../src/config/load.ts';
import { startRedis } from '../helpers/redis-server.ts';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CapturedLog } from '../helpers/log.ts';

/** A line protocol for tests: each line "QUEUE BODY" is published persistently; replies "ok" or the error. */
const lineAdapter: AdapterDescriptor = {
  // It takes STOMP's place, so the configuration's listeners.stomp says where it listens.
  name: 'stomp',
  title: 'a line protocol',
  listener: { port: 0, tlsPort: 0 },
  configSchema: z.strictObject({}),
  mapping: [],
  create: ({ broker }) => ({
    handleConnection(socket) {
      socket.on('data', (d: Buffer) => {
        for (const line of d.toString().split('\n').filter(Boolean)) {
          const [name, body] = line.split(' ');
          broker.publish({ destination: queue(name!), body: Buffer.from(body ?? ''), persistent: true }, { connectionId: 'line' }).then(
            () => socket.write('ok\n'),
            (err: Error) => socket.write(`error ${err.message}\n`),
          );
        }
      });
    },
  }),
};

const base = {
  admin: { host: '127.0.0.1', port: 0 },
  listeners: { host: '127.0.0.1', stomp: { port: 0 }, websocket: { enabled: false } },
};
const config = validateConfig({ ...base, store: { type: 'memory' } });

let server: JunctionServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function reply(s: net.Socket, line: string): Promise<string> {
  s.write(`${line}\n`);
  const [d] = (await once(s, 'data')) as [Buffer];
  return d.toString().trim();
}

describe('server', () => {
  it('wires adapters to the broker and their listeners', async () => {
    server = await JunctionServer.start(config, { log: silent, adapters: [lineAdapter] });
    const s = net.connect(server.listeners.port('stomp', 'tcp')!, '127.0.0.1');
    expect(await reply(s, 'orders hello')).toBe('ok');
    expect(server.broker.getQueue('orders')?.messages).toBe(1);
    s.destroy();
  });

  it('fences itself when another broker takes the store over', async () => {
    const data = new MemoryData();
    server = await JunctionServer.start(config, { log: silent, adapters: [lineAdapter], store: new MemoryStore(1, data) });
    const health = `http://127.0.0.1:${boundPort(server.admin!)}/health`;
    expect((await fetch(health)).status).toBe(200);
    const s = net.connect(server.listeners.port('stomp', 'tcp')!, '127.0.0.1');
    expect(await reply(s, 'q first')).toBe('ok');
    await new MemoryStore(2, data).open(); // a new active took the lock
    s.on('error', () => {});
    const closed = once(s, 'close');
    expect(await reply(s, 'q second')).toMatch(/^error Store write refused: epoch 1 is older than the current epoch 2/);
    await closed; // the broker drops its connections once fenced, and stays up as a standby
    await expect.poll(() => server!.health(), { timeout: 5000 }).toMatchObject({ status: 'unavailable', role: 'standby' });
    expect((await fetch(health)).status).toBe(503);
    expect(() => server!.listeners).toThrow(/standby/);
    expect(data.entries.get('q')?.size).toBe(1);
  });
});

describe('server on the Redis store', () => {
  it('REDIS_URL selects the Redis server; a restarted server still has the persistent messages', async () => {
    const redis = await startRedis();
    try {
      const env = {
        JUNCTION_STORE__TYPE: 'redis',
        REDIS_URL: redis.url,
        JUNCTION_ADMIN__ENABLED: 'false',
        JUNCTION_LISTENERS__STOMP__PORT: '0',
        JUNCTION_LISTENERS__HOST: '127.0.0.1',
        JUNCTION_LISTENERS__WEBSOCKET__ENABLED: 'false',
      };
      const cfg = loadConfig(undefined, env);
      expect(cfg.store).toMatchObject({ type: 'redis', redis: { url: redis.url } });
      server = await JunctionServer.start(cfg, { log: silent, adapters: [lineAdapter] });
      const s = net.connect(server.listeners.port('stomp', 'tcp')!, '127.0.0.1');
      expect(await reply(s, 'kept survives')).toBe('ok');
      s.destroy();
      await server.stop();
      server = await JunctionServer.start(cfg, { log: silent, adapters: [lineAdapter] });
      expect(server.broker.getQueue('kept')?.messages).toBe(1);
    } finally {
      await server?.stop();
      server = undefined;
      await redis.stop();
    }
  });
});

describe('server on the embedded Redis (the default)', () => {
  const embedded = (dir: string, extra: object = {}) => validateConfig({ ...base, store: { embedded: { dataDir: dir, ...extra } } });

  it('keeps persistent messages across a restart in its data directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'junction-embedded-'));
    server = await JunctionServer.start(embedded(dir), { log: silent, adapters: [lineAdapter] });
    const s = net.connect(server.listeners.port('stomp', 'tcp')!, '127.0.0.1');
    expect(await reply(s, 'kept on-disk')).toBe('ok');
    s.destroy();
    await server.stop();
    expect(existsSync(join(dir, 'appendonlydir'))).toBe(true);
    server = await JunctionServer.start(embedded(dir), { log: silent, adapters: [lineAdapter] });
    expect(server.broker.getQueue('kept')?.messages).toBe(1);
  });

  it('shuts down the redis-server a killed broker left behind, then starts its own on the same data', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'junction-orphan-'));
    const cfg = join(dir, 'junction.yaml');
    writeFileSync(
      cfg,
      'admin: { enabled: false }\n' +
        'listeners: { host: 127.0.0.1, mqtt: { enabled: false }, amqp: { enabled: false },' +
        ' stomp: { enabled: false }, websocket: { enabled: false } }\n' +
        `store: { embedded: { dataDir: ${dir}/data } }\n`,
    );
    const child = spawn(process.execPath, [join(import.meta.dirname, '../../bin/junction.js'), 'start', '--config', cfg], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('broker did not start')), 15_000);
      createInterface({ input: child.stdout! }).on('line', (l) => {
        if (l.includes('broker running')) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    const orphan = Number(readFileSync(join(dir, 'data/redis.pid'), 'utf8'));
    const gone = once(child, 'exit');
    child.kill('SIGKILL');
    await gone;
    expect(existsSync(`/proc/${orphan}`)).toBe(true);

    const { log, lines } = new CapturedLog();
    server = await JunctionServer.start(embedded(join(dir, 'data')), { log, adapters: [lineAdapter] });
    expect(
      lines.some((l) => l.msg === 'a redis-server from an earlier run still holds the data: shutting it down' && l.pid === orphan),
    ).toBe(true);
    expect(existsSync(`/proc/${orphan}/cmdline`) && readFileSync(`/proc/${orphan}/cmdline`, 'utf8').includes('redis-server')).toBe(false);
    expect(server.health().status).toBe('ok');
  });

  it('falls back to the memory store, loudly, when redis-server is not installed', async () => {
    const { log, lines } = new CapturedLog();
    server = await JunctionServer.start(embedded(mkdtempSync(join(tmpdir(), 'junction-none-')), { binary: 'redis-server-not-installed' }), {
      log,
      adapters: [lineAdapter],
    });
    expect(server.broker.store.kind).toBe('memory');
    const warning = lines.find((l) => String(l.msg).startsWith('NO PERSISTENCE'));
    expect(warning).toMatchObject({ level: 40, binary: 'redis-server-not-installed' });
    expect(lines.find((l) => l.msg === 'broker running')).toMatchObject({ store: 'memory' });
  });
});
