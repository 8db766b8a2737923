// Users, groups, access keys and permissions through the admin API, with real clients on the
// other side: a user made at run time signs in at once; taking a right away ends the consumers
// that relied on it in each protocol's own way (STOMP ERROR, MQTT 5 DISCONNECT 0x87, AMQP detach
// with unauthorized-access) while what is still allowed keeps working; a deleted user's
// connections close, and anonymous ones once a first user exists; a bad entry is a 400 saying why; no password, hash or secret is answered or
// logged.
import mqtt from 'mqtt';
import type { EventContext } from 'rhea';
import { afterEach, describe, expect, it } from 'vitest';
import { AmqpClient } from '../helpers/amqp.ts';
import { boundPort } from '../../src/admin/admin-server.ts';
import { hashPassword } from '../../src/security/password.ts';
import { PASSWORD, startAdminBroker, type AdminBroker } from '../helpers/admin.ts';
import { CapturedLog } from '../helpers/log.ts';
import { startAllProtocols } from '../helpers/server.ts';
import { RawStomp } from '../helpers/stomp.ts';

let b: AdminBroker | undefined;
const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  await b?.stop();
  b = undefined;
});

const ENTRIES = [
  { queue: '>', read: ['admins'], write: ['admins'], admin: ['admins'] },
  { topic: '>', read: ['admins'], write: ['admins'], admin: ['admins'] },
  { queue: 'orders', read: ['apps'], write: ['apps'], admin: ['apps'] },
  { topic: 'sensors.>', read: ['apps'], write: ['apps'], admin: ['apps'] },
];

async function start(log?: CapturedLog): Promise<AdminBroker> {
  const passwordHash = await hashPassword(PASSWORD);
  b = await startAdminBroker(
    {
      security: {
        users: [
          { username: 'admin', passwordHash, groups: ['admins'] },
          { username: 'app', passwordHash, groups: ['apps'] },
        ],
        authorization: ENTRIES,
      },
    },
    log?.log,
  );
  return b;
}

const port = (protocol: string): number => (b as AdminBroker).server.listeners.port(protocol, 'tcp') as number;

