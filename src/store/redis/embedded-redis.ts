// The embedded default: a redis-server child process the broker manages, so `npm start` with no
// Redis configured is still durable. Data lives under `dataDir` as an append-only file fsynced
// every second; the server listens on loopback only, on a free port, with a random password made
// at each start. A server left behind by a killed broker (found by its pid file, orphaned) is shut
// down cleanly before a new one starts on the same data; one whose broker still runs is left alone
// and the start fails, since two brokers must never share the data.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { StoreUnavailableError } from '../../shared/errors.ts';

export interface EmbeddedRedisOptions {
  dataDir: string;
  binary: string;
  log: Logger;
  /** How long loading a large append-only file may take before start gives up. */
  startTimeoutMs?: number;
}

const STOP_TIMEOUT_MS = 10_000;

export class EmbeddedRedis {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    readonly dataDir: string,
    private readonly log: Logger,
  ) {}

  /** Whether `binary` runs here. */
  static available(binary: string): Promise<boolean> {
    return new Promise((done) => {
      const p = spawn(binary, ['--version'], { stdio: 'ignore' });
      p.once('error', () => done(false));
      p.once('exit', (code) => done(code === 0));
    });
  }

  static async start(o: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
    const dataDir = resolve(o.dataDir);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const pidFile = resolve(dataDir, 'redis.pid');
    await stopLeftover(pidFile, o.log);
    const port = await freePort();
    const password = randomBytes(24).toString('hex');
    const child = spawn(
      o.binary,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--protected-mode',
        'yes',
        '--requirepass',
        password,
        '--dir',
        dataDir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--save',
        '',
        '--pidfile',
        pidFile,
        '--daemonize',
        'no',
        '--logfile',
        '',
      ],
      // Its own process group: a Ctrl-C in the terminal reaches the broker only, which stops Redis
      // after its last writes.
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    const url = `redis://:${password}@127.0.0.1:${port}`;
    const server = new EmbeddedRedis(child, url, dataDir, o.log);
    const timeoutMs = o.startTimeoutMs ?? 60_000;
    const recent: string[] = [];
    await new Promise<void>((ready, fail) => {
      const t = setTimeout(
        () =>
          fail(new StoreUnavailableError(`embedded redis-server did not start within ${timeoutMs} ms: ${recent.join(' | ')}`, undefined)),
        timeoutMs,
      );
      const onLine = (d: Buffer): void => {
        for (const line of d.toString().split('\n')) {
          if (!line.trim()) continue;
          recent.push(line.trim());
          if (recent.length > 5) recent.shift();
          if (line.includes('Ready to accept connections')) {
            clearTimeout(t);
            ready();
          } else if (/ # /.test(line) && !server.stopping && !ORDINARY.test(line)) {
            o.log.warn({ redis: line.trim() }, 'embedded redis-server warning');
          }
        }
      };
      child.stdout!.on('data', onLine);
      child.stderr!.on('data', onLine);
      child.once('error', (err) => {
        clearTimeout(t);
        fail(new StoreUnavailableError(`cannot run ${o.binary}: ${err.message}`, err));
      });
      child.once('exit', (code) => {
        clearTimeout(t);
        fail(new StoreUnavailableError(`embedded redis-server exited with code ${code}: ${recent.join(' | ')}`, undefined));
      });
    }).catch(async (err: unknown) => {
      await server.stop();
      throw err;
    });
    child.removeAllListeners('exit');
    child.once('exit', (code, signal) => {
      if (!server.stopping) o.log.error({ code, signal }, 'embedded redis-server exited unexpectedly');
    });
    // A broker that dies of an uncaught error still ends its Redis (SIGTERM: Redis syncs the file).
    process.once('exit', server.onProcessExit);
    o.log.info({ dataDir, port, pid: child.pid }, 'embedded redis-server started (append-only file, fsync every second)');
    return server;
  }

  stopping = false;

  private readonly onProcessExit = (): void => {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
  };

  /** Shuts the server down (it writes out its append-only file first). */
  async stop(): Promise<void> {
    this.stopping = true;
    process.removeListener('exit', this.onProcessExit);
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(t);
    this.log.info({ dataDir: this.dataDir }, 'embedded redis-server stopped');
  }
}

/**
 * Start-up lines Redis logs at its warning level (#) though nothing is wrong; the rest at that
 * level (memory overcommit, a file it cannot read...) are the operator's business.
 */
const ORDINARY = / # (oO0OoO0OoO0Oo Redis is starting|Redis version=|Configuration loaded|Server initialized|Ready to accept)/;

/** A redis-server still running on this data (its broker was killed) is asked to shut down. */
async function stopLeftover(pidFile: string, log: Logger): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isRedis(pid)) return;
  const parent = parentOf(pid);
  if (parent !== undefined && parent !== 1 && commandOf(parent).includes('node')) {
    throw new StoreUnavailableError(
      `${pidFile}: redis-server ${pid} of another running broker (pid ${parent}) uses this data directory. ` +
        'For an active/standby pair, give both brokers one Redis (REDIS_URL; README.md, Active/standby); ' +
        'for an unrelated broker, another store.embedded.dataDir',
      undefined,
    );
  }
  log.warn({ pid, pidFile }, 'a redis-server from an earlier run still holds the data: shutting it down');
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (isRedis(pid)) {
    if (Date.now() > deadline) throw new StoreUnavailableError(`redis-server ${pid} (from ${pidFile}) did not stop`, undefined);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

function isRedis(pid: number): boolean {
  return commandOf(pid).includes('redis-server');
}

function parentOf(pid: number): number | undefined {
  try {
    // Field 4 of /proc/PID/stat, after the parenthesised command name.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** A loopback port free at the moment of asking. */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
