// Real Redis deployments for tests, on free loopback ports with no persistence: one server, a
// server watched by a Sentinel, and a three-node Cluster. Each is stopped (SIGTERM, then a kill if
// it lingers) when the test is done.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../src/store/redis/embedded-redis.ts';
import { RedisStore } from '../../src/store/redis/redis-store.ts';

export interface TestRedis {
  port: number;
  url: string;
  stop(): Promise<void>;
  /** Ends the server with SIGKILL, as a crash would; resolves once it has exited. */
  kill(): Promise<void>;
}

/** Starts redis-server (on `configFile` when given) with `args`; resolves once it prints `readyLine`. */
async function launch(configFile: string | undefined, args: string[], readyLine: string | RegExp, fixedPort?: number): Promise<TestRedis> {
  const port = fixedPort ?? (await freePort());
  const child: ChildProcess = spawn('redis-server', [...(configFile ? [configFile] : []), '--port', String(port), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`redis-server on ${port} did not start: ${seen.slice(-500)}`)), 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
      if (typeof readyLine === 'string' ? seen.includes(readyLine) : readyLine.test(seen)) {
        clearTimeout(t);
        resolve();
      }
    });
    child.once('error', (err) => {
      clearTimeout(t);
      reject(new Error(`cannot run redis-server (apt-get install redis-server): ${err.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`redis-server exited with ${code}: ${seen.slice(-500)}`));
    });
  });
  child.stdout!.resume();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}

const EPHEMERAL = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'];

/**
 * One server; on `port` when given (to restart a server where clients expect it). With `dataDir`
 * it keeps an append-only file there, synced on every write, so a server killed and started again
 * on the same directory has everything it acknowledged.
 */
export function startRedis(port?: number, opts: { dataDir?: string } = {}): Promise<TestRedis> {
  const args = opts.dataDir
    ? ['--bind', '127.0.0.1', '--save', '', '--dir', opts.dataDir, '--appendonly', 'yes', '--appendfsync', 'always', '--daemonize', 'no']
    : EPHEMERAL;
  return launch(undefined, args, 'Ready to accept connections', port);
}

/** A replica of the server on `primaryPort`; resolves once it has synced with it. */
export async function startReplica(primaryPort: number): Promise<TestRedis> {
  // Redis 7 waits 5 s for more replicas before a diskless sync; one is all there will be.
  await promisify(execFile)('redis-cli', ['-p', String(primaryPort), 'CONFIG', 'SET', 'repl-diskless-sync-delay', '0']);
  return launch(
    undefined,
    [...EPHEMERAL, '--replicaof', '127.0.0.1', String(primaryPort)],
    /MASTER <-> REPLICA sync: (Finished with success|Master accepted a Partial Resynchronization)/,
  );
}

/**
 * A server that speaks TLS only (with `cert`) and knows the ACL user `app` with password `s3cret`;
 * `url` is its rediss:// address with those credentials.
 */
export async function startTlsRedis(cert: { certFile: string; keyFile: string }): Promise<TestRedis> {
  const tlsPort = await freePort();
  const r = await launch(
    undefined,
    [
      ...EPHEMERAL,
      '--tls-port',
      String(tlsPort),
      '--tls-cert-file',
      cert.certFile,
      '--tls-key-file',
      cert.keyFile,
      '--tls-auth-clients',
      'no',
      '--user',
      'app',
      'on',
      '>s3cret',
      '~*',
      '&*',
      '+@all',
    ],
    'Ready to accept connections',
    0,
  );
  return { ...r, port: tlsPort, url: `rediss://app:s3cret@127.0.0.1:${tlsPort}` };
}

export interface TestSentinel extends TestRedis {
  primary: TestRedis;
  name: string;
}

/** A primary and one Sentinel monitoring it under `name`. */
export async function startSentinel(name = 'junction-primary'): Promise<TestSentinel> {
  const primary = await startRedis();
  const conf = join(mkdtempSync(join(tmpdir(), 'junction-sentinel-')), 'sentinel.conf');
  writeFileSync(conf, `bind 127.0.0.1\nsentinel monitor ${name} 127.0.0.1 ${primary.port} 1\n`);
  try {
    const sentinel = await launch(conf, ['--sentinel', '--daemonize', 'no'], `+monitor master ${name}`);
    return {
      ...sentinel,
      primary,
      name,
      async stop() {
        await sentinel.stop();
        await primary.stop();
      },
    };
  } catch (err) {
    await primary.stop();
    throw err;
  }
}

export interface TestCluster {
  nodes: Array<{ host: string; port: number }>;
  stop(): Promise<void>;
}

/**
 * One cluster node with its bus on a port of its own (`--cluster-port`: the default, port + 10000,
 * may belong to another process). Another process can take a free port between the probe and
 * redis-server's bind, so a node that could not bind is started again on new ports.
 */
async function launchClusterNode(dir: string, i: number): Promise<TestRedis> {
  for (let attempt = 1; ; attempt++) {
    const args = [...EPHEMERAL, '--cluster-enabled', 'yes', '--cluster-port', String(await freePort())];
    try {
      return await launch(undefined, [...args, '--cluster-config-file', `nodes-${i}.conf`, '--dir', dir], 'Ready to accept connections');
    } catch (err) {
      if (attempt === 3 || !String(err).includes('Address already in use')) throw err;
    }
  }
}

/** Three primaries (no replicas) joined into one Redis Cluster covering every slot. */
export async function startCluster(): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'junction-cluster-'));
  const servers: TestRedis[] = [];
  try {
    for (let i = 0; i < 3; i++) servers.push(await launchClusterNode(dir, i));
    const addrs = servers.map((s) => `127.0.0.1:${s.port}`);
    await promisify(execFile)('redis-cli', ['--cluster', 'create', ...addrs, '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: 15_000,
    });
    // The nodes agree on the slot map a moment after `create` returns: wait until each says ok.
    for (const s of servers) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const { stdout } = await promisify(execFile)('redis-cli', ['-p', String(s.port), 'cluster', 'info']);
        if (stdout.includes('cluster_state:ok')) break;
        if (Date.now() > deadline) throw new Error(`cluster node ${s.port} never reached cluster_state:ok`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (err) {
    for (const s of servers) await s.stop();
    throw err;
  }
  return {
    nodes: servers.map((s) => ({ host: '127.0.0.1', port: s.port })),
    async stop() {
      for (const s of servers) await s.stop();
    },
  };
}

/**
 * A store on `url` that fails at once while Redis is away (no retries, no reconnects): for tests of
 * what clients hear when a write cannot be made.
 */
export function failFastStore(url: string, cluster: string): RedisStore {
  return new RedisStore({ url, cluster, epoch: 1, redis: { maxRetriesPerRequest: 0, retryStrategy: () => null } });
}