describe('users at run time', () => {
  it('a user made through the API signs in at once, with its groups; its hash is never answered', async () => {
    const log = new CapturedLog();
    await start(log);
    const made = await b!.call('PUT', '/api/users/ann', { password: 'ann-pw', tags: 'apps' });
    expect(made).toMatchObject({ status: 200, body: { name: 'ann', groups: ['apps'], password: true, created: true } });
    const stomp = await RawStomp.connect(port('stomp'), { login: 'ann', passcode: 'ann-pw' });
    closers.push(() => stomp.close());
    stomp.send('SEND', { destination: '/queue/orders', receipt: 'r' }, 'x');
    await stomp.expect('RECEIPT');

    const users = (await b!.call('GET', '/api/users')).body as Array<Record<string, unknown>>;
    expect(users.map((u) => u.name)).toEqual(['admin', 'app', 'ann']);
    expect(JSON.stringify(users)).not.toMatch(/scrypt|ann-pw/);
    expect((await b!.call('GET', '/api/groups')).body).toEqual([
      { name: 'admins', members: ['admin'] },
      { name: 'apps', members: ['app', 'ann'] },
    ]);
    const change = log.lines.find((l) => l.msg === 'admin change' && (l as { action?: string }).action === 'put user');
    expect(change).toMatchObject({ admin: 'admin', target: 'ann', request: { password: '***', tags: 'apps' } });
    expect(JSON.stringify(log.lines)).not.toContain('ann-pw');

    // A password changed: the old one no longer signs in.
    expect((await b!.call('PUT', '/api/users/ann', { password: 'new-pw' })).body).toMatchObject({ created: false, groups: ['apps'] });
    await expect(RawStomp.connect(port('stomp'), { login: 'ann', passcode: 'ann-pw' })).rejects.toThrow(/Bad username or password/);
  });

  it('taking a right away ends the consumers that relied on it, over STOMP, MQTT 5 and AMQP; the rest keeps working', async () => {
    await start();
    await b!.call('PUT', '/api/users/ann', { password: 'ann-pw', groups: ['apps'] });

    const stomp = await RawStomp.connect(port('stomp'), { login: 'ann', passcode: 'ann-pw' });
    closers.push(() => stomp.close());
    stomp.send('SUBSCRIBE', { id: 'orders', destination: '/queue/orders', receipt: 's' });
    await stomp.expect('RECEIPT');

    const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${port('mqtt')}`, {
      username: 'ann',
      password: 'ann-pw',
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
    closers.push(() => device.end(true));
    await device.subscribeAsync('sensors/#', { qos: 1 });
    const disconnected = new Promise<number | undefined>((resolve) => device.once('disconnect', (p) => resolve(p.reasonCode)));

    const amqp = await AmqpClient.connect(port('amqp'), { username: 'ann', password: 'ann-pw' });
    closers.push(() => amqp.close());
    const { link } = await amqp.receiver({ source: { address: 'orders' } });
    const detached = new Promise<string | undefined>((resolve) =>
      link.once('receiver_close', (e: EventContext) => resolve((e.receiver?.error as { condition?: string } | undefined)?.condition)),
    );

    const revoked = await b!.call('PUT', '/api/permissions', {
      entries: [ENTRIES[0], ENTRIES[1], { queue: 'orders', read: [], write: ['apps'], admin: ['apps'] }],
    });
    expect(revoked.body).toMatchObject({ consumersEnded: 3, connectionsClosed: 0 });
    const error = await stomp.expect('ERROR');
    expect(error.headers.get('message')).toMatch(
      /Subscription orders: User ann is not authorized to read from queue:\/\/orders: the rights were changed/,
    );
    expect(await disconnected).toBe(0x87);
    expect(await detached).toBe('amqp:unauthorized-access');

    // Writing is still allowed: a new connection sends to orders.
    const sender = await RawStomp.connect(port('stomp'), { login: 'ann', passcode: 'ann-pw' });
    closers.push(() => sender.close());
    sender.send('SEND', { destination: '/queue/orders', receipt: 'w' }, 'still');
    await sender.expect('RECEIPT');
    sender.send('SUBSCRIBE', { id: 'again', destination: '/queue/orders' });
    expect((await sender.expect('ERROR')).headers.get('message')).toMatch(/not authorized to read from queue:\/\/orders/);
  });

  it("deleting a user closes its connections; a group change reaches a connected client's next operation", async () => {
    await start();
    await b!.call('PUT', '/api/users/bob', { password: 'bob-pw', groups: ['apps'] });
    const stomp = await RawStomp.connect(port('stomp'), { login: 'bob', passcode: 'bob-pw' });
    closers.push(() => stomp.close());
    stomp.send('SEND', { destination: '/queue/orders', receipt: 'a' }, 'x');
    await stomp.expect('RECEIPT');
    await b!.call('PUT', '/api/users/bob', { groups: [] });
    stomp.send('SEND', { destination: '/queue/orders', receipt: 'b' }, 'x');
    expect((await stomp.expect('ERROR')).headers.get('message')).toMatch(/bob is not authorized to write to queue:\/\/orders/);

    const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${port('mqtt')}`, { username: 'bob', password: 'bob-pw', reconnectPeriod: 0 });
    closers.push(() => device.end(true));
    const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));
    expect((await b!.call('DELETE', '/api/users/bob')).body).toMatchObject({ deleted: true, connectionsClosed: 1 });
    await closed;
    expect((await b!.call('GET', '/api/users/bob')).status).toBe(404);
  });

  it('the first user added to a broker that had none ends anonymous access, for connected clients too', async () => {
    const { server } = await startAllProtocols({ admin: { enabled: true, host: '127.0.0.1', port: 0 } });
    closers.push(() => server.stop());
    const url = `http://127.0.0.1:${boundPort(server.admin!)}`;
    const anonymous = await RawStomp.connect(server.listeners.port('stomp', 'tcp') as number);
    closers.push(() => anonymous.close());
    const res = await fetch(`${url}/api/users/root`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password: 'root-pw', groups: ['admins'] }),
    });
    expect(await res.json()).toMatchObject({ created: true, connectionsClosed: 1 });
    expect((await anonymous.expect('ERROR')).headers.get('message')).toMatch(/User anonymous may no longer sign in/);
    await expect(RawStomp.connect(server.listeners.port('stomp', 'tcp') as number)).rejects.toThrow(/Authentication required/);
    expect((await fetch(`${url}/api/users`)).status).toBe(401);
  });

  it('access keys: made with a secret answered once, listed by id only, deleted', async () => {
    await start();
    const made = (await b!.call('POST', '/api/users/app/access-keys')).body as { accessKeyId: string; secretAccessKey: string };
    expect(made.accessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(made.secretAccessKey).toHaveLength(40);
    const user = (await b!.call('GET', '/api/users/app')).body as { accessKeys: Array<{ accessKeyId: string }> };
    expect(user.accessKeys.map((k) => k.accessKeyId)).toEqual([made.accessKeyId]);
    expect(JSON.stringify(user)).not.toContain(made.secretAccessKey);
    expect(b!.server.security.accessKey(made.accessKeyId)).toEqual({ secret: made.secretAccessKey, username: 'app' });
    expect((await b!.call('DELETE', `/api/users/app/access-keys/${made.accessKeyId}`)).status).toBe(200);
    expect(b!.server.security.accessKey(made.accessKeyId)).toBeUndefined();
  });

  it('refuses what would not load: a pattern that reads everything, a bad username, a non-admin caller', async () => {
    await start();
    const bad = await b!.call('POST', '/api/permissions', { topic: '>.%u', read: ['apps'] });
    expect(bad).toMatchObject({ status: 400, body: { message: expect.stringMatching(/'>' stands only as the whole last segment/) } });
    expect((await b!.call('PUT', '/api/users/a:b', { password: 'x' })).status).toBe(400);
    expect((await b!.call('PUT', '/api/users/eve', { password: 'x', groups: ['admins'] }, 'app')).status).toBe(403);
    expect((await b!.call('DELETE', '/api/permissions/99')).status).toBe(404);
  });
});
