// The composition root in-process: an adapter gets the broker and a listener; a broker whose
// store epoch is superseded fences itself (listeners closed, /health unavailable).
import net from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { AdapterFactory } from '../../adapters/index.ts';
import { validateConfig } from '../../src/config/load.ts';
import { queue } from '../../src/core/destination.ts';
import { boundPort } from '../../src/admin/admin-server.ts';
import { JunctionServer } from '../../src/server.ts';
import { MemoryData, MemoryStore } from '../../src/store/memory-store.ts';
import { silent } from '../helpers/core.ts';
import { loadConfig } from '../../src/config/load.ts';
import { startRedis } from '../helpers/redis-server.ts';

/** A line protocol for tests: each line "QUEUE BODY" is published persistently; replies "ok" or the error. */
const lineAdapter: AdapterFactory = ({ broker }) => ({
  protocol: 'stomp',
  subprotocols: [],
  paths: [],
  handleSocket(socket) {
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n').filter(Boolean)) {
        const [name, body] = line.split(' ');
        broker
          .publish({ destination: queue(name!), body: Buffer.from(body ?? ''), persistent: true }, { connectionId: 'line' })
          .then(
            () => socket.write('ok\n'),
            (err: Error) => socket.write(`error ${err.message}\n`),
          );
      }
    });
  },
  handleWebSocket(ws) {
    ws.close();
  },
});

const config = validateConfig({
  admin: { host: '127.0.0.1', port: 0 },
  listeners: { host: '127.0.0.1', stomp: { port: 0 }, websocket: { enabled: false } },
});

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
    await closed; // the broker drops its connections once fenced
    expect(await server.done).toBe('fenced');
    expect(server.health()).toMatchObject({ status: 'unavailable', role: 'standby' });
    expect(data.entries.get('q')?.size).toBe(1);
  });
});

describe('server on the Redis store', () => {
  it('REDIS_URL selects the Redis server; a restarted server still has the persistent messages', async () => {
    const redis = await startRedis();
    try {
      const env = { JUNCTION_STORE__TYPE: 'redis', REDIS_URL: redis.url, JUNCTION_ADMIN__ENABLED: 'false', JUNCTION_LISTENERS__STOMP__PORT: '0', JUNCTION_LISTENERS__HOST: '127.0.0.1', JUNCTION_LISTENERS__WEBSOCKET__ENABLED: 'false' };
      const cfg = loadConfig(undefined, env);
      expect(cfg.store).toEqual({ type: 'redis', redis: { url: redis.url } });
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
