// The security audit trail, as an operator reads it: failed logins (STOMP, MQTT, AMQP, the admin
// port), authorization refusals and admin changes are log events saying who, what and from where,
// and counters on /metrics; an address that keeps failing is held back before it is answered.
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundPort } from '../../src/admin/admin-server.ts';
import { hashPassword } from '../../src/security/password.ts';
import type { JunctionServer } from '../../src/server.ts';
import { AmqpClient } from '../helpers/amqp.ts';
import { CapturedLog, type LogLine } from '../helpers/log.ts';
import { startAllProtocols } from '../helpers/server.ts';
import { RawStomp } from '../helpers/stomp.ts';

const PASSWORD = 'audit-pw';
const STEP_MS = 200;
let server: JunctionServer;
let admin: string;
const captured = new CapturedLog();

beforeAll(async () => {
  const passwordHash = await hashPassword(PASSWORD);
  ({ server } = await startAllProtocols(
    {
      admin: { enabled: true, host: '127.0.0.1', port: 0 },
      security: {
        users: [
          { username: 'admin', passwordHash, groups: ['admins'] },
          { username: 'app', passwordHash, groups: ['apps'] },
        ],
        authorization: [{ queue: 'orders.>', read: ['apps'], write: ['apps'], admin: ['apps', 'admins'] }],
        failedLogins: { failures: 3, windowMs: 60_000, stepMs: STEP_MS, maxDelayMs: 2000 },
      },
    },
    undefined,
    captured.log,
  ));
  admin = `http://127.0.0.1:${boundPort(server.admin!)}`;
});

afterAll(async () => {
  await server?.stop();
});

const port = (protocol: string): number => server.listeners.port(protocol, 'tcp') as number;
const audit = (kind: string) => (l: LogLine) => l.audit === kind;

async function metric(name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${admin}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `) || (labels === '' && l.startsWith(`${name} `)));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function stompLogin(passcode: string): Promise<string> {
  const s = await RawStomp.open(port('stomp'));
  s.send('CONNECT', { 'accept-version': '1.2', host: 'localhost', login: 'app', passcode });
  const f = await s.next();
  s.socket.destroy();
  return f.command;
}

describe('the security audit trail', () => {
  it('logs and counts failed logins with the protocol and address, over STOMP, MQTT, AMQP and the admin port', async () => {
    expect(await stompLogin('wrong')).toBe('ERROR');
    const mqttClient = mqtt.connect(`mqtt://127.0.0.1:${port('mqtt')}`, { username: 'ghost', password: 'x', reconnectPeriod: 0 });
    await new Promise<void>((resolve) => mqttClient.once('error', () => resolve()));
    mqttClient.end(true);
    await expect(AmqpClient.connect(port('amqp'), { username: 'app', password: 'wrong' })).rejects.toThrow();
    expect(
      (await fetch(`${admin}/api/queues`, { headers: { authorization: `Basic ${Buffer.from('admin:nope').toString('base64')}` } })).status,
    ).toBe(401);

    for (const protocol of ['stomp', 'mqtt', 'amqp', 'admin']) {
      const line = await captured.waitFor((l) => l.audit === 'login-failed' && l.protocol === protocol);
      expect(line).toMatchObject({ msg: 'login failed', reason: 'Bad username or password', from: expect.stringMatching(/127\.0\.0\.1/) });
      expect(await metric('junction_login_failures_total', `{protocol="${protocol}"}`)).toBeGreaterThanOrEqual(1);
    }
    expect(captured.lines.filter(audit('login-failed')).some((l) => l.user === 'ghost')).toBe(true);
    expect(JSON.stringify(captured.lines)).not.toContain('wrong');
  });

  it('holds back an address that spent its failure budget, even a right password, and says so', async () => {
    // The first test spent most of 127.0.0.1's budget of 3; one more failure spends it.
    await stompLogin('wrong again');
    const before = await metric('junction_logins_throttled_total');
    const t0 = performance.now();
    expect(await stompLogin(PASSWORD)).toBe('CONNECTED');
    // A deliberate hold, not a speed: it is at least one step (less a timer's millisecond of rounding).
    expect(performance.now() - t0).toBeGreaterThanOrEqual(STEP_MS - 2);
    expect(await metric('junction_logins_throttled_total')).toBe(before + 1);
    const held = await captured.waitFor((l) => l.audit === 'login-throttled' && l.protocol === 'stomp');
    expect(held).toMatchObject({
      msg: 'login held back: too many failures from this address',
      from: expect.stringMatching(/127\.0\.0\.1$/),
    });
  });

  it('logs and counts an authorization refusal with the user, the permission, the destination and the address', async () => {
    const s = await RawStomp.connect(port('stomp'), { login: 'app', passcode: PASSWORD });
    s.send('SEND', { destination: '/queue/payroll', receipt: 'r' }, 'x');
    expect((await s.expect('ERROR')).headers.get('message')).toMatch(/not authorized to write to queue:\/\/payroll/);
    s.socket.destroy();
    expect(await captured.waitFor(audit('refused'))).toMatchObject({
      msg: 'authorization refused',
      user: 'app',
      permission: 'write',
      destination: 'queue://payroll',
      from: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
    });
    expect(await metric('junction_authorization_refusals_total', '{permission="write"}')).toBeGreaterThanOrEqual(1);
  });

  it('logs and counts every admin change with the admin and the address', async () => {
    const auth = { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`, 'content-type': 'application/json' };
    expect(
      (await fetch(`${admin}/api/queues`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'orders.audit' }) })).status,
    ).toBe(200);
    expect(await captured.waitFor(audit('admin-change'))).toMatchObject({
      msg: 'admin change',
      admin: 'admin',
      from: '127.0.0.1',
      action: expect.any(String),
      request: { name: 'orders.audit' },
    });
    expect(await metric('junction_admin_changes_total')).toBe(1);
  });
});
