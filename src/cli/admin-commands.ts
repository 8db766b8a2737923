// The CLI commands that operate a running broker through its admin API: queues, dead-letter
// redrive, connections, delivery streams, streams, users, key rotation. Tables for people, --json for scripts; errors in one
// sentence, exit 1.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import type { RotationStatus } from '../core/key-rotation.ts';
import { adminRequest, adminTarget, AdminRequestError, type AdminTarget } from './admin-client.ts';
import { readPassword } from './read-password.ts';
import { table } from './table.ts';

interface Common {
  url?: string;
  user?: string;
  password?: string;
  json?: boolean;
}

const ROTATION_POLL_MS = 500;

function rotationLine(s: RotationStatus): string {
  const p = s.progress;
  const figures = p ? `: ${p.scanned} of ${p.total} values looked at, ${p.resealed} sealed anew, ${p.refused} refused` : '';
  if (s.state === 'failed') return `key rotation failed${figures}: ${s.error ?? 'unknown error'}\n`;
  if (s.state !== 'done' || !s.report) return `key rotation ${s.state}${figures}\n`;
  const r = s.report;
  const retired = r.retired.length > 0 ? `; no stored value needs ${r.retired.join(', ')} any more: it may leave the keyring` : '';
  const left = r.remaining > 0 ? `; ${r.remaining} values still need an older key: run it again` : '';
  return `key rotation done${figures}${retired}${left}\n`;
}

const QUEUE_COLUMNS = [
  { key: 'name', label: 'QUEUE' },
  { key: 'depth', label: 'DEPTH', num: true },
  { key: 'inflight', label: 'IN FLIGHT', num: true },
  { key: 'consumers', label: 'CONSUMERS', num: true },
  { key: 'producers', label: 'PRODUCERS', num: true },
  { key: 'enqueued', label: 'ENQUEUED', num: true },
  { key: 'dequeued', label: 'DEQUEUED', num: true },
];

const q = (name: string): string => `/api/queues/${encodeURIComponent(name)}`;

