// The operator's CLI as a user runs it (bin/junction.js, a real process) against a running broker's
// admin API: queues list/show/browse/move/purge/delete, dlq redrive, connections list/close, with
// tables and --json; credentials from flags and from the environment; readable errors for an
// unreachable broker, wrong credentials and a missing queue; users add/list/groups/passwd/delete
// with the password piped on standard input.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, startAdminBroker, type AdminBroker } from '../helpers/admin.ts';
import { runJunction, type CliRun } from '../helpers/junction-cli.ts';
import { RawStomp } from '../helpers/stomp.ts';

const BIN = join(import.meta.dirname, '../../bin/junction.js');
let b: AdminBroker;

beforeAll(async () => {
  b = await startAdminBroker({ destinations: { defaults: { redeliveryDelayMs: 0, maxDeliveries: 1 } } });
});
afterAll(async () => {
  await b?.stop();
});

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, timeout: 20_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const as = (): string[] => ['--url', b.url, '--user', 'admin', '--password', PASSWORD];

// Each case runs ten or so CLI processes, each bounded by its own 20 s: the case's deadline allows for a loaded machine.
describe('junction CLI over the admin API', { timeout: 60_000 }, () => {
  it('lists, shows, browses, moves, purges and deletes queues; tables for people, --json for scripts', async () => {
    const stomp = await RawStomp.connect(b.server.listeners.port('stomp', 'tcp')!, {
      'accept-version': '1.2',
      host: '/',
      login: 'app',
      passcode: PASSWORD,
    });
    for (const [i, kind] of ['red', 'blue', 'red'].entries()) {
      stomp.send('SEND', { destination: '/queue/cli.q', persistent: 'true', receipt: `r${i}`, kind }, `${kind}-${i}`);
      await stomp.expect('RECEIPT');
    }
    const list = await cli(['queues', 'list', ...as()]);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^QUEUE\s+DEPTH\s+IN FLIGHT\s+CONSUMERS\s+PRODUCERS\s+ENQUEUED\s+DEQUEUED$/);
    expect(list.stdout).toMatch(/^cli\.q\s+3\s+0\s+0\s+1\s+3\s+0$/m);
    const json = JSON.parse((await cli(['queues', 'list', '--json', ...as()])).stdout) as Array<{ name: string; depth: number }>;
    expect(json.find((q) => q.name === 'cli.q')?.depth).toBe(3);
    expect((await cli(['queues', 'show', 'cli.q', ...as()])).stdout).toMatch(/^depth\s+3$/m);
    const browse = await cli(['queues', 'browse', 'cli.q', '--selector', "kind = 'red'", ...as()]);
    expect(browse.stdout).toMatch(/red-0/);
    expect(browse.stdout).toMatch(/red-2/);
    expect(browse.stdout).not.toMatch(/blue-1/);
    expect((await cli(['queues', 'move', 'cli.q', '--to', 'cli.red', '--selector', "kind = 'red'", ...as()])).stdout).toBe(
      'moved 2 from cli.q to cli.red\n',
    );
    expect((await cli(['queues', 'purge', 'cli.q', ...as()])).stdout).toBe('purged 1 message from cli.q\n');
    expect((await cli(['queues', 'delete', 'cli.red', ...as()])).stdout).toBe('deleted queue cli.red\n');
    const missing = await cli(['queues', 'purge', 'cli.red', ...as()]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('junction: Queue cli.red does not exist\n');
    stomp.socket.destroy();
  });

  it('redrives a dead-letter queue; lists and closes connections; takes credentials from the environment', async () => {
    const stomp = await RawStomp.connect(b.server.listeners.port('stomp', 'tcp')!, {
      'accept-version': '1.2',
      host: '/',
      login: 'app',
      passcode: PASSWORD,
      'client-id': 'cli-app',
    });
    stomp.send('SEND', { destination: '/queue/cli.jobs', persistent: 'true', receipt: 'r' }, 'job');
    await stomp.expect('RECEIPT');
    stomp.send('SUBSCRIBE', { destination: '/queue/cli.jobs', id: 's', ack: 'client-individual' });
    stomp.send('NACK', { id: (await stomp.expect('MESSAGE')).headers.get('ack')! });
    const env = { JUNCTION_ADMIN_URL: b.url, JUNCTION_ADMIN_USER: 'admin', JUNCTION_ADMIN_PASSWORD: PASSWORD };
    await expect.poll(async () => (await cli(['queues', 'show', 'DLQ.cli.jobs', '--json'], env)).stdout).toMatch(/"depth":1/);
    stomp.send('UNSUBSCRIBE', { id: 's', receipt: 'u' });
    await stomp.expect('RECEIPT');
    expect((await cli(['dlq', 'redrive', 'DLQ.cli.jobs'], env)).stdout).toBe('redrove 1 from DLQ.cli.jobs; 0 stayed (origin gone)\n');

    const conns = JSON.parse((await cli(['connections', 'list', '--json'], env)).stdout) as Array<{ id: string; clientId: string }>;
    const mine = conns.find((c) => c.clientId === 'cli-app');
    expect(mine).toBeDefined();
    expect((await cli(['connections', 'list'], env)).stdout).toMatch(/stomp\s+cli-app\s+app\s+127\.0\.0\.1:\d+/);
    expect((await cli(['connections', 'close', mine!.id], env)).stdout).toBe(`closed connection ${mine!.id}\n`);
    await stomp.closed;
  });

  it('says what is wrong: unreachable broker, missing or wrong credentials, a user who is not an admin', async () => {
    const down = await cli(['queues', 'list', '--url', 'http://127.0.0.1:9']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^junction: cannot reach the broker's admin port at http:\/\/127\.0\.0\.1:9: /);
    const none = await cli(['queues', 'list', '--url', b.url], { JUNCTION_ADMIN_USER: '', JUNCTION_ADMIN_PASSWORD: '' });
    expect(none.stderr).toMatch(/junction: (the broker at .* needs credentials|wrong credentials)/);
    const wrong = await cli(['queues', 'list', '--url', b.url, '--user', 'admin', '--password', 'nope']);
    expect(wrong.stderr).toBe(`junction: wrong credentials for admin at ${b.url}\n`);
    const app = await cli(['connections', 'list', '--url', b.url, '--user', 'app', '--password', PASSWORD]);
    expect(app.code).toBe(1);
    expect(app.stderr).toMatch(/User app is not in an admin group/);
  });
});

/** The CLI with `input` on its standard input (a password, as a script pipes it). */
const cliWithInput = (args: string[], input: string): Promise<CliRun> => runJunction(args, { input });

describe('junction users', { timeout: 60_000 }, () => {
  it('adds a user who then signs in, lists, changes its groups and password, deletes it', async () => {
    const added = await cliWithInput(['users', 'add', 'carol', '--groups', 'apps', ...as()], 'carol-pw\n');
    expect([added.code, added.stdout, added.stderr]).toEqual([0, 'added user carol\n', '']);
    const stomp = await RawStomp.connect(b.server.listeners.port('stomp', 'tcp')!, { login: 'carol', passcode: 'carol-pw' });
    stomp.close();
    expect((await cliWithInput(['users', 'add', 'carol', ...as()], 'x\n')).stderr).toMatch(/user carol exists/);
    expect((await cli(['users', 'list', ...as()])).stdout).toMatch(/^carol\s+apps\s+yes\s+0$/m);
    expect((await cli(['users', 'groups', 'carol', 'apps,ops', ...as()])).stdout).toMatch(/^set the groups of carol/);
    expect((await cliWithInput(['users', 'passwd', 'carol', ...as()], 'carol-2\n')).stdout).toBe('changed the password of carol\n');
    await expect(RawStomp.connect(b.server.listeners.port('stomp', 'tcp')!, { login: 'carol', passcode: 'carol-pw' })).rejects.toThrow();
    const cert = await cliWithInput(['users', 'add', 'device-1', '--certificate-only', ...as()], '');
    expect(cert.stdout).toBe('added user device-1\n');
    const listed = JSON.parse((await cli(['users', 'list', '--json', ...as()])).stdout) as Array<{
      name: string;
      groups: string[];
      password: boolean;
    }>;
    expect(listed.filter((x) => ['carol', 'device-1'].includes(x.name))).toMatchObject([
      { name: 'carol', groups: ['apps', 'ops'], password: true },
      { name: 'device-1', groups: [], password: false },
    ]);
    expect((await cli(['users', 'delete', 'carol', ...as()])).stdout).toBe('deleted user carol; closed 0 connection(s)\n');
    expect((await cli(['users', 'delete', 'carol', ...as()])).stderr).toBe('junction: User carol does not exist\n');
    expect((await cliWithInput(['users', 'passwd', 'nobody', ...as()], 'x\n')).stderr).toBe('junction: user nobody does not exist\n');
  });
});
