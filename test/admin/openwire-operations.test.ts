// Operating OpenWire: a JMS client on ActiveMQ's Java client shows in the admin API (protocol,
// version, client id, user, sessions, what it consumes), in /metrics and in `junction connections
// list`, and an operator can close it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openwireAdapter } from '../../adapters/openwire/index.ts';
import { boundPort } from '../../src/admin/admin-server.ts';
import { hashPassword } from '../../src/security/password.ts';
import type { JunctionServer } from '../../src/server.ts';
import { runJunction } from '../helpers/junction-cli.ts';
import { probeClassPath, startProbe, type RunningProbe } from '../helpers/openwire.ts';
import { startTestServer } from '../helpers/server.ts';

let server: JunctionServer;
let admin: string;
let probe: RunningProbe | undefined;
const auth = `Basic ${Buffer.from('root:root-pw').toString('base64')}`;

beforeAll(async () => {
  await probeClassPath();
  const passwordHash = await hashPassword('root-pw');
  ({ server } = await startTestServer(
    [openwireAdapter],
    { openwire: { port: 0, tls: false }, websocket: { enabled: false } },
    {
      admin: { enabled: true, host: '127.0.0.1', port: 0 },
      security: {
        users: [
          { username: 'root', passwordHash, groups: ['admins'] },
          { username: 'jms', passwordHash, groups: ['apps'] },
        ],
        authorization: [{ queue: 'ow.>', read: ['apps'], write: ['apps'], admin: ['apps'] }],
      },
    },
  ));
  admin = `http://127.0.0.1:${boundPort(server.admin!)}`;
}, 60_000);

afterAll(async () => {
  probe?.kill();
  await server?.stop();
});

interface ConnectionView {
  id: string;
  protocol: string;
  protocolVersion: string;
  user: string;
  sessions: number;
  subscriptions: string[];
}

describe('OpenWire operations', () => {
  it('lists the connection with its sessions and consumer in the API, /metrics and the CLI, and closes it', async () => {
    const url = `tcp://127.0.0.1:${server.listeners.port('openwire', 'tcp') as number}`;
    probe = await startProbe(url, 'failoverConsumer', ['ow.watched', '60000'], ['-Dprobe.user=jms', '-Dprobe.password=root-pw']);
    await probe.waitFor((l) => l.k === 'ready');

    const res = await fetch(`${admin}/api/connections`, { headers: { authorization: auth } });
    const list = (await res.json()) as ConnectionView[];
    const c = list.find((x) => x.protocol === 'openwire');
    expect(c).toMatchObject({ protocolVersion: '12', user: 'jms', sessions: 1 });
    expect(c!.subscriptions).toContain('queue://ow.watched');

    const metrics = await (await fetch(`${admin}/metrics`, { headers: { authorization: auth } })).text();
    expect(metrics).toMatch(/^junction_connections\{protocol="openwire"\} 1$/m);

    const env = { JUNCTION_ADMIN_URL: admin, JUNCTION_ADMIN_USER: 'root', JUNCTION_ADMIN_PASSWORD: 'root-pw' };
    const listed = await runJunction(['connections', 'list'], { env });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${c!.id}\\s+openwire\\s+.*jms\\s+127\\.0\\.0\\.1:\\d+\\s+1\\s+0\\s+0`, 'm'));

    const closed = await runJunction(['connections', 'close', c!.id], { env });
    expect(closed.code).toBe(0);
    const after = (await (await fetch(`${admin}/api/connections`, { headers: { authorization: auth } })).json()) as ConnectionView[];
    expect(after.filter((x) => x.protocol === 'openwire')).toEqual([]);
  }, 60_000);
});
