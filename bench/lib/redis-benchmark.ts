// Runs Redis's own redis-benchmark against the server a scenario used, so a store figure can be
// read next to what that server does with plain commands on this machine.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Requests per second for SET and LPUSH with `size`-byte values, 50 clients; undefined without the binary. */
export async function redisBenchmark(url: string, size: number): Promise<Record<string, number> | undefined> {
  const u = new URL(url);
  const args = [
    '-h',
    u.hostname || '127.0.0.1',
    '-p',
    u.port || '6379',
    '-c',
    '50',
    '-n',
    '200000',
    '-d',
    String(size),
    '-t',
    'set,lpush',
    '--csv',
  ];
  if (u.password) args.push('-a', decodeURIComponent(u.password), '--no-auth-warning');
  if (u.username) args.push('--user', decodeURIComponent(u.username));
  if (u.protocol === 'rediss:') args.push('--tls');
  try {
    const { stdout } = await run('redis-benchmark', args, { timeout: 120_000 });
    const out: Record<string, number> = {};
    for (const line of stdout.split('\n')) {
      const m = /^"([A-Z]+)[^"]*","([\d.]+)"/.exec(line);
      if (m) out[m[1] as string] = Math.round(Number(m[2]));
    }
    return out;
  } catch {
    return undefined;
  }
}
