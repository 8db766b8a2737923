// The MQTT adapter's settings: the `mqtt` section of the configuration (session queues, in-flight windows,
// MQTT 5 limits). Mosquitto's names for the same knobs are given where there is one.
import { z } from 'zod';

export const mqttConfigSchema = z.strictObject({
  /** Unacknowledged QoS 1 and 2 deliveries per subscription (Mosquitto: max_inflight_messages). */
  maxInflight: z.number().int().min(1).max(65535).default(100),
  /** Messages a persistent session's subscription holds while the device is away (Mosquitto: max_queued_messages). */
  maxQueuedMessages: z.number().int().min(0).default(1000),
  /**
   * Messages a connected subscriber's subscription holds before publishers wait for it (flow
   * control): how far behind a subscriber that keeps up may fall, and so its latency under
   * load; 0 = maxQueuedMessages.
   */
  maxQueuedOnline: z.number().int().min(0).default(200),
  /** What a full session queue does: drop its oldest message (counted, logged) or refuse the publish. */
  queueOverflow: z.enum(['drop-oldest', 'reject']).default('drop-oldest'),
  /**
   * How long a connected subscriber that reads nothing may hold publishers back (its session queue
   * full) before it is a slow consumer; 0 = until it reads (publishers wait, then are refused).
   */
  slowConsumerHoldMs: z.number().int().min(0).default(3000),
  /**
   * What a slow consumer's session then does: apply queueOverflow as if the device were away
   * (drop-oldest, counted and logged), or be disconnected (MQTT 5: DISCONNECT 0x97) and queue
   * within maxQueuedMessages (ActiveMQ's AbortSlowConsumerStrategy).
   */
  slowConsumer: z.enum(['drop-oldest', 'disconnect']).default('drop-oldest'),
  /** Inbound QoS 2 messages a client may leave waiting for PUBREL before it is disconnected. */
  maxInboundQoS2: z.number().int().min(1).default(1000),
  /**
   * A persistent session unused this long after its device left is discarded with its queue; 0 = never.
   * MQTT 5 clients choose their own Session Expiry Interval, capped at this when it is not 0.
   */
  sessionExpirySeconds: z.number().min(0).default(0),
  /** MQTT 5: PUBLISH packets from one client the broker works on at once (CONNACK Receive Maximum); more wait unread. */
  receiveMaximum: z.number().int().min(1).max(65535).default(1000),
  /** MQTT 5: topic aliases a client may set per connection (CONNACK Topic Alias Maximum; Mosquitto's default). */
  topicAliasMaximum: z.number().int().min(0).max(65535).default(10),
  /** MQTT 5: the longest keep-alive granted, also to a client asking for none (CONNACK Server Keep Alive); 0 = the client's own. */
  maxKeepAliveSeconds: z.number().int().min(0).max(65535).default(0),
  /** Largest packet a client may send (fixed header included); a bigger one closes its connection. */
  maxPacketBytes: z
    .number()
    .int()
    .min(1024)
    .max(268_435_460)
    .default(16 * 1024 * 1024),
  /** MQTT 5: the bytes of one property section (User Properties included); a bigger one closes the connection (0x83). */
  maxPropertyBytes: z
    .number()
    .int()
    .min(1024)
    .default(64 * 1024),
  /** MQTT 5: User Properties in one property section; more close the connection (0x83). */
  maxUserProperties: z.number().int().min(1).default(1000),
});

export type MqttConfig = z.output<typeof mqttConfigSchema>;
