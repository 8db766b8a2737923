// The MQTT adapter: MQTT 3.1 and 3.1.1 on aedes, on TCP 1883, TLS 8883 and the shared WebSocket
// listener (subprotocols mqtt and mqttv3.1, or the path /mqtt). MQTT 5 is refused with CONNACK
// code 1 until aedes speaks it; the session logic (session.ts) does not depend on the version.
import type { Duplex } from 'node:stream';
import { createWebSocketStream } from 'ws';
import type { AdapterFactory } from '../index.ts';
import { MqttService } from './service.ts';

export const mqttAdapter: AdapterFactory = (ctx) => {
  const c = ctx.config.mqtt;
  const service = new MqttService(
    ctx,
    {
      maxInflight: c.maxInflight,
      maxInboundQoS2: c.maxInboundQoS2,
      connectTimeoutMs: c.connectTimeoutMs,
      sessionExpiryMs: c.sessionExpirySeconds * 1000,
      limits: { maxMessages: c.maxQueuedMessages, overflow: c.queueOverflow },
    },
    ctx.log.child({ protocol: 'mqtt' }),
  );
  return {
    protocol: 'mqtt',
    subprotocols: ['mqtt', 'mqttv3.1'],
    paths: ['/mqtt'],
    start: () => service.start(),
    close: () => service.close(),
    handleSocket(socket, info) {
      socket.setNoDelay(true);
      corkPerTurn(socket);
      service.accept(socket, info);
    },
    handleWebSocket(ws, req, info) {
      const stream = createWebSocketStream(ws);
      // One WebSocket message per turn rather than one per piece of each packet.
      stream._writev = (chunks, cb) => ws.send(Buffer.concat(chunks.map((c) => c.chunk as Buffer)), cb);
      corkPerTurn(stream);
      stream.on('error', () => {});
      service.accept(stream, info, req);
    },
  };
};

/**
 * Packets written in one event-loop turn leave in one write: mqtt-packet corks only until the
 * next tick, so under load each packet was its own writev system call (or its pieces separate
 * WebSocket messages).
 */
function corkPerTurn(socket: Duplex): void {
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  let corked = false;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };
  socket.write = ((...args: unknown[]) => {
    if (!corked && !socket.destroyed) {
      corked = true;
      socket.cork();
      setImmediate(uncork);
    }
    return write(...args);
  }) as Duplex['write'];
}
