// The STOMP adapter's settings: the `stomp` section of the configuration (limits on frames, heart-beats,
// the default prefetch).
import { z } from 'zod';

export const stompConfigSchema = z.strictObject({
  /** Largest SEND body accepted; a bigger one gets an ERROR frame and the connection closes. */
  maxBodyBytes: z
    .number()
    .int()
    .min(1024)
    .default(16 * 1024 * 1024),
  maxHeaders: z.number().int().min(8).default(1000),
  /** All header lines of one frame together. */
  maxHeaderBytes: z
    .number()
    .int()
    .min(1024)
    .default(64 * 1024),
  /** One command or header line. */
  maxLineBytes: z
    .number()
    .int()
    .min(256)
    .default(8 * 1024),
  /** The shortest heart-beat interval granted either way (a client asking for less gets this). */
  minHeartbeatMs: z.number().int().min(1).default(1000),
  /** Prefetch of a subscription without activemq.prefetchSize. */
  prefetch: z.number().int().min(1).default(1000),
});

export type StompConfig = z.output<typeof stompConfigSchema>;
