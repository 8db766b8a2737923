// ActiveMQ's Java client for the OpenWire tests: test/fixtures/openwire/Probe.java compiled once
// per test process (javac, against Debian's activemq-client.jar), and run as a child process per
// scenario. A run prints JSON lines; `runProbe` collects them, `startProbe` streams them.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

/** ActiveMQ's JMS client and what it needs, from Debian's packages (the bench's driver uses them too). */
export const ACTIVEMQ_CLIENT_JARS = [
  'activemq-client.jar',
  'geronimo-jms_1.1_spec.jar',
  'geronimo-j2ee-management-1.1-spec.jar',
  'hawtbuf.jar',
  'slf4j-api.jar',
  'slf4j-nop.jar',
].map((j) => join('/usr/share/java', j));

const SOURCE = join(import.meta.dirname, '../fixtures/openwire/Probe.java');

let compiled: Promise<string> | undefined;

/** The class path of the compiled probe (compiled on first use). */
export function probeClassPath(): Promise<string> {
  compiled ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'junction-openwire-probe-'));
    await promisify(execFile)('javac', ['-d', dir, '-cp', ACTIVEMQ_CLIENT_JARS.join(':'), SOURCE], { timeout: 60_000 });
    return [dir, ...ACTIVEMQ_CLIENT_JARS].join(':');
  })();
  return compiled;
}

export interface ProbeLine {
  k: string;
  [key: string]: unknown;
}

export interface ProbeResult {
  code: number | null;
  lines: ProbeLine[];
  stderr: string;
}

/** Runs a scenario to its end; rejects when it takes longer than `timeoutMs`. */
export async function runProbe(url: string, scenario: string, args: string[] = [], timeoutMs = 30_000): Promise<ProbeResult> {
  const p = await startProbe(url, scenario, args);
  return p.finished(timeoutMs);
}

export interface RunningProbe {
  readonly child: ChildProcess;
  readonly lines: ProbeLine[];
  /** Resolves with the first line (seen or to come) that `match` accepts. */
  waitFor(match: (l: ProbeLine) => boolean, timeoutMs?: number): Promise<ProbeLine>;
  finished(timeoutMs?: number): Promise<ProbeResult>;
  /** Calls `listener` with every line from now on; returns how to stop. */
  onLine(listener: (l: ProbeLine) => void): () => void;
  /** Writes a line to the probe's stdin (the endpoint scenario reads commands there). */
  writeLine(line: string): void;
  kill(): void;
}

/** Starts a scenario; `jvmArgs` go to java before the class (system properties: a trust store). */
export async function startProbe(url: string, scenario: string, args: string[] = [], jvmArgs: string[] = []): Promise<RunningProbe> {
  const cp = await probeClassPath();
  const child = spawn('java', [...jvmArgs, '-cp', cp, 'Probe', url, scenario, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin!.on('error', () => {}); // a probe that has exited: the line is not needed
  const lines: ProbeLine[] = [];
  const waiters: Array<{ match: (l: ProbeLine) => boolean; resolve: (l: ProbeLine) => void }> = [];
  const listeners = new Set<(l: ProbeLine) => void>();
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let l: ProbeLine;
    try {
      l = JSON.parse(text) as ProbeLine;
    } catch {
      return;
    }
    lines.push(l);
    for (const listener of listeners) listener(l);
    for (const w of [...waiters]) {
      if (w.match(l)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(l);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    waitFor(match, timeoutMs = 20_000) {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () =>
            reject(new Error(`probe ${scenario}: no such line within ${timeoutMs} ms; lines: ${JSON.stringify(lines)}; stderr: ${stderr}`)),
          timeoutMs,
        );
        waiters.push({
          match,
          resolve: (l) => {
            clearTimeout(t);
            resolve(l);
          },
        });
      });
    },
    async finished(timeoutMs = 30_000) {
      let t: NodeJS.Timeout | undefined;
      const code = await Promise.race([
        exited,
        new Promise<never>((_, reject) => {
          t = setTimeout(() => {
            child.kill('SIGKILL');
            reject(
              new Error(`probe ${scenario} did not finish within ${timeoutMs} ms; lines: ${JSON.stringify(lines)}; stderr: ${stderr}`),
            );
          }, timeoutMs);
        }),
      ]);
      clearTimeout(t);
      return { code, lines, stderr };
    },
    onLine(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    writeLine(line) {
      child.stdin!.write(`${line}\n`);
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** The lines of kind `k`. */
export function linesOf(r: { lines: ProbeLine[] }, k: string): ProbeLine[] {
  return r.lines.filter((l) => l.k === k);
}
