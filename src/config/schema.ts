// The configuration schema (zod): every key, its type, its default. A broker started with no
// configuration at all gets these defaults: the embedded Redis store (memory when redis-server is
// missing), anonymous access, default ports.
import { z } from 'zod';

const port = z.number().int().min(0).max(65535);
const duration = z.number().int().min(0);

const protocolListener = (plain: number, tls: number) =>
  z
    .strictObject({
      enabled: z.boolean().default(true),
      port: port.default(plain),
      tlsPort: port.default(tls),
      /** Serve TLS on tlsPort (needs `tls.cert` and `tls.key`; without them only the plain port opens). */
      tls: z.boolean().default(true),
    })
    .prefault({});

const redisNode = z.strictObject({ host: z.string().min(1), port: z.number().int().min(1).max(65535) });

export const policySchema = z.strictObject({
  maxDeliveries: z.number().int().min(0).optional(),
  redeliveryDelayMs: duration.optional(),
  redeliveryMultiplier: z.number().min(1).optional(),
  maxRedeliveryDelayMs: duration.optional(),
  deadLetterStrategy: z.enum(['individual', 'shared', 'none']).optional(),
  deadLetterPrefix: z.string().min(1).optional(),
  sharedDeadLetterQueue: z.string().min(1).optional(),
  expiredMessages: z.enum(['drop', 'dead-letter', 'expiry-queue']).optional(),
  expiryQueue: z.string().min(1).optional(),
  visibilityTimeoutMs: duration.optional(),
  maxMessages: z.number().int().min(0).optional(),
  maxBytes: z.number().int().min(0).optional(),
  overflow: z.enum(['block', 'reject', 'drop-oldest']).optional(),
  blockTimeoutMs: duration.optional(),
  dedupWindowMs: duration.optional(),
  pageWindowMessages: z.number().int().min(1).optional(),
  pageWindowBytes: z.number().int().min(1024).optional(),
  virtualTopicSelector: z.string().optional(),
  transientMaxMessages: z.number().int().min(0).optional(),
  transientMaxBytes: z.number().int().min(0).optional(),
  transientOverflow: z.enum(['block', 'drop-oldest']).optional(),
  slowConsumerHoldMs: duration.optional(),
  slowConsumer: z.enum(['drop-oldest', 'disconnect']).optional(),
});

const destinationPattern = z.string().regex(/^(queue|topic):\/\/.+$/, 'must look like queue://PATTERN or topic://PATTERN');

