// Users and permissions changed through the admin API survive a failover: two broker processes
// on one Redis; a user and an entry are added on the active one, it is killed (-9), and on the
// broker that takes over the new user signs in (STOMP, MQTT via mosquitto_pub) and has exactly the
// rights given; a user deleted before the kill stays deleted.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/security/password.ts';
import { BrokerProcess } from '../helpers/broker-process.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { RawStomp } from '../helpers/stomp.ts';

const run = promisify(execFile);
let redis: TestRedis;
const brokers: BrokerProcess[] = [];

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  for (const b of brokers) await b.stop();
  await redis?.stop();
});

async function api(
  b: BrokerProcess,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${b.ports.admin}${path}`, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from('root:root-pw').toString('base64')}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? null : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('users and permissions across a failover', () => {
  it('keep what the API changed on the broker that takes over', async () => {
    const rootHash = await hashPassword('root-pw');
    const extra = [
      'security:',
      `  users: [{ username: root, passwordHash: "${rootHash}", groups: [admins] }, { username: old, passwordHash: "${rootHash}", groups: [apps] }]`,
      '  authorization: [{ queue: ">", read: [admins], write: [admins], admin: [admins] }, { topic: ">", read: [admins], write: [admins], admin: [admins] }]',
    ];
    const a = await BrokerProcess.start('a', redis.url, { cluster: 'users', extra });
    brokers.push(a);
    await a.waitActive();
    const b = await BrokerProcess.start('b', redis.url, { cluster: 'users', extra });
    brokers.push(b);

    const put = await api(a, 'PUT', '/api/users/fleet-u1', { password: 'u1-pw', tags: 'devices' });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(
      (await api(a, 'POST', '/api/permissions', { topic: 'devices.%u.>', read: ['devices'], write: ['devices'], admin: ['devices'] }))
        .status,
    ).toBe(200);
    expect(
      (await api(a, 'POST', '/api/permissions', { queue: 'jobs', read: ['devices'], write: ['devices'], admin: ['devices'] })).status,
    ).toBe(200);
    expect((await api(a, 'DELETE', '/api/users/old')).status).toBe(200);

    const from = b.lines.length;
    await a.kill();
    await b.waitActive(20_000, from);

    const users = await api(b, 'GET', '/api/users');
    expect((users.body as unknown as Array<{ name: string }>).map((u) => u.name).sort()).toEqual(['fleet-u1', 'root']);
    const stomp = await RawStomp.connect(b.ports.stomp, { login: 'fleet-u1', passcode: 'u1-pw' });
    stomp.send('SEND', { destination: '/queue/jobs', receipt: 'ok' }, 'job');
    expect((await stomp.expect('RECEIPT')).headers.get('receipt-id')).toBe('ok');
    stomp.send('SEND', { destination: '/queue/orders', receipt: 'no' }, 'x');
    expect((await stomp.expect('ERROR')).headers.get('message')).toMatch(/fleet-u1 is not authorized to write to queue:\/\/orders/);
    stomp.close();

    const pub = (user: string, pass: string, topic: string) =>
      run('mosquitto_pub', ['-p', String(b.ports.mqtt), '-u', user, '-P', pass, '-t', topic, '-m', 'x', '-q', '1'], { timeout: 10_000 });
    await expect(pub('fleet-u1', 'u1-pw', 'devices/fleet-u1/temp')).resolves.toBeDefined();
    await expect(pub('old', 'root-pw', 'devices/old/temp')).rejects.toMatchObject({
      stderr: expect.stringMatching(/not authori[sz]ed|bad user name or password/i),
    });
  });
});
