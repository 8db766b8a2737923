// The AMQP 1.0 adapter's settings: the `amqp` section of the configuration (credit, addresses, frame
// and message bounds).
import { z } from 'zod';

export const amqpConfigSchema = z.strictObject({
  /** Messages a client's sending link may have ahead of the store (its link credit). */
  creditWindow: z.number().int().min(1).default(100),
  /** What an address without queue:// or topic:// names (a terminus capability still decides first). */
  bareAddress: z.enum(['queue', 'topic']).default('queue'),
  /**
   * Largest message (its encoded bytes) a client may send: announced as each link's
   * max-message-size; a bigger one is rejected with amqp:link:message-size-exceeded.
   */
  maxMessageBytes: z
    .number()
    .int()
    .min(1024)
    .default(16 * 1024 * 1024),
  /**
   * Largest frame a client may send (announced as the OPEN's max-frame-size; a message larger
   * than a frame spans several); a bigger one closes the connection with amqp:connection:framing-error.
   */
  maxFrameBytes: z
    .number()
    .int()
    .min(4096)
    .default(1024 * 1024),
  /** Largest frame before the connection's OPEN is accepted (SASL included); RabbitMQ's is 4096. */
  maxHandshakeFrameBytes: z.number().int().min(512).default(4096),
  /**
   * Values one message may hold (properties, annotation and map entries, list items: decoding
   * costs about 2 µs each); a message with more is rejected with amqp:resource-limit-exceeded.
   */
  maxMessageValues: z.number().int().min(100).default(20_000),
});

export type AmqpConfig = z.output<typeof amqpConfigSchema>;
