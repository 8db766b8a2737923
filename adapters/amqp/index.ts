// The AMQP 1.0 adapter on rhea: TCP 5672, TLS 5671 and the shared WebSocket listener (subprotocol
// `amqp`, or the path /amqp).
import type { AdapterFactory } from '../index.ts';
import { acceptSocket, patchRheaLinkNames } from './rhea-fixes.ts';
import { AmqpService } from './service.ts';

export const amqpAdapter: AdapterFactory = (ctx) => {
  patchRheaLinkNames();
  const service = new AmqpService(
    ctx,
    { creditWindow: ctx.config.amqp.creditWindow, bareAddress: ctx.config.amqp.bareAddress },
    ctx.log.child({ protocol: 'amqp' }),
  );
  return {
    protocol: 'amqp',
    subprotocols: ['amqp'],
    paths: ['/amqp'],
    handleSocket(socket) {
      socket.setNoDelay(true);
      acceptSocket(service.container, socket, service.connectionOptions);
    },
    handleWebSocket(ws) {
      // rhea's typings name its own socket type; ws 8's WebSocket is what it wraps.
      service.container.websocket_accept(
        ws as unknown as Parameters<typeof service.container.websocket_accept>[0],
        service.connectionOptions as Parameters<typeof service.container.websocket_accept>[1],
      );
    },
  };
};
