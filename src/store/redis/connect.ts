// How the store reaches Redis: one server by URL (`redis://`, `rediss://` for TLS, credentials and
// database in the URL), a Sentinel-monitored primary (`sentinels` + `name`), or a Redis Cluster
// (`nodes`). Every key of a broker cluster shares one hash tag, so all three run the same scripts.
import { readFileSync } from 'node:fs';
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
  /** A PEM file of the CA that signed the servers' certificates (default: the system's CAs). */
  caFile?: string;
}

export type RedisClient = Redis | Cluster;

const DEFAULT_URL = 'redis://127.0.0.1:6379';

/** A client for the deployment `c` describes (not yet connected); `extra` tunes retries and the like. */
export function createRedisClient(c: RedisConnection, extra: RedisOptions = {}): RedisClient {
  const base: RedisOptions = { lazyConnect: true, maxRetriesPerRequest: 3, ...extra };
  const auth: RedisOptions = {};
  if (c.username !== undefined) auth.username = c.username;
  if (c.password !== undefined) auth.password = c.password;
  if (c.tls || c.caFile !== undefined || c.url?.startsWith('rediss:')) {
    auth.tls = c.caFile === undefined ? {} : { ca: readFileSync(c.caFile) };
  }
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
    client = new Redis(c.url ?? DEFAULT_URL, { ...base, ...(auth.tls ? { tls: auth.tls } : {}) });
  }
  // Connection errors surface as rejected commands (the client reconnects by itself); the last one
  // is kept, since a command only says "Connection is closed" when the cause was, say, a certificate.
  client.on('error', (err: Error) => lastErrors.set(client, err));
  client.on('ready', () => lastErrors.delete(client));
  return client;
}

const lastErrors = new WeakMap<RedisClient, Error>();

/** Why `client` last failed to connect, if it has not connected since. */
export function lastConnectionError(client: RedisClient): Error | undefined {
  return lastErrors.get(client);
}

/** An error's message, with the connection's own failure when the error only says it was closed. */
export function explain(client: RedisClient, err: Error): string {
  const cause = lastConnectionError(client);
  return cause && cause.message !== err.message ? `${err.message} (${cause.message})` : err.message;
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
