// The `junction` command as a user runs it: --version, check-config, hash-password, and start
// with /health and a clean stop on SIGTERM and SIGINT.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/security/password.ts';
import { runJunction, type CliRun } from '../helpers/junction-cli.ts';

const root = join(import.meta.dirname, '../..');
const bin = join(root, 'bin/junction.js');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

function run(args: string[], input?: string, env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runJunction(args, { input, env, timeoutMs: 15_000 });
}

function writeConfig(text: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'junction-cli-')), 'junction.yaml');
  writeFileSync(f, text);
  return f;
}

/** Starts the broker and resolves with the log line that says it is running. */
function startBroker(p: ChildProcess): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('broker did not report running')), 15_000);
    const lines = createInterface({ input: p.stdout! });
    lines.on('line', (line) => {
      const rec = JSON.parse(line) as Record<string, unknown>;
      if (typeof rec.msg === 'string' && rec.msg.startsWith('broker running')) {
        clearTimeout(t);
        resolve(rec);
      }
    });
    p.on('exit', (code) => reject(new Error(`broker exited early with ${code}`)));
  });
}

const children: ChildProcess[] = [];
/** Data directories of embedded Redis servers, stopped here if a failed test left one running. */
const dataDirs: string[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const dir of dataDirs.splice(0)) {
    try {
      const pid = Number(readFileSync(join(dir, 'redis.pid'), 'utf8'));
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('redis-server')) process.kill(pid, 'SIGTERM');
    } catch {
      // not started, or already gone (a clean stop removes the pid file)
    }
  }
});

