// The STOMP adapter: STOMP 1.0, 1.1 and 1.2 on the STOMP ports (TCP 61613, TLS 61614) and on the
// shared WebSocket listener (subprotocols v10.stomp, v11.stomp, v12.stomp, or the path /stomp).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdapterFactory } from '../index.ts';
import { StompConnection, type StompSettings, type StompTransport } from './connection.ts';

const VERSION = (JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string }).version;

export const stompAdapter: AdapterFactory = (ctx) => {
  const c = ctx.config.stomp;
  const settings: StompSettings = {
    limits: { maxBodyBytes: c.maxBodyBytes, maxHeaders: c.maxHeaders, maxHeaderBytes: c.maxHeaderBytes, maxLineBytes: c.maxLineBytes },
    minHeartbeatMs: c.minHeartbeatMs,
    defaultPrefetch: c.prefetch,
    serverName: `Junction/${VERSION}`,
  };
  const log = ctx.log.child({ protocol: 'stomp' });
  return {
    protocol: 'stomp',
    subprotocols: ['v12.stomp', 'v11.stomp', 'v10.stomp'],
    paths: ['/stomp'],
    handleSocket(socket, info) {
      // Frames written in one turn (deliveries, receipts) leave in one write.
      let corked = false;
      const uncork = (): void => {
        corked = false;
        socket.uncork();
      };
      const transport: StompTransport = {
        write: (data, done) => {
          if (!corked) {
            corked = true;
            socket.cork();
            setImmediate(uncork);
          }
          socket.write(data, done);
        },
        // A client that never closes its side is cut off after a grace period.
        end: () => {
          socket.end();
          setTimeout(() => socket.destroy(), 5000).unref();
        },
        destroy: () => socket.destroy(),
        pause: () => socket.pause(),
        resume: () => socket.resume(),
      };
      const conn = new StompConnection(
        transport,
        ctx,
        settings,
        log.child({ remote: `${info.remoteAddress}:${info.remotePort}`, transport: info.transport }),
      );
      socket.setNoDelay(true);
      socket.on('data', (d: Buffer) => conn.onData(d));
      socket.on('error', () => {});
      socket.on('close', () => conn.onClosed());
    },
    handleWebSocket(ws, _req, info) {
      const transport: StompTransport = {
        write: (data, done) => ws.send(data, { binary: true }, done),
        end: () => ws.close(1000),
        destroy: () => ws.terminate(),
        pause: () => ws.pause(),
        resume: () => ws.resume(),
      };
      const conn = new StompConnection(
        transport,
        ctx,
        settings,
        log.child({ remote: `${info.remoteAddress}:${info.remotePort}`, transport: info.transport }),
      );
      ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
        conn.onData(Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data));
      });
      ws.on('error', () => {});
      ws.on('close', () => conn.onClosed());
    },
  };
};
