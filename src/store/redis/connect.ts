// How the store reaches Redis: one server by URL (`redis://`, `rediss://` for TLS, credentials and
// database in the URL), a Sentinel-monitored primary (`sentinels` + `name`), or a Redis Cluster
// (`nodes`). Every key of a broker cluster shares one hash tag, so all three run the same scripts.
import { Cluster, Redis, type RedisOptions } from 'ioredis';

export interface RedisNode {
  host: string;
  port: number;
}

export interface RedisConnection {
  /** One server: `redis://[user:password@]host:port[/db]` or `rediss://` for TLS. */
  url?: string;
  /** Sentinels watching the primary named `name`; the store follows failovers they announce. */
  sentinels?: RedisNode[];
  name?: string;
  sentinelUsername?: string;
  sentinelPassword?: string;
  /** Seed nodes of a Redis Cluster. */
  nodes?: RedisNode[];
  /** Credentials and TLS for Sentinel and Cluster deployments (a URL carries its own). */
  username?: string;
  password?: string;
  tls?: boolean;
}

export type RedisClient = Redis | Cluster;

const DEFAULT_URL = 'redis://127.0.0.1:6379';

/** A client for the deployment `c` describes (not yet connected); `extra` tunes retries and the like. */
export function createRedisClient(c: RedisConnection, extra: RedisOptions = {}): RedisClient {
  const base: RedisOptions = { lazyConnect: true, maxRetriesPerRequest: 3, ...extra };
  const auth: RedisOptions = {};
  if (c.username !== undefined) auth.username = c.username;
  if (c.password !== undefined) auth.password = c.password;
  if (c.tls) auth.tls = {};
  let client: RedisClient;
  if (c.nodes && c.nodes.length > 0) {
    client = new Cluster(c.nodes, { lazyConnect: true, redisOptions: { ...base, ...auth } });
  } else if (c.sentinels && c.sentinels.length > 0) {
    const opts: RedisOptions = { ...base, ...auth, sentinels: c.sentinels, name: c.name ?? 'mymaster' };
    if (c.sentinelUsername !== undefined) opts.sentinelUsername = c.sentinelUsername;
    if (c.sentinelPassword !== undefined) opts.sentinelPassword = c.sentinelPassword;
    if (c.tls) opts.enableTLSForSentinelMode = true;
    client = new Redis(opts);
  } else {
    client = new Redis(c.url ?? DEFAULT_URL, base);
  }
  // Connection errors surface as rejected commands; the client reconnects by itself.
  client.on('error', () => {});
  return client;
}

/** The deployment in words, for logs and errors: never a password. */
export function describeConnection(c: RedisConnection): string {
  if (c.nodes && c.nodes.length > 0) return `redis cluster ${c.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
  if (c.sentinels && c.sentinels.length > 0) {
    return `redis sentinel ${c.name ?? 'mymaster'} via ${c.sentinels.map((n) => `${n.host}:${n.port}`).join(',')}`;
  }
  return `redis ${redactUrl(c.url ?? DEFAULT_URL)}`;
}

/** The URL without its password. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
