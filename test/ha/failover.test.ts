// Active/standby with real processes: two brokers on one redis-server, each on its own ports. A
// broker started beside an active one stays standby; for STOMP (receipts), MQTT (QoS 1) and AMQP
// (unsettled sends) a producer and a consumer that know both brokers keep going while the active
// is SIGKILLed mid-stream, and every acknowledged message arrives; a SIGTERM hands over at once.
import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess, portRefused as refused } from '../helpers/broker-process.ts';
import {
  amqpDriver,
  mqttDriver,
  runFailoverStream,
  stompDriver,
  type ConsumerConn,
  type FailoverDriver,
} from '../helpers/failover-clients.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';

let redis: TestRedis;
/** The pair: [active, standby] once the first test has run. */
let pair: BrokerProcess[] = [];

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await Promise.all(pair.map((b) => b.stop()));
  await redis?.stop();
});

type Port = 'stomp' | 'mqtt' | 'amqp';

/**
 * A stream waits up to 60 s for its last messages (runFailoverStream's deadline). On a heavily
 * loaded machine a stream plus the broker's restart has run past vitest's 20 s default, with
 * every message delivered; the test gets the stream's own deadline instead.
 */
const STREAM_TIMEOUT_MS = 75_000;

/** Runs `junction status` against an admin port; resolves with its exit code and output. */
async function status(adminPort: number): Promise<{ code: number; out: string }> {
  const bin = join(import.meta.dirname, '../../bin/junction.js');
  try {
    const r = await promisify(execFile)(process.execPath, [bin, 'status', '--url', `http://127.0.0.1:${adminPort}`], { timeout: 15_000 });
    return { code: 0, out: r.stdout };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, out: e.stderr };
  }
}

/** Runs a stream through the pair, `stopActive` ending the active one midway; the pair swaps roles. */
async function failover(driver: FailoverDriver, port: Port, stopActive: (b: BrokerProcess) => Promise<number>) {
  const [active, standby] = pair as [BrokerProcess, BrokerProcess];
  let takeoverMs = -1;
  const result = await runFailoverStream(driver, [active.ports[port], standby.ports[port]], {
    count: 300,
    at: 100,
    prefix: `${driver.protocol}-${Date.now()}`,
    midway: async () => {
      const from = standby.lines.length;
      const at = await stopActive(active);
      takeoverMs = Number((await standby.waitActive(15_000, from)).time) - at;
    },
  });
  // The stopped broker comes back as the standby.
  pair = [standby, await BrokerProcess.start(active.name, redis.url, { ports: active.ports })];
  return { ...result, takeoverMs };
}

