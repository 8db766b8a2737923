// The MQTT adapter: MQTT 3.1 and 3.1.1 on aedes, MQTT 5 on Junction's own engine (v5/), on TCP
// 1883, TLS 8883 and the shared WebSocket listener (subprotocols mqtt and mqttv3.1, or the path
// /mqtt). The CONNECT's protocol level picks the engine; the session logic (session.ts) is shared.
import type { AdapterDescriptor } from '../adapter.ts';
import { mqttConfigSchema } from './config.ts';
import { mqtt311Column, mqtt5Column } from './mapping-columns.ts';
import { limitPacketSize } from './packet-size.ts';
import { guardProtocolLevel } from './protocol-level.ts';
import { MqttService } from './service.ts';

export const mqttAdapter: AdapterDescriptor<typeof mqttConfigSchema, 'mqtt'> = {
  name: 'mqtt',
  title: 'MQTT 3.1, 3.1.1 and 5',
  listener: { port: 1883, tlsPort: 8883, webSocket: { subprotocols: ['mqtt', 'mqttv3.1'], paths: ['/mqtt'], framing: 'stream' } },
  configSchema: mqttConfigSchema,
  mapping: [mqtt311Column, mqtt5Column],
  create: (ctx, c) => {
    const service = new MqttService(
      ctx,
      {
        maxInflight: c.maxInflight,
        maxInboundQoS2: c.maxInboundQoS2,
        connectTimeoutMs: ctx.config.limits.connectTimeoutMs,
        sessionExpiryMs: c.sessionExpirySeconds * 1000,
        v5: {
          receiveMaximum: c.receiveMaximum,
          topicAliasMaximum: c.topicAliasMaximum,
          maxPacketBytes: c.maxPacketBytes,
          maxConnectBytes: ctx.config.limits.maxHandshakeBytes,
          maxPropertyBytes: c.maxPropertyBytes,
          maxUserProperties: c.maxUserProperties,
          maxKeepAliveSeconds: c.maxKeepAliveSeconds,
          maxSessionExpirySeconds: c.sessionExpirySeconds,
        },
        // maxQueuedMessages bounds what waits for a device that is away; online, maxQueuedOnline
        // waiting holds publishers back, for at most slowConsumerHoldMs when the device stopped reading.
        limits: {
          maxMessages: c.maxQueuedMessages,
          onlineMaxMessages: c.maxQueuedOnline,
          overflow: c.queueOverflow,
          backlogOnly: true,
          slowConsumerHoldMs: c.slowConsumerHoldMs,
          slowConsumer: c.slowConsumer,
        },
      },
      ctx.log.child({ protocol: 'mqtt' }),
    );
    return {
      start: () => service.start(),
      goodbye: () => service.goodbye(),
      close: () => service.close(),
      handleConnection: (stream, info) =>
        guardProtocolLevel(
          stream,
          (level) => {
            if (level === 5) {
              service.accept5(stream, info);
              return;
            }
            const handshakeBytes = Math.min(c.maxPacketBytes, ctx.config.limits.maxHandshakeBytes);
            limitPacketSize(stream, c.maxPacketBytes, handshakeBytes, (size, limit) => {
              ctx.log.info(
                { protocol: 'mqtt', remote: `${info.remoteAddress}:${info.remotePort}`, size, limit },
                limit === c.maxPacketBytes
                  ? 'mqtt packet over mqtt.maxPacketBytes: connection closed'
                  : 'mqtt CONNECT over limits.maxHandshakeBytes: connection closed',
              );
              stream.destroy();
            });
            service.accept(stream, info);
          },
          (level) =>
            ctx.log.info(
              { protocol: 'mqtt', remote: `${info.remoteAddress}:${info.remotePort}`, level },
              'mqtt CONNECT with an unsupported protocol level: CONNACK 0x01',
            ),
        ),
    };
  },
};
