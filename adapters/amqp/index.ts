// The AMQP 1.0 adapter on rhea: TCP 5672, TLS 5671 and the shared WebSocket listener (subprotocol
// `amqp`, or the path /amqp).
import type { AdapterFactory } from '../adapter.ts';
import { patchRhea } from './rhea-fixes.ts';
import { AmqpService } from './service.ts';

export const amqpAdapter: AdapterFactory = (ctx) => {
  patchRhea();
  const service = new AmqpService(
    ctx,
    {
      creditWindow: ctx.config.amqp.creditWindow,
      bareAddress: ctx.config.amqp.bareAddress,
      maxMessageBytes: ctx.config.amqp.maxMessageBytes,
      maxFrameBytes: ctx.config.amqp.maxFrameBytes,
      maxHandshakeFrameBytes: ctx.config.amqp.maxHandshakeFrameBytes,
      maxMessageValues: ctx.config.amqp.maxMessageValues,
    },
    ctx.log.child({ protocol: 'amqp' }),
  );
  return {
    protocol: 'amqp',
    subprotocols: ['amqp'],
    paths: ['/amqp'],
    webSocketFraming: 'stream',
    handleConnection: (stream, info) => service.accept(stream, info),
  };
};
