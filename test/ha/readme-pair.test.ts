// The README's active/standby pair without Docker, run as written: its redis-server line and its
// two `npx junction start` lines, with the ports it names swapped for free ones (and the first
// broker's defaults moved off the ports this machine may use). The first serves, the second stands
// by; when the first is stopped (Ctrl-C), the second takes over.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/store/redis/embedded-redis.ts';

const root = join(import.meta.dirname, '../..');
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) process.kill(-c.pid!, 'SIGKILL');
});

function pairBlock(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const at = readme.indexOf('A pair on one machine, without Docker');
  if (at < 0) throw new Error('README.md has no "A pair on one machine, without Docker"');
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  return (block?.[1] ?? '').trim().split('\n');
}

function run(line: string, env: Record<string, string>): ChildProcess {
  // In a process group of its own, as in a terminal (the test signals the group, as Ctrl-C does).
  const child = spawn('bash', ['-c', line.replace(/\s*&$/, '')], {
    cwd: root,
    env: { ...process.env, ...env },
    detached: true,
    stdio: 'ignore',
  });
  children.push(child);
  return child;
}

async function health(port: number): Promise<{ code: number; role?: string }> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/health`);
    return { code: r.status, ...((await r.json()) as { role: string }) };
  } catch {
    return { code: 0 };
  }
}

/** Whether any process of the group `c` leads is still running. */
function groupAlive(c: ChildProcess): boolean {
  try {
    process.kill(-c.pid!, 0);
    return true;
  } catch {
    return false;
  }
}

/** Ctrl-C in the terminal the line runs in: SIGINT to its process group, which then ends. */
async function interrupt(c: ChildProcess): Promise<void> {
  process.kill(-c.pid!, 'SIGINT');
  await expect.poll(() => groupAlive(c), { timeout: 20_000, interval: 50 }).toBe(false);
}

describe("the README's pair without Docker", () => {
  it('runs one Redis and two brokers: the first serves, the second stands by, then takes over', async () => {
    const lines = pairBlock();
    expect(lines).toHaveLength(3);
    const [redisLine, aLine, bLine] = lines as [string, string, string];
    const redisPort = await freePort();
    const ports = new Map<string, number>();
    for (const p of ['6379', '8162', '1884', '5673', '61623', '61629', '4576']) ports.set(p, p === '6379' ? redisPort : await freePort());
    const swap = (line: string): string => line.replace(/\b(6379|8162|1884|5673|61623|61629|4576)\b/g, (p) => String(ports.get(p)));

    const redis = run(swap(redisLine).replace('--dir /tmp', `--dir ${mkdtempSync(join(tmpdir(), 'junction-pair-'))}`), {});
    const aAdmin = await freePort();
    const common = { JUNCTION_LISTENERS__HOST: '127.0.0.1', JUNCTION_ADMIN__HOST: '127.0.0.1', JUNCTION_LOG__LEVEL: 'warn' };
    const aDefaultsMoved = {
      JUNCTION_ADMIN__PORT: String(aAdmin),
      JUNCTION_LISTENERS__MQTT__PORT: String(await freePort()),
      JUNCTION_LISTENERS__AMQP__PORT: String(await freePort()),
      JUNCTION_LISTENERS__STOMP__PORT: String(await freePort()),
      JUNCTION_LISTENERS__WEBSOCKET__PORT: String(await freePort()),
    };
    const a = run(swap(aLine), { ...common, ...aDefaultsMoved });
    await expect.poll(() => health(aAdmin), { timeout: 30_000, interval: 100 }).toMatchObject({ code: 200, role: 'active' });
    const b = run(swap(bLine), common);
    const bAdmin = ports.get('8162') as number;
    await expect.poll(() => health(bAdmin), { timeout: 30_000, interval: 100 }).toMatchObject({ code: 503, role: 'standby' });

    await interrupt(a);
    await expect.poll(() => health(bAdmin), { timeout: 30_000, interval: 100 }).toMatchObject({ code: 200, role: 'active' });
    await interrupt(b);
    await interrupt(redis);
  }, 120_000);
});
