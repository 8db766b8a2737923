// The OpenWire adapter's settings: the `openwire` section of the configuration.
import { z } from 'zod';

export const openwireConfigSchema = z.strictObject({
  /** Largest frame accepted (a bigger one closes the connection); also what WireFormatInfo offers. */
  maxFrameSize: z
    .number()
    .int()
    .min(64 * 1024)
    .default(100 * 1024 * 1024),
  /** Offered in WireFormatInfo: the client and the broker use the smaller of the two. */
  maxInactivityDurationMs: z.number().int().min(0).default(30_000),
  maxInactivityDurationInitialDelayMs: z.number().int().min(0).default(10_000),
  /** Offered in WireFormatInfo; both sides must want it. */
  tightEncodingEnabled: z.boolean().default(true),
  cacheEnabled: z.boolean().default(true),
  cacheSize: z.number().int().min(1).max(16_384).default(1024),
  /**
   * Broker URLs (tcp://host:61616) sent to clients in ConnectionControl, so a client with
   * `failover:(...)?updateURIsSupported=true` learns the standby's address; empty sends none.
   */
  peerBrokerUrls: z.array(z.string().min(1)).default([]),
});

export type OpenwireConfig = z.output<typeof openwireConfigSchema>;