describe('an active/standby pair on one Redis', () => {
  it('a broker started beside an active one stays standby, takes no epoch, opens no listener', async () => {
    const a = await BrokerProcess.start('a', redis.url);
    pair.push(a);
    await a.waitActive();
    const epoch = (await a.health()).body.epoch;
    const b = await BrokerProcess.start('b', redis.url);
    pair.push(b);
    await expect.poll(async () => (await b.health()).body.holder, { timeout: 5000 }).toMatchObject({ node: 'a', epoch });
    expect(await b.health()).toMatchObject({ status: 503, body: { role: 'standby', status: 'unavailable' } });
    expect(await a.health()).toMatchObject({ status: 200, body: { role: 'active', epoch, node: 'a' } });
    expect(await refused(b.ports.stomp)).toBe(true);
    expect(await refused(b.ports.mqtt)).toBe(true);
    expect(await refused(a.ports.stomp)).toBe(false);

    const ofA = await status(a.ports.admin);
    expect(ofA.code).toBe(0);
    expect(ofA.out).toMatch(/^role +active$/m);
    expect(ofA.out).toMatch(new RegExp(`^epoch +${String(epoch)}$`, 'm'));
    expect(ofA.out).toMatch(/^lease holder +a \(this broker\)$/m);
    const ofB = await status(b.ports.admin);
    expect(ofB.out).toMatch(/^role +standby$/m);
    expect(ofB.out).toMatch(new RegExp(`^lease holder +a \\(epoch ${String(epoch)} since .*admin [^,]+:${a.ports.admin}\\)$`, 'm'));
    // The admin API's working state is the active broker's: a standby sends callers there.
    const api = await fetch(`http://127.0.0.1:${b.ports.admin}/api/queues`);
    expect(api.status).toBe(503);
    expect(await api.json()).toMatchObject({ error: 'standby' });
    const nobody = await status(b.ports.stomp);
    expect(nobody.code).toBe(1);
    expect(nobody.out).toMatch(/cannot reach the broker's admin port at http:\/\/127\.0\.0\.1:\d+/);
  });

  const drivers: Array<[Port, FailoverDriver]> = [
    ['stomp', stompDriver('/queue/ha.stomp')],
    ['mqtt', mqttDriver('ha/mqtt', 'ha-consumer')],
    ['amqp', amqpDriver('queue://ha.amqp')],
  ];
  for (const [port, driver] of drivers) {
    it(
      `${port}: the active SIGKILLed mid-stream, the standby serves and no acknowledged message is lost`,
      async () => {
        const r = await failover(driver, port, (b) => b.kill());
        console.info(
          `${port} kill -9: takeover ${r.takeoverMs} ms, ${r.acknowledged} acknowledged, ${r.duplicates} duplicates, ${r.resent} re-sent`,
        );
        expect(r.acknowledged).toBe(300);
        expect(r.lost).toEqual([]);
        expect(r.takeoverMs).toBeGreaterThan(0);
        const [active, standby] = pair as [BrokerProcess, BrokerProcess];
        expect((await active.health()).body).toMatchObject({ role: 'active' });
        await expect.poll(async () => (await standby.health()).body.holder, { timeout: 5000 }).toMatchObject({ node: active.name });
      },
      STREAM_TIMEOUT_MS,
    );
  }

  /** A consumer in a Python process that knows both brokers itself: one process for the whole stream. */
  const pythonConsumer =
    (script: string, args: string[]) =>
    async (_port: number, onBody: (body: string) => void): Promise<ConsumerConn> => {
      const child = spawn('/usr/bin/python3', [join(import.meta.dirname, '../fixtures', script), ...args], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${script} did not start`)), 15_000);
        createInterface({ input: child.stdout! }).on('line', (line) => {
          if (line === 'ready') {
            clearTimeout(t);
            resolve();
          } else if (line !== 'reconnected') onBody(line);
        });
      });
      return { lost: exited, close: () => child.stdin!.end() };
    };

  const pythonCases: Array<[string, Port, () => FailoverDriver]> = [
    [
      'stomp.py, failing over through its own host list',
      'stomp',
      () => ({
        ...stompDriver('/queue/ha.py'),
        consumer: pythonConsumer('stomp_py_failover_consumer.py', [String(pair[0]!.ports.stomp), String(pair[1]!.ports.stomp), 'ha.py']),
      }),
    ],
    [
      'paho-mqtt, with a persistent session, trying both brokers',
      'mqtt',
      () => ({
        ...mqttDriver('ha/paho', 'unused'),
        consumer: pythonConsumer('paho_failover_consumer.py', [
          String(pair[0]!.ports.mqtt),
          String(pair[1]!.ports.mqtt),
          'ha/paho',
          'paho-ha',
        ]),
      }),
    ],
    [
      "qpid-proton, through proton's own reconnect list",
      'amqp',
      () => ({
        ...amqpDriver('queue://ha.proton'),
        consumer: pythonConsumer('proton_failover_consumer.py', [String(pair[0]!.ports.amqp), String(pair[1]!.ports.amqp), 'ha.proton']),
      }),
    ],
  ];
  for (const [name, port, driver] of pythonCases) {
    it(
      `${name}: a consumer receives every acknowledged message across a SIGKILL`,
      async () => {
        const r = await failover(driver(), port, (b) => b.kill());
        console.info(`${name} kill -9: takeover ${r.takeoverMs} ms, ${r.acknowledged} acknowledged, ${r.duplicates} duplicates`);
        expect(r.acknowledged).toBe(300);
        expect(r.lost).toEqual([]);
      },
      STREAM_TIMEOUT_MS,
    );
  }

  it('SIGTERM hands the lease over: the standby serves, nothing acknowledged is lost, the old active exits 0', async () => {
    let exited: Promise<number | string> | undefined;
    const r = await failover(stompDriver('/queue/ha.term'), 'stomp', async (b) => {
      const at = Date.now();
      exited = b.exited;
      b.signal('SIGTERM');
      return at;
    });
    console.info(`stomp SIGTERM: takeover ${r.takeoverMs} ms, ${r.duplicates} duplicates`);
    expect(await exited).toBe(0);
    expect(r.lost).toEqual([]);
    expect(r.acknowledged).toBe(300);
  });
});