describe('junction command', () => {
  it('--version prints the package version', async () => {
    const r = await run(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('check-config accepts a valid file and names the bad key of an invalid one', async () => {
    const ok = await run(['check-config', join(root, 'config/junction.example.yaml')]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/valid \(store auto, 0 users, 0 destination policies\)/);
    const bad = await run(['check-config', writeConfig('destinations:\n  defaults:\n    overflow: spill\n')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/destinations\.defaults\.overflow: must be one of "block", "reject", "drop-oldest"/);
    const everything = await run(['check-config', writeConfig('security:\n  authorization:\n    - { topic: ">.%u", read: [devices] }\n')]);
    expect(everything.stderr).toMatch(/security\.authorization\.0\.topic: '>\.%u' '>' stands only as the whole last segment/);
    const keyFile = join(mkdtempSync(join(tmpdir(), 'junction-key-')), 'k1.key');
    writeFileSync(keyFile, `${'ab'.repeat(32)}\n`);
    const keys = (k: string): string =>
      writeConfig(`security:\n  encryption:\n    keys:\n      - { id: k2, file: ${k} }\n      - { id: k1, env: NO_SUCH_KEY }\n`);
    expect((await run(['check-config', keys(keyFile)])).stderr).toMatch(/key 'k1': environment variable NO_SUCH_KEY is not set/);
    const sealed = await run(['check-config', keys(keyFile)], undefined, { NO_SUCH_KEY: 'cd'.repeat(32) });
    expect(sealed.stdout).toMatch(/encryption at rest with key k2 of 2\)/);
    expect(sealed.stdout + sealed.stderr).not.toContain('abab');
    const withKey = writeConfig(
      'security:\n  users:\n    - { username: app, accessKeys: [{ id: AKIAAPPEXAMPLE0001, secretEnv: APP_AWS_SECRET }] }\n',
    );
    expect((await run(['check-config', withKey])).stderr).toMatch(
      /access key AKIAAPPEXAMPLE0001 of user app: environment variable APP_AWS_SECRET is empty or not set/,
    );
    const keyed = await run(['check-config', withKey], undefined, { APP_AWS_SECRET: 'wJalrXUtnFEMI' });
    expect(keyed.stdout).toMatch(/valid \(store auto, 1 user, 0 destination policies, 1 access key\)/);
    expect(keyed.stdout + keyed.stderr).not.toContain('wJalrXUtnFEMI');
  });

  it('hash-password reads standard input and prints a hash that verifies', async () => {
    const r = await run(['hash-password'], 'correct horse\n');
    expect(r.code).toBe(0);
    const hash = r.stdout.trim();
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(r.stdout).not.toMatch(/correct horse/);
    const empty = await run(['hash-password'], '');
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/empty password/);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`start runs on the embedded Redis by default, serves /health, then stops cleanly on ${signal}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'junction-data-'));
      dataDirs.push(dir);
      const config = writeConfig(
        `admin:\n  host: 127.0.0.1\n  port: 0\nlog:\n  level: info\nstore:\n  embedded:\n    dataDir: ${dir}\n` +
          'listeners: { host: 127.0.0.1, mqtt: { port: 0 }, stomp: { port: 0 }, amqp: { port: 0 }, websocket: { port: 0 } }\n',
      );
      const p = spawn(process.execPath, [bin, 'start', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(p);
      const running = await startBroker(p);
      expect(running).toMatchObject({
        role: 'active',
        store: `embedded redis-server (${dir})`,
        anonymous: true,
        adapters: ['mqtt', 'stomp', 'amqp'],
        console: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/console\/$/),
      });
      expect(running.listeners).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^mqtt\/tcp 127\.0\.0\.1:\d+$/),
          expect.stringMatching(/^stomp\/tcp 127\.0\.0\.1:\d+$/),
          expect.stringMatching(/^amqp\/tcp 127\.0\.0\.1:\d+$/),
        ]),
      );
      const redisPid = Number(readFileSync(join(dir, 'redis.pid'), 'utf8'));
      expect(existsSync(join(dir, 'appendonlydir'))).toBe(true);
      const port = Number(String(running.admin).split(':').pop());
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        status: 'ok',
        role: 'active',
        epoch: expect.any(Number),
        since: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        node: expect.stringMatching(/:\d+$/),
        stopping: false,
        store: 'available',
        memory: 'ok',
      });
      const exited = new Promise<number | null>((resolve) => p.on('exit', resolve));
      let out = '';
      p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      p.kill(signal);
      expect(await exited).toBe(0);
      expect(out).toMatch(/"msg":"embedded redis-server stopped"/);
      expect(out).toMatch(/"msg":"broker stopped"/);
      expect(existsSync(`/proc/${redisPid}`)).toBe(false);
    });
  }

  it('a signal while the broker starts stops it once it has started, its Redis too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'junction-data-'));
    dataDirs.push(dir);
    const config = writeConfig(
      `admin:\n  enabled: false\nlog:\n  level: info\nstore:\n  embedded:\n    dataDir: ${dir}\n` +
        'listeners: { host: 127.0.0.1, mqtt: { port: 0 }, stomp: { enabled: false }, amqp: { enabled: false }, websocket: { enabled: false } }\n',
    );
    const p = spawn(process.execPath, [bin, 'start', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(p);
    const exited = new Promise<number | null>((resolve) => p.on('exit', resolve));
    let out = '';
    let redisPid = 0;
    createInterface({ input: p.stdout! }).on('line', (line) => {
      out += `${line}\n`;
      const rec = JSON.parse(line) as { msg?: string; pid?: number };
      // Redis is up, the broker not yet running: the signal lands in the middle of the start.
      if (rec.msg?.startsWith('embedded redis-server started') && redisPid === 0) {
        redisPid = rec.pid ?? 0;
        p.kill('SIGTERM');
      }
    });
    expect(await exited).toBe(0);
    expect(out).toMatch(/"msg":"shutdown requested"/);
    expect(out).toMatch(/"msg":"broker stopped"/);
    expect(out).toMatch(/"msg":"embedded redis-server stopped"/);
    expect(redisPid).toBeGreaterThan(0);
    expect(existsSync(`/proc/${redisPid}`)).toBe(false);
  });

  it('npm start: Ctrl-C (SIGINT to the whole process group) reaches the broker once, and it stops cleanly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'junction-data-'));
    dataDirs.push(dir);
    const config = writeConfig(
      `admin:\n  enabled: false\nlog:\n  level: info\nstore:\n  embedded:\n    dataDir: ${dir}\n` +
        'listeners: { host: 127.0.0.1, mqtt: { port: 0 }, stomp: { enabled: false }, amqp: { enabled: false }, websocket: { enabled: false } }\n',
    );
    // As a terminal runs it: npm, its shell and the broker in one process group of their own.
    const p = spawn('npm', ['start', '--silent', '--', '--config', config], {
      cwd: root,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(p);
    let out = '';
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await startBroker(p);
    const exited = new Promise<void>((resolve) => p.on('exit', () => resolve()));
    process.kill(-p.pid!, 'SIGINT');
    await exited;
    await expect.poll(() => out, { timeout: 10_000 }).toMatch(/"msg":"embedded redis-server stopped"/);
    expect(out.match(/"msg":"shutdown requested"/g)).toHaveLength(1);
    expect(out).not.toMatch(/second signal/);
    expect(out).toMatch(/"msg":"broker stopped"/);
  });

  it('start fails with a readable message on a bad configuration', async () => {
    const r = await run(['start'], undefined, { JUNCTION_LISTENERS__MQTT__PORT: 'many' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/listeners\.mqtt\.port: /);
  });
});
