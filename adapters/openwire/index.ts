// The OpenWire adapter: ActiveMQ's own protocol, for JMS applications on ActiveMQ's client
// (ActiveMQConnectionFactory), on 61616 and TLS 61617 as ActiveMQ and Amazon MQ listen, wire
// versions 9 to 12, loose and tight encoding, with the marshalling cache.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdapterDescriptor } from '../adapter.ts';
import { TemporaryDestinationAdvisories } from './advisories.ts';
import { openwireConfigSchema } from './config.ts';
import { byteTransport } from '../../src/net/byte-stream.ts';
import { OpenWireConnection, type OpenWireSettings } from './connection.ts';
import { openwireColumn } from './mapping-columns.ts';

const VERSION = (JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string }).version;

export const openwireAdapter: AdapterDescriptor<typeof openwireConfigSchema, 'openwire'> = {
  name: 'openwire',
  title: 'OpenWire (ActiveMQ JMS clients), versions 9 to 12',
  listener: { port: 61616, tlsPort: 61617 },
  configSchema: openwireConfigSchema,
  mapping: [openwireColumn],
  create: (ctx, c) => {
    const settings: OpenWireSettings = {
      offer: {
        version: 12,
        tight: c.tightEncodingEnabled,
        cache: c.cacheEnabled,
        cacheSize: c.cacheSize,
        maxFrameSize: c.maxFrameSize,
        maxInactivityDurationMs: c.maxInactivityDurationMs,
        maxInactivityDurationInitialDelayMs: c.maxInactivityDurationInitialDelayMs,
        providerVersion: VERSION,
      },
      handshakeBytes: ctx.config.limits.maxHandshakeBytes,
      brokerName: ctx.config.cluster,
      peerBrokerUrls: c.peerBrokerUrls,
      advisories: new TemporaryDestinationAdvisories(),
    };
    const log = ctx.log.child({ protocol: 'openwire' });
    return {
      handleConnection(stream, info) {
        const transport = byteTransport(stream);
        const conn = new OpenWireConnection(
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
