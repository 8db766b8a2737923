// The STOMP adapter: STOMP 1.0, 1.1 and 1.2 on the STOMP ports (TCP 61613, TLS 61614) and on the
// shared WebSocket listener (subprotocols v10.stomp, v11.stomp, v12.stomp, or the path /stomp),
// one frame per WebSocket message.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdapterDescriptor } from '../adapter.ts';
import { stompConfigSchema } from './config.ts';
import { stompColumn } from './mapping-columns.ts';
import { byteTransport } from '../../src/net/byte-stream.ts';
import { StompConnection, type StompSettings } from './connection.ts';

const VERSION = (JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string }).version;

export const stompAdapter: AdapterDescriptor<typeof stompConfigSchema, 'stomp'> = {
  name: 'stomp',
  title: 'STOMP 1.0, 1.1 and 1.2',
  listener: {
    port: 61613,
    tlsPort: 61614,
    webSocket: { subprotocols: ['v12.stomp', 'v11.stomp', 'v10.stomp'], paths: ['/stomp'], framing: 'frames' },
  },
  configSchema: stompConfigSchema,
  mapping: [stompColumn],
  create: (ctx, c) => {
    const settings: StompSettings = {
      limits: { maxBodyBytes: c.maxBodyBytes, maxHeaders: c.maxHeaders, maxHeaderBytes: c.maxHeaderBytes, maxLineBytes: c.maxLineBytes },
      handshakeBytes: ctx.config.limits.maxHandshakeBytes,
      minHeartbeatMs: c.minHeartbeatMs,
      defaultPrefetch: c.prefetch,
      serverName: `Junction/${VERSION}`,
    };
    const log = ctx.log.child({ protocol: 'stomp' });
    return {
      handleConnection(stream, info) {
        const transport = byteTransport(stream);
        const conn = new StompConnection(
          transport,
          ctx,
          settings,
          log.child({ remote: `${info.remoteAddress}:${info.remotePort}`, transport: info.transport }),
          info,
        );
        stream.on('data', (d: Buffer) => conn.onData(d));
        stream.on('close', () => conn.onClosed());
      },
    };
  },
};