export const configSchema = z
  .strictObject({
    /** Name shared by the broker processes of one active/standby group. */
    cluster: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only')
      .default('junction'),
    ha: z
      .strictObject({
        /** This process's name in the lease (default: host name and pid). */
        node: z.string().min(1).optional(),
        /** How long the lease lasts unless renewed; a hung active is replaced this long after its last renewal. */
        leaseMs: z.number().int().min(500).default(5000),
        renewMs: z.number().int().min(50).default(1000),
        /** How often a standby checks the lease and whether its holder's process is still connected. */
        checkMs: z.number().int().min(20).max(5000).default(150),
      })
      .prefault({})
      .refine((h) => h.renewMs * 2 <= h.leaseMs, { message: 'renewMs must be at most half of leaseMs' }),
    log: z
      .strictObject({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .prefault({}),
    store: z
      .strictObject({
        /**
         * auto: Redis when one is configured (url, sentinels or nodes; REDIS_URL sets url), else the
         * embedded redis-server when the binary is found, else memory (with a loud warning).
         */
        type: z.enum(['auto', 'memory', 'redis', 'embedded']).default('auto'),
        redis: z
          .strictObject({
            /** redis://[user:password@]host:port[/db], or rediss:// for TLS. REDIS_URL sets it. */
            url: z
              .string()
              .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
              .optional(),
            sentinels: z.array(redisNode).min(1).optional(),
            /** The primary's name the sentinels monitor. */
            name: z.string().min(1).optional(),
            sentinelUsername: z.string().optional(),
            sentinelPassword: z.string().optional(),
            /** Seed nodes of a Redis Cluster. */
            nodes: z.array(redisNode).min(1).optional(),
            /** For sentinels and nodes (a URL carries its own credentials and scheme). */
            username: z.string().optional(),
            password: z.string().optional(),
            tls: z.boolean().optional(),
            /** PEM file of the CA for TLS (rediss:// or tls: true); default: the system's CAs. */
            caFile: z.string().min(1).optional(),
            /**
             * Replicas every store write must reach (Redis WAIT) before a publisher hears "accepted";
             * a write they do not confirm in time is refused with the protocol's retryable error. 0 = none.
             */
            minReplicasToAck: z.number().int().min(0).default(0),
            replicaAckTimeoutMs: z.number().int().min(1).default(1000),
          })
          .prefault({})
          .refine((r) => [r.url, r.sentinels, r.nodes].filter((x) => x !== undefined).length <= 1, {
            message: 'set one of url, sentinels or nodes',
          })
          .refine((r) => r.sentinels === undefined || r.name !== undefined, {
            message: 'sentinels need the name of the primary they monitor (name)',
          }),
        embedded: z
          .strictObject({
            /** Where the embedded redis-server keeps its append-only file. */
            dataDir: z.string().min(1).default('./data/redis'),
            binary: z.string().min(1).default('redis-server'),
          })
          .prefault({}),
      })
      .prefault({}),
    listeners: z
      .strictObject({
        host: z.string().default('0.0.0.0'),
        mqtt: protocolListener(1883, 8883),
        amqp: protocolListener(5672, 5671),
        stomp: protocolListener(61613, 61614),
        websocket: z
          .strictObject({
            enabled: z.boolean().default(true),
            port: port.default(61619),
            /** Serve wss:// instead of ws:// on the WebSocket port (needs tls.cert and tls.key). */
            tls: z.boolean().default(false),
          })
          .prefault({}),
      })
      .prefault({}),
    limits: z
      .strictObject({
        /**
         * Time a new connection has to complete its protocol's handshake (STOMP CONNECT, MQTT CONNECT,
         * AMQP SASL and OPEN; TLS and the WebSocket upgrade included) before it is closed.
         */
        connectTimeoutMs: z.number().int().min(100).default(10_000),
        /**
         * Connections whose handshake is still under way, across all listeners; past it the oldest
         * pending one is dropped. They do not hold a place under maxConnections that an established
         * client needs either: a full listener drops its oldest pending handshake first.
         */
        maxPendingHandshakes: z.number().int().min(1).default(1000),
        /**
         * The most a client may send in one frame or packet before its handshake completes (MQTT
         * CONNECT, STOMP CONNECT, a WebSocket message); AMQP frames before OPEN are bounded by
         * amqp.maxHandshakeFrameBytes.
         */
        maxHandshakeBytes: z
          .number()
          .int()
          .min(1024)
          .default(64 * 1024),
        /** Open connections per listener (one protocol on one transport, or the WebSocket port); 0 = no limit. */
        maxConnections: z.number().int().min(0).default(10_000),
        /** Open connections from one client address across all listeners; 0 = no limit. */
        maxConnectionsPerAddress: z.number().int().min(0).default(0),
        /** Messages one transaction (STOMP BEGIN, AMQP declare) may hold until its commit; 0 = no limit. */
        maxTransactionMessages: z.number().int().min(0).default(10_000),
        /** Body bytes one transaction may hold until its commit; 0 = no limit. */
        maxTransactionBytes: z
          .number()
          .int()
          .min(0)
          .default(64 * 1024 * 1024),
        /**
         * Memory (resident set, buffers included) above which every publisher is held back until it
         * falls again: a fraction of the machine's memory, or of the container's limit when there is
         * one (0 < x <= 1), or an absolute size ("512MiB", "2GB", or a number of bytes above 1).
         */
        memoryHighWatermark: z
          .union([
            z.number().positive(),
            z.string().regex(/^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?$/i, 'a size such as 512MiB or 2GB'),
          ])
          .default(0.4),
        /**
         * How long a publish may wait while the memory alarm is up before it is refused (ActiveMQ's
         * sendFailIfNoSpaceAfterTimeout); 0 = it waits until memory falls, as in ActiveMQ and RabbitMQ.
         */
        memoryAlarmPublishTimeoutMs: z.number().int().min(0).default(0),
      })
      .prefault({}),
    stomp: z
      .strictObject({
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
      })
      .prefault({}),
    mqtt: z
      .strictObject({
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
      })
      .prefault({}),
    amqp: z
      .strictObject({
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
      })
      .prefault({}),
    admin: z
      .strictObject({
        enabled: z.boolean().default(true),
        host: z.string().default('0.0.0.0'),
        port: port.default(8161),
        /**
         * Groups of the broker's users that may use the admin API, the console and the CLI. With no
         * users configured (anonymous broker) the API is open, as the protocols are.
         */
        groups: z.array(z.string().min(1)).default(['admins']),
        /** Endpoints served without credentials. */
        open: z.array(z.enum(['health', 'metrics'])).default(['health', 'metrics']),
        /** Destinations with their own /metrics series (the largest by depth); the rest are summed. */
        metricsDestinations: z.number().int().min(0).default(1000),
      })
      .prefault({}),
    tls: z
      .strictObject({
        cert: z.string().optional(),
        key: z.string().optional(),
        ca: z.string().optional(),
        passphrase: z.string().optional(),
        /** Ask clients for a certificate (mutual TLS). */
        requestCert: z.boolean().default(false),
        rejectUnauthorized: z.boolean().default(true),
      })
      .prefault({}),
    security: z
      .strictObject({
        /** Default: true when no users are configured, false otherwise. */
        allowAnonymous: z.boolean().optional(),
        anonymousUser: z.string().min(1).default('anonymous'),
        anonymousGroups: z.array(z.string()).default(['anonymous']),
        users: z
          .array(
            z.strictObject({
              username: z.string().min(1),
              passwordHash: z.string().regex(/^scrypt\$/, 'must be a hash made by `junction hash-password`'),
              groups: z.array(z.string()).default([]),
            }),
          )
          .default([]),
        authorization: z
          .array(
            z
              .strictObject({
                queue: z.string().min(1).optional(),
                topic: z.string().min(1).optional(),
                read: z.array(z.string()).default([]),
                write: z.array(z.string()).default([]),
                admin: z.array(z.string()).default([]),
              })
              .refine((e) => (e.queue === undefined) !== (e.topic === undefined), 'each entry names exactly one of queue or topic'),
          )
          .default([]),
        temporaryDestinationGroups: z.array(z.string()).default([]),
      })
      .prefault({}),
    destinations: z
      .strictObject({
        autoCreate: z.boolean().default(true),
        virtualTopics: z.boolean().default(true),
        /** Queues that exist from start-up. */
        queues: z.array(z.string().min(1)).default([]),
        expirySweepMs: duration.default(5000),
        dedupMaxEntries: z.number().int().min(1).default(100_000),
        defaults: policySchema.prefault({}),
        policies: z.array(policySchema.extend({ match: destinationPattern })).default([]),
      })
      .prefault({}),
  })
  .prefault({});

export type JunctionConfig = z.output<typeof configSchema>;
