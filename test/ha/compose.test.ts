// docker-compose.yml and the Dockerfile without a Docker engine: the image's build (npm run build)
// and its command run here, outside Docker, with each compose service's environment pointed at a
// test Redis. The first broker serves, the second stands by, and the compose health check passes
// for both (200 for the active, 503 with role "standby" for the other).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { freePort } from '../../src/store/redis/embedded-redis.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';

const root = join(import.meta.dirname, '../..');
const run = promisify(execFile);

interface Service {
  build?: string;
  environment: Record<string, string>;
  healthcheck: { test: string[] };
  ports: string[];
}

let redis: TestRedis;
const children: ChildProcess[] = [];

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) process.kill(-c.pid!, 'SIGKILL');
  await redis?.stop();
});

describe('docker-compose.yml and the Dockerfile, run outside Docker', () => {
  it('builds the image the Dockerfile describes; its command runs the pair the compose file describes', async () => {
    const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
    const brokers = ['junction-a', 'junction-b'].map((name) => compose.services[name] as Service);
    for (const s of brokers) {
      expect(s.build).toBe('.');
      expect(s.environment.REDIS_URL).toBe('redis://redis:6379');
      expect(s.ports).toContain(`${s.ports[s.ports.length - 1]!.split(':')[0]}:8161`);
    }
    expect(compose.services.redis?.environment ?? {}).toEqual({});

    // The Dockerfile's build stage, then its command in WORKDIR /app (here: a scratch directory).
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^RUN npm run build$/m);
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    expect(cmd[0]).toBe('node');
    const app = mkdtempSync(join(tmpdir(), 'junction-image-'));
    await run(process.execPath, [join(root, 'scripts/build.js'), join(app, 'dist')], { timeout: 120_000 });
    symlinkSync(join(root, 'node_modules'), join(app, 'node_modules'));
    cpSync(join(root, 'config'), join(app, 'config'), { recursive: true });

    const health = async (port: number) => {
      const r = await fetch(`http://127.0.0.1:${port}/health`);
      return { code: r.status, ...((await r.json()) as { role: string; node: string; holder?: { node: string } }) };
    };
    const admins: number[] = [];
    const lines: string[][] = [];
    for (const s of brokers) {
      const admin = await freePort();
      admins.push(admin);
      const env = {
        PATH: process.env.PATH,
        ...s.environment,
        REDIS_URL: s.environment.REDIS_URL!.replace('redis://redis:6379', redis.url),
        // Free loopback ports instead of the published ones, which this machine may be using.
        JUNCTION_LISTENERS__HOST: '127.0.0.1',
        JUNCTION_LISTENERS__MQTT__PORT: String(await freePort()),
        JUNCTION_LISTENERS__AMQP__PORT: String(await freePort()),
        JUNCTION_LISTENERS__STOMP__PORT: String(await freePort()),
        JUNCTION_LISTENERS__WEBSOCKET__PORT: String(await freePort()),
        JUNCTION_LISTENERS__AWS__PORT: String(await freePort()),
        JUNCTION_LISTENERS__OPENWIRE__PORT: String(await freePort()),
        JUNCTION_LISTENERS__OPENWIRE__TLS_PORT: String(await freePort()),
        JUNCTION_ADMIN__HOST: '127.0.0.1',
        JUNCTION_ADMIN__PORT: String(admin),
      };
      const child = spawn(cmd[0]!.replace(/^node$/, process.execPath), cmd.slice(1), {
        cwd: app,
        env,
        detached: true,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      const mine: string[] = [];
      lines.push(mine);
      createInterface({ input: child.stdout! }).on('line', (l) => mine.push(l));
      // junction-a first: it takes the lease, junction-b then finds it held.
      if (admins.length === 1) {
        await expect
          .poll(() => health(admin).catch(() => undefined), { timeout: 20_000 })
          .toMatchObject({ code: 200, role: 'active', node: 'junction-a' });
      }
    }
    await expect
      .poll(() => health(admins[0]!).catch(() => undefined), { timeout: 20_000 })
      .toMatchObject({ code: 200, role: 'active', node: 'junction-a' });
    await expect
      .poll(() => health(admins[1]!).catch(() => undefined), { timeout: 20_000 })
      .toMatchObject({ code: 503, role: 'standby', node: 'junction-b', holder: { node: 'junction-a' } });
    expect(lines[0]!.some((l) => l.includes('"msg":"broker running"'))).toBe(true);

    // The compose health check, aimed at each broker's admin port.
    const check = brokers[0]!.healthcheck.test;
    expect(check.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    for (const port of admins) {
      await expect(
        run(process.execPath, ['-e', check[3]!.replace('127.0.0.1:8161', `127.0.0.1:${port}`)], { timeout: 10_000 }),
      ).resolves.toBeDefined();
    }

    for (const c of children) process.kill(-c.pid!, 'SIGTERM');
    const codes = await Promise.all(
      children.map((c) => new Promise((resolve) => (c.exitCode !== null ? resolve(c.exitCode) : c.once('exit', resolve)))),
    );
    expect(codes).toEqual([0, 0]);
  }, 90_000);
});
