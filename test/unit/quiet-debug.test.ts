// The silent stand-in for `debug`: in a fresh process, after quiet-debug.ts, the libraries on the
// message path get a debug that writes nothing and says it is off; with DEBUG set they get the
// real package, which writes what its namespace logs (debugging a client session still works).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');

/** Loads quiet-debug.ts, then mqtt-packet's `debug`, in a new Node process; prints what it is and what it wrote. */
function probe(env: NodeJS.ProcessEnv): { out: string; err: string } {
  const script = `
    await import(${JSON.stringify(join(root, 'src/shared/quiet-debug.ts'))});
    const { createRequire } = await import('node:module');
    const req = createRequire(createRequire(import.meta.url).resolve('mqtt-packet'));
    const createDebug = req('debug');
    const d = createDebug('mqtt-packet:parser');
    d('parsed %s', 'a packet');
    console.log(JSON.stringify({ enabled: d.enabled, real: typeof createDebug.coerce === 'function' }));
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
    timeout: 15_000,
  });
  return { out: r.stdout.trim(), err: r.stderr };
}

describe('quiet-debug', () => {
  it('gives mqtt-packet a silent debug when DEBUG is not set', () => {
    const { out, err } = probe({});
    expect(JSON.parse(out)).toEqual({ enabled: false, real: false });
    expect(err).not.toMatch(/parsed a packet/);
  });

  it('leaves the real debug in place when DEBUG is set', () => {
    const { out, err } = probe({ DEBUG: 'mqtt-packet:*' });
    expect(JSON.parse(out)).toEqual({ enabled: true, real: true });
    expect(err).toMatch(/mqtt-packet:parser parsed a packet/);
  });
});
