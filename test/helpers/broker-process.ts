// Junction broker processes for the active/standby tests and the failover bench: `bin/junction.js
// start` in its own process group (so a test can SIGKILL, SIGSTOP or SIGTERM it as an operator
// would), on a shared Redis, with its own fixed loopback ports, its log lines parsed and awaitable.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { createInterface } from 'node:readline';

const BIN = join(import.meta.dirname, '../../bin/junction.js');

export type LogLine = Record<string, unknown> & { msg?: string; time?: number };

export interface BrokerPorts {
  stomp: number;
  mqtt: number;
  amqp: number;
  admin: number;
  /** The AWS APIs' port; absent, the broker opens none. */
  aws?: number;
  /** The OpenWire port; absent, the broker opens none. */
  openwire?: number;
}

export interface HealthReply {
  status: number;
  body: Record<string, unknown>;
}

export class BrokerProcess {
  readonly lines: LogLine[] = [];
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  readonly exited: Promise<number | string>;
  private waiters: Array<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];

  private constructor(
    readonly name: string,
    readonly ports: BrokerPorts,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
    createInterface({ input: child.stdout! }).on('line', (text) => {
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        line = { msg: text };
      }
      this.lines.push(line);
      this.waiters = this.waiters.filter((w) => (w.match(line) ? (w.resolve(line), false) : true));
    });
    child.stderr!.resume();
  }

  /**
   * Starts a broker named `name` of `cluster` on `redisUrl`. `ports` keeps the ports of a broker
   * started before (a restart); `ha` adds keys of the `ha` section; `extra` adds configuration lines.
   */
  static async start(
    name: string,
    redisUrl: string,
    opts: { cluster?: string; ports?: BrokerPorts; ha?: string; extra?: string[] } = {},
  ): Promise<BrokerProcess> {
    const ports = opts.ports ?? {
      stomp: await fixedPort(),
      mqtt: await fixedPort(),
      amqp: await fixedPort(),
      admin: await fixedPort(),
      aws: await fixedPort(),
      openwire: await fixedPort(),
    };
    const file = join(mkdtempSync(join(tmpdir(), `junction-${name}-`)), 'junction.yaml');
    writeFileSync(
      file,
      [
        `cluster: ${opts.cluster ?? 'ha'}`,
        'log: { level: info }',
        `ha: { node: ${name}${opts.ha ? `, ${opts.ha}` : ''} }`,
        `admin: { host: 127.0.0.1, port: ${ports.admin} }`,
        `store: { type: redis, redis: { url: "${redisUrl}" } }`,
        `listeners: { host: 127.0.0.1, stomp: { port: ${ports.stomp}, tls: false }, mqtt: { port: ${ports.mqtt}, tls: false },` +
          ` amqp: { port: ${ports.amqp}, tls: false },${ports.aws !== undefined ? ` aws: { port: ${ports.aws}, tls: false },` : ''}` +
          `${ports.openwire !== undefined ? ` openwire: { port: ${ports.openwire}, tls: false },` : ''}` +
          ' websocket: { enabled: false } }',
        'mqtt: { maxQueuedMessages: 100000 }',
        'destinations: { defaults: { redeliveryDelayMs: 0 } }',
        ...(opts.extra ?? []),
      ].join('\n'),
    );
    const env = {
      ...process.env,
      JUNCTION_LISTENERS__AWS__ENABLED: String(ports.aws !== undefined),
      JUNCTION_LISTENERS__OPENWIRE__ENABLED: String(ports.openwire !== undefined),
    };
    const child = spawn(process.execPath, [BIN, 'start', '--config', file], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
    const broker = new BrokerProcess(name, ports, child);
    await broker.waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith('broker started as standby'), 20_000);
    return broker;
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** The first log line (logged so far or later) that `match` accepts; rejects after `timeoutMs`. */
  waitFor(match: (l: LogLine) => boolean, timeoutMs = 15_000, from = 0): Promise<LogLine> {
    const seen = this.lines.slice(from).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`${this.name}: no such log line within ${timeoutMs} ms; its last lines:\n${this.tail()}`)),
        timeoutMs,
      );
      const w = {
        match,
        resolve: (l: LogLine) => {
          clearTimeout(t);
          resolve(l);
        },
      };
      this.waiters.push(w);
      void this.exited.then(() => {
        if (!this.waiters.includes(w)) return;
        clearTimeout(t);
        reject(new Error(`${this.name} exited before the log line came`));
      });
    });
  }

  /** The last log lines, for a failure's message. */
  tail(n = 8): string {
    return this.lines
      .slice(-n)
      .map((l) => JSON.stringify(l))
      .join('\n');
  }

  /** Resolves with the line saying the broker serves clients (the `from`-th line on, for a later activation). */
  waitActive(timeoutMs = 15_000, from = 0): Promise<LogLine> {
    return this.waitFor((l) => l.msg === 'broker running', timeoutMs, from);
  }

  /** Resolves once the broker has stepped down to standby (fenced) after the `from`-th line. */
  waitStandby(timeoutMs = 15_000, from = 0): Promise<LogLine> {
    return this.waitFor((l) => l.msg === 'standby: waiting for the lease', timeoutMs, from);
  }

  async health(): Promise<HealthReply> {
    const res = await fetch(`http://127.0.0.1:${this.ports.admin}/health`, { signal: AbortSignal.timeout(5000) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** Sends `signal` to the broker's process group. */
  signal(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) process.kill(-this.pid, signal);
  }

  /** SIGKILLs the process group and resolves with the wall-clock ms of the kill once it is gone. */
  async kill(): Promise<number> {
    const at = Date.now();
    this.signal('SIGKILL');
    await this.exited;
    return at;
  }

  /** SIGTERM, then SIGKILL after 10 s; resolves once the process has exited. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    const t = setTimeout(() => this.signal('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(t);
  }
}

/** Whether a TCP connection to `port` on loopback is refused (no listener: a standby's client ports). */
export function portRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

/**
 * A free loopback port below the ephemeral range (32768 and up on Linux). A standby holds none of
 * its client ports, so a port from the ephemeral range could be handed to another test's
 * connection or server meanwhile, and the standby could not open its listener when it takes over.
 */
async function fixedPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
}