export function addAdminCommands(program: Command, fail: (err: unknown) => never): void {
  const withTarget = (c: Command): Command =>
    c
      .option('-u, --url <url>', 'admin address (default: $JUNCTION_ADMIN_URL, else http://127.0.0.1:8161)')
      .option('--user <name>', 'admin user (default: $JUNCTION_ADMIN_USER)')
      .option('--password <password>', 'its password (default: $JUNCTION_ADMIN_PASSWORD)')
      .option('--json', 'print JSON instead of a table');
  const run =
    <A extends unknown[]>(f: (t: AdminTarget, opts: Common, ...args: A) => Promise<unknown>) =>
    async (...args: unknown[]): Promise<void> => {
      // commander passes the positional arguments, then the options, then the command.
      const opts = args[args.length - 2] as Common;
      try {
        const out = await f(adminTarget(opts), opts, ...(args.slice(0, -2) as A));
        if (out !== undefined) process.stdout.write(typeof out === 'string' ? out : `${JSON.stringify(out)}\n`);
      } catch (err) {
        fail(err);
      }
    };
  const print = (opts: Common, data: unknown, human: () => string): string => (opts.json ? `${JSON.stringify(data)}\n` : human());

  const queues = program.command('queues').description('list and operate on queues of a running broker');
  withTarget(queues.command('list').description('queues with depth, in flight, consumers, producers and totals')).action(
    run(async (t, o) => {
      const rows = (await adminRequest(t, 'GET', '/api/queues')) as Array<Record<string, unknown>>;
      return print(o, rows, () => table(QUEUE_COLUMNS, rows));
    }),
  );
  withTarget(queues.command('show').argument('<queue>').description("one queue's figures")).action(
    run(async (t, o, name: string) => {
      const { history: _h, ...info } = (await adminRequest(t, 'GET', q(name))) as Record<string, unknown>;
      return print(o, info, () =>
        Object.entries(info)
          .map(([k, v]) => `${k.padEnd(13)} ${String(v)}\n`)
          .join(''),
      );
    }),
  );
  withTarget(queues.command('purge').argument('<queue>').description('remove every ready message')).action(
    run(async (t, o, name: string) => {
      const r = (await adminRequest(t, 'POST', `${q(name)}/purge`)) as { purged: number };
      return print(o, r, () => `purged ${r.purged} message${r.purged === 1 ? '' : 's'} from ${name}\n`);
    }),
  );
  withTarget(queues.command('delete').argument('<queue>').description('delete a queue and its messages')).action(
    run(async (t, o, name: string) => {
      const r = await adminRequest(t, 'DELETE', q(name));
      return print(o, r, () => `deleted queue ${name}\n`);
    }),
  );
  withTarget(
    queues
      .command('browse')
      .argument('<queue>')
      .option('--limit <n>', 'messages to show', '20')
      .option('--selector <selector>', 'only messages this JMS selector accepts')
      .description('show messages without removing them'),
  ).action(
    run(async (t, o, name: string) => {
      const opts = o as Common & { limit: string; selector?: string };
      const params = new URLSearchParams({ limit: opts.limit });
      if (opts.selector) params.set('selector', opts.selector);
      const rows = (await adminRequest(t, 'GET', `${q(name)}/messages?${params.toString()}`)) as Array<Record<string, unknown>>;
      return print(o, rows, () =>
        table(
          [
            { key: 'id', label: 'ID' },
            { key: 'priority', label: 'PRIO', num: true },
            { key: 'deliveryCount', label: 'DELIVERIES', num: true },
            { key: 'body', label: 'BODY' },
          ],
          rows.map((m) => ({ ...m, body: String(m.body).replace(/\s+/g, ' ').slice(0, 60) })),
        ),
      );
    }),
  );
  withTarget(
    queues
      .command('move')
      .argument('<queue>')
      .requiredOption('--to <queue>', 'target queue')
      .option('--selector <selector>', 'only messages this JMS selector accepts')
      .option('--id <id...>', 'only these message ids')
      .option('--copy', 'copy instead of move')
      .description('move (or copy) messages to another queue'),
  ).action(
    run(async (t, o, name: string) => {
      const opts = o as Common & { to: string; selector?: string; id?: string[]; copy?: boolean };
      const body: Record<string, unknown> = { to: opts.to, copy: opts.copy === true };
      if (opts.selector) body.selector = opts.selector;
      if (opts.id) body.ids = opts.id;
      const r = (await adminRequest(t, 'POST', `${q(name)}/move`, body)) as { moved?: number; copied?: number };
      return print(o, r, () => `${opts.copy ? `copied ${r.copied}` : `moved ${r.moved}`} from ${name} to ${opts.to}\n`);
    }),
  );

  const dlq = program.command('dlq').description('dead-letter queues');
  withTarget(
    dlq.command('redrive').argument('<queue>').description('send the messages of a dead-letter queue back where they came from'),
  ).action(
    run(async (t, o, name: string) => {
      const r = (await adminRequest(t, 'POST', `${q(name)}/redrive`)) as { moved: number; kept: number };
      return print(o, r, () => `redrove ${r.moved} from ${name}; ${r.kept} stayed (origin gone)\n`);
    }),
  );

  const connections = program.command('connections').description('client connections of a running broker');
  withTarget(connections.command('list').description('protocol, client id, user, address, message counts')).action(
    run(async (t, o) => {
      const rows = (await adminRequest(t, 'GET', '/api/connections')) as Array<Record<string, unknown>>;
      return print(o, rows, () =>
        table(
          [
            { key: 'id', label: 'ID' },
            { key: 'protocol', label: 'PROTOCOL' },
            { key: 'clientId', label: 'CLIENT ID' },
            { key: 'user', label: 'USER' },
            { key: 'remoteAddress', label: 'ADDRESS' },
            { key: 'sessions', label: 'SESSIONS', num: true },
            { key: 'messagesIn', label: 'IN', num: true },
            { key: 'messagesOut', label: 'OUT', num: true },
          ],
          rows,
        ),
      );
    }),
  );
  withTarget(connections.command('close').argument('<id>').description('close a client connection')).action(
    run(async (t, o, id: string) => {
      const r = await adminRequest(t, 'DELETE', `/api/connections/${encodeURIComponent(id)}`);
      return print(o, r, () => `closed connection ${id}\n`);
    }),
  );

  const firehose = program.command('firehose').description('delivery streams of a running broker (topics and records into S3 or files)');
  withTarget(
    firehose.command('list').description('delivery streams: source, bucket, buffered records, objects written, failing since'),
  ).action(
    run(async (t, o) => {
      const rows = ((await adminRequest(t, 'GET', '/api/delivery-streams')) as Array<Record<string, unknown>>).map((r) => ({
        ...r,
        sourceText: (r.source as { kind: string; topic?: string }).topic ?? 'direct put',
        bucket: (r.destination as { bucket: string }).bucket,
        buffered: Number(r.bufferedEntries) + Number(r.inFlightRecords),
        failing: r.failingSince ?? '',
      }));
      return print(o, rows, () =>
        table(
          [
            { key: 'name', label: 'STREAM' },
            { key: 'sourceText', label: 'SOURCE' },
            { key: 'bucket', label: 'BUCKET' },
            { key: 'buffered', label: 'BUFFERED', num: true },
            { key: 'objects', label: 'OBJECTS', num: true },
            { key: 'records', label: 'RECORDS', num: true },
            { key: 'failures', label: 'FAILURES', num: true },
            { key: 'failing', label: 'FAILING SINCE' },
          ],
          rows,
        ),
      );
    }),
  );
  withTarget(firehose.command('show').argument('<stream>').description("one delivery stream's settings and figures")).action(
    run(async (t, o, name: string) => {
      const info = (await adminRequest(t, 'GET', `/api/delivery-streams/${encodeURIComponent(name)}`)) as Record<string, unknown>;
      return print(o, info, () =>
        Object.entries(info)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => `${k.padEnd(19)} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}\n`)
          .join(''),
      );
    }),
  );

  const streams = program
    .command('streams')
    .description('streams of a running broker (Kinesis streams, and stream consumers of every protocol)');
  withTarget(streams.command('list').description('streams: mode, open shards, retention, records in and out')).action(
    run(async (t, o) => {
      const rows = (await adminRequest(t, 'GET', '/api/streams')) as Array<Record<string, unknown>>;
      return print(o, rows, () =>
        table(
          [
            { key: 'name', label: 'STREAM' },
            { key: 'mode', label: 'MODE' },
            { key: 'openShards', label: 'OPEN SHARDS', num: true },
            { key: 'retentionHours', label: 'RETENTION H', num: true },
            { key: 'incomingRecords', label: 'RECORDS IN', num: true },
            { key: 'outgoingRecords', label: 'RECORDS OUT', num: true },
            { key: 'iteratorAgeMs', label: 'ITERATOR AGE MS', num: true },
          ],
          rows,
        ),
      );
    }),
  );
  withTarget(streams.command('show').argument('<stream>').description("one stream's shards and named consumers with their lag")).action(
    run(async (t, o, name: string) => {
      const info = (await adminRequest(t, 'GET', `/api/streams/${encodeURIComponent(name)}`)) as Record<string, unknown>;
      return print(o, info, () => {
        const shards = info.shardList as Array<Record<string, unknown>>;
        const consumers = info.consumers as Array<Record<string, unknown>>;
        const head = Object.entries(info)
          .filter(([k, v]) => v !== undefined && k !== 'shardList' && k !== 'consumers')
          .map(([k, v]) => `${k.padEnd(17)} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}\n`)
          .join('');
        const shardTable = table(
          [
            { key: 'id', label: 'SHARD' },
            { key: 'state', label: 'STATE' },
            { key: 'parent', label: 'PARENT' },
            { key: 'records', label: 'RECORDS', num: true },
            { key: 'newestAt', label: 'NEWEST' },
          ],
          shards.map((x) => ({ ...x, parent: x.parent ?? '' })),
        );
        const consumerTable =
          consumers.length === 0
            ? 'no named consumers\n'
            : table(
                [
                  { key: 'name', label: 'CONSUMER' },
                  { key: 'lagMs', label: 'LAG MS', num: true },
                ],
                consumers,
              );
        return `${head}\n${shardTable}\n${consumerTable}`;
      });
    }),
  );
  withTarget(
    streams
      .command('read')
      .argument('<stream>')
      .description('records of one shard: partition key, sequence number, data (text, else base64)')
      .option('--shard <id>', 'the shard (default: the first)')
      .option('--from <position>', 'trim-horizon (default), latest, or a sequence number')
      .option('--limit <n>', 'records at most (1 to 1000)', '10'),
  ).action(
    run(async (t, o, name: string) => {
      const opts = o as Common & { shard?: string; from?: string; limit: string };
      const query = new URLSearchParams({
        limit: opts.limit,
        ...(opts.shard ? { shard: opts.shard } : {}),
        ...(opts.from ? { from: opts.from } : {}),
      });
      const rows = (await adminRequest(t, 'GET', `/api/streams/${encodeURIComponent(name)}/records?${query.toString()}`)) as Array<
        Record<string, unknown>
      >;
      return print(o, rows, () =>
        rows
          .map(
            (r) =>
              `${String(r.sequenceNumber)} ${String(r.arrivedAt)} ${String(r.partitionKey)} ${String(r.text ?? `base64:${String(r.base64)}`)}\n`,
          )
          .join(''),
      );
    }),
  );

  const users = program.command('users').description("the broker's users, kept in its store (the configuration file is the seed)");
  const u = (name: string): string => `/api/users/${encodeURIComponent(name)}`;
  const exists = async (t: AdminTarget, name: string): Promise<boolean> =>
    adminRequest(t, 'GET', u(name)).then(
      () => true,
      (err: unknown) => {
        if (err instanceof AdminRequestError && err.status === 404) return false;
        throw err;
      },
    );
  const groupList = (s: string | undefined): string[] | undefined =>
    s === undefined
      ? undefined
      : s
          .split(',')
          .map((g) => g.trim())
          .filter((g) => g !== '');
  withTarget(users.command('list').description('users, their groups, whether they have a password, their access keys')).action(
    run(async (t, o) => {
      const rows = (await adminRequest(t, 'GET', '/api/users')) as Array<Record<string, unknown>>;
      return print(o, rows, () =>
        table(
          [
            { key: 'name', label: 'USER' },
            { key: 'groups', label: 'GROUPS' },
            { key: 'password', label: 'PASSWORD' },
            { key: 'keys', label: 'ACCESS KEYS', num: true },
          ],
          rows.map((r) => ({
            ...r,
            groups: (r.groups as string[]).join(','),
            password: r.password ? 'yes' : 'no (certificate only)',
            keys: (r.accessKeys as unknown[]).length,
          })),
        ),
      );
    }),
  );
  withTarget(
    users
      .command('add')
      .argument('<user>')
      .description('add a user; its password is read from a prompt or standard input')
      .option('--groups <list>', 'comma-separated groups', '')
      .option('--certificate-only', 'no password: the user signs in only with a client certificate'),
  ).action(
    run(async (t, o, name: string) => {
      const opts = o as Common & { groups: string; certificateOnly?: boolean };
      if (await exists(t, name)) throw new Error(`user ${name} exists: \`junction users passwd\` changes its password`);
      const password = opts.certificateOnly ? undefined : await readPassword();
      if (password === '') throw new Error('empty password (--certificate-only makes a user without one)');
      const r = await adminRequest(t, 'PUT', u(name), { groups: groupList(opts.groups) ?? [], ...(password ? { password } : {}) });
      return print(o, r, () => `added user ${name}\n`);
    }),
  );
  withTarget(
    users.command('passwd').argument('<user>').description("change a user's password (read from a prompt or standard input)"),
  ).action(
    run(async (t, o, name: string) => {
      if (!(await exists(t, name))) throw new Error(`user ${name} does not exist`);
      const password = await readPassword();
      if (password === '') throw new Error('empty password');
      const r = await adminRequest(t, 'PUT', u(name), { password });
      return print(o, r, () => `changed the password of ${name}\n`);
    }),
  );
  withTarget(
    users.command('groups').argument('<user>').argument('<list>', 'comma-separated groups').description("set a user's groups"),
  ).action(
    run(async (t, o, name: string, list: string) => {
      if (!(await exists(t, name))) throw new Error(`user ${name} does not exist`);
      const r = (await adminRequest(t, 'PUT', u(name), { groups: groupList(list) })) as { consumersEnded: number };
      return print(o, r, () => `set the groups of ${name}; ${r.consumersEnded} consumer(s) ended that may no longer read\n`);
    }),
  );
  withTarget(users.command('delete').argument('<user>').description('delete a user: its connections are closed')).action(
    run(async (t, o, name: string) => {
      const r = (await adminRequest(t, 'DELETE', u(name))) as { connectionsClosed: number };
      return print(o, r, () => `deleted user ${name}; closed ${r.connectionsClosed} connection(s)\n`);
    }),
  );

  const keys = program.command('keys').description('encryption at rest (security.encryption) of a running broker');
  withTarget(
    keys
      .command('rotate')
      .description('seal every stored value with the first key of the keyring, in the background, and follow it to the end')
      .option('--no-wait', 'start it and return'),
  ).action(
    run(async (t, o) => {
      let s = (await adminRequest(t, 'POST', '/api/keys/rotation')) as RotationStatus;
      if ((o as Common & { wait: boolean }).wait) {
        let shown = '';
        while (s.state === 'running') {
          const line = rotationLine(s);
          if (!o.json && line !== shown) process.stdout.write(line);
          shown = line;
          await sleep(ROTATION_POLL_MS);
          s = (await adminRequest(t, 'GET', '/api/keys/rotation')) as RotationStatus;
        }
        if (s.state === 'failed') throw new Error(rotationLine(s).trim());
      }
      return print(o, s, () => rotationLine(s));
    }),
  );
  withTarget(keys.command('status').description('where the last key rotation stands')).action(
    run(async (t, o) => {
      const s = (await adminRequest(t, 'GET', '/api/keys/rotation')) as RotationStatus;
      return print(o, s, () => rotationLine(s));
    }),
  );
}
