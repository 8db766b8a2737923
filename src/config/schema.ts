// The configuration schema (zod): every key, its type, its default. A broker started with no
// configuration at all gets these defaults: the embedded Redis store (memory when redis-server is
// missing), anonymous access, default ports. The core's sections are here; each protocol adapter
// brings its own section and its listener's default ports (its descriptor), and buildConfigSchema
// joins them: src/protocols.ts builds the whole schema from the adapter registry.
import { z } from 'zod';
import { firehoseConfigSchema } from '../firehose/config.ts';
import { streamsConfigSchema } from '../streams/config.ts';
import { patternProblem } from '../security/acl-patterns.ts';

const port = z.number().int().min(0).max(65535);
const duration = z.number().int().min(0);

/** A protocol's listener defaults, as its adapter describes them. */
export interface ListenerDefaults {
  readonly port: number;
  readonly tlsPort: number;
  /** Whether the protocol listens unless configured otherwise (default true). */
  readonly enabled?: boolean;
}

/** What the configuration needs of a protocol adapter: its name, listener defaults and settings. */
export interface ProtocolConfigPart {
  readonly name: string;
  readonly listener: ListenerDefaults;
  readonly configSchema: z.ZodObject;
}

export const protocolListenerSchema = (d: ListenerDefaults) =>
  z
    .strictObject({
      enabled: z.boolean().default(d.enabled ?? true),
      port: port.default(d.port),
      tlsPort: port.default(d.tlsPort),
      /** Serve TLS on tlsPort (needs `tls.cert` and `tls.key`; without them only the plain port opens). */
      tls: z.boolean().default(true),
    })
    .prefault({});

export type ProtocolListenerConfig = z.output<ReturnType<typeof protocolListenerSchema>>;

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

const coreShape = {
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
      /** json: one JSON object a line; pretty: a readable line; auto: pretty on a terminal, else json. */
      format: z.enum(['auto', 'json', 'pretty']).default('auto'),
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
      /** PEM file of certificate revocation lists: a revoked client certificate is refused at the handshake. */
      crl: z.string().optional(),
      /**
       * A client certificate the CA (`ca`) verified names the user, without a password: its subject
       * CN, first DNS or URI subject alternative name, or the whole subject DN. Unset: certificates
       * name nobody.
       */
      identityFrom: z.enum(['cn', 'san-dns', 'san-uri', 'dn']).optional(),
      /**
       * Groups of a client whose certificate names nobody among `security.users` (a fleet's
       * devices); listed users keep their own. Unset or empty: such a client is refused.
       */
      identityGroups: z.array(z.string().min(1)).default([]),
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
            /** None: the user signs in only with a client certificate (tls.identityFrom). */
            passwordHash: z
              .string()
              .regex(/^scrypt\$/, 'must be a hash made by `junction hash-password`')
              .optional(),
            groups: z.array(z.string()).default([]),
            /**
             * Access keys for the AWS APIs (SigV4): the key id, and its secret from an environment
             * variable or a file, never the configuration itself. More are made at run time
             * (POST /api/users/{name}/access-keys).
             */
            accessKeys: z
              .array(
                z
                  .strictObject({
                    id: z.string().regex(/^[A-Z0-9]{16,128}$/, 'an access key id: 16 to 128 capital letters and digits'),
                    secretEnv: z.string().min(1).optional(),
                    secretFile: z.string().min(1).optional(),
                  })
                  .refine(
                    (k) => (k.secretEnv === undefined) !== (k.secretFile === undefined),
                    'give exactly one of secretEnv or secretFile',
                  ),
              )
              .default([]),
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
            .refine((e) => (e.queue === undefined) !== (e.topic === undefined), 'each entry names exactly one of queue or topic')
            .superRefine((e, ctx) => {
              const field = e.queue !== undefined ? 'queue' : 'topic';
              const name = e[field];
              const problem = name === undefined ? undefined : patternProblem(name);
              if (problem) ctx.addIssue({ code: 'custom', path: [field], message: `'${name}' ${problem}` });
            }),
        )
        .default([]),
      temporaryDestinationGroups: z.array(z.string()).default([]),
      /**
       * Password guessing, on any protocol: past `failures` failed logins from one address within
       * `windowMs`, each further attempt from it waits `stepMs` more per failure (at most
       * `maxDelayMs`) before it is answered. failures 0 = no budget.
       */
      /**
       * Encryption at rest: every key of the keyring opens stored values, the first seals new ones.
       * A key is 32 bytes: a file of them (raw, hex or base64) or an environment variable (hex or base64).
       */
      encryption: z
        .strictObject({
          keys: z
            .array(
              z
                .strictObject({
                  id: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'letters, digits and _ . : - only, at most 64'),
                  file: z.string().min(1).optional(),
                  env: z.string().min(1).optional(),
                })
                .refine((k) => (k.file === undefined) !== (k.env === undefined), 'each key names exactly one of file or env'),
            )
            .min(1, 'list one key at least (the first seals new values)')
            .refine((keys) => new Set(keys.map((k) => k.id)).size === keys.length, 'key ids must differ'),
        })
        .optional(),
      failedLogins: z
        .strictObject({
          failures: z.number().int().min(0).default(10),
          windowMs: z.number().int().min(1000).default(60_000),
          stepMs: z.number().int().min(0).default(1000),
          maxDelayMs: z.number().int().min(0).default(10_000),
        })
        .prefault({}),
    })
    .prefault({}),
  firehose: firehoseConfigSchema.prefault({}),
  streams: streamsConfigSchema.prefault({}),
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
};

const listenerShape = {
  host: z.string().default('0.0.0.0'),
  websocket: z
    .strictObject({
      enabled: z.boolean().default(true),
      port: port.default(61619),
      /** Serve wss:// instead of ws:// on the WebSocket port (needs tls.cert and tls.key). */
      tls: z.boolean().default(false),
    })
    .prefault({}),
};

type ListenerSections<P extends readonly ProtocolConfigPart[]> = {
  [D in P[number] as D['name']]: ReturnType<typeof protocolListenerSchema>;
};
type ProtocolSections<P extends readonly ProtocolConfigPart[]> = {
  [D in P[number] as D['name']]: z.ZodPrefault<D['configSchema']>;
};

/**
 * The whole schema for these protocols: the core's sections, `listeners.<name>` with each
 * protocol's default ports, and a section `<name>` with each protocol's own settings.
 */
export function buildConfigSchema<const P extends readonly ProtocolConfigPart[]>(parts: P) {
  for (const p of parts)
    if (p.name in coreShape || p.name in listenerShape) throw new Error(`protocol name "${p.name}" is a configuration section of the core`);
  const listeners = Object.fromEntries(parts.map((p) => [p.name, protocolListenerSchema(p.listener)])) as ListenerSections<P>;
  const sections = Object.fromEntries(parts.map((p) => [p.name, p.configSchema.prefault({})])) as ProtocolSections<P>;
  // Every key has a default, so {} is valid input; zod cannot see that through the mapped types.
  const empty = {} as never;
  return z
    .strictObject({
      ...coreShape,
      listeners: z.strictObject({ ...listenerShape, ...listeners }).prefault(empty),
      ...sections,
    })
    .prefault(empty);
}

/** The configuration the core, the listeners and every adapter read: what no protocol owns. */
export type CoreConfig = z.output<ReturnType<typeof buildConfigSchema<readonly []>>>;
