// The AMQP 1.0 adapter on rhea: TCP 5672, TLS 5671 and the shared WebSocket listener (subprotocol
// `amqp`, or the path /amqp).
import type { AdapterDescriptor } from '../adapter.ts';
import { amqpConfigSchema } from './config.ts';
import { amqpColumn } from './mapping-columns.ts';
import { patchRhea } from './rhea-fixes.ts';
import { AmqpService } from './service.ts';

export const amqpAdapter: AdapterDescriptor<typeof amqpConfigSchema, 'amqp'> = {
  name: 'amqp',
  title: 'AMQP 1.0',
  listener: { port: 5672, tlsPort: 5671, webSocket: { subprotocols: ['amqp'], paths: ['/amqp'], framing: 'stream' } },
  configSchema: amqpConfigSchema,
  mapping: [amqpColumn],
  create: (ctx, settings) => {
    patchRhea();
    const service = new AmqpService(ctx, settings, ctx.log.child({ protocol: 'amqp' }));
    return {
      handleConnection: (stream, info) => service.accept(stream, info),
    };
  },
};
