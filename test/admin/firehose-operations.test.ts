// Operating delivery streams: made through the admin API in the configuration file's shape, they
// show what they buffer and deliver there, in /metrics and in `junction firehose list|show`; a
// destination that refuses writes shows as failing; deleting one answers what it discarded. With
// users, the Firehose API is authorized as queue firehose.<stream>: a user with write there puts
// records, one without is refused with AccessDeniedException.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FirehoseClient, PutRecordBatchCommand, PutRecordCommand } from '@aws-sdk/client-firehose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsAdapter } from '../../adapters/aws/index.ts';
import { boundPort } from '../../src/admin/admin-server.ts';
import { hashPassword } from '../../src/security/password.ts';
import type { JunctionServer } from '../../src/server.ts';
import { lines, waitForObjects } from '../helpers/firehose.ts';
import { runJunction } from '../helpers/junction-cli.ts';
import { startTestServer } from '../helpers/server.ts';

let server: JunctionServer;
let admin: string;
let directory: string;
const clients: FirehoseClient[] = [];
const auth = `Basic ${Buffer.from('root:root-pw').toString('base64')}`;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'junction-firehose-ops-'));
  const passwordHash = await hashPassword('root-pw');
  ({ server } = await startTestServer(
    [awsAdapter],
    { aws: { port: 0, tls: false }, websocket: { enabled: false } },
    {
      admin: { enabled: true, host: '127.0.0.1', port: 0 },
      firehose: { directory },
      security: {
        users: [
          { username: 'root', passwordHash, groups: ['admins'], accessKeys: [] },
          { username: 'device', passwordHash, groups: ['devices'] },
          { username: 'other', passwordHash, groups: ['others'] },
        ],
        authorization: [{ queue: 'firehose.>', write: ['devices'], read: ['devices'] }],
      },
    },
  ));
  admin = `http://127.0.0.1:${boundPort(server.admin!)}`;
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  await server.stop();
  rmSync(directory, { recursive: true, force: true });
});

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${admin}${path}`, {
    method,
    headers: { authorization: auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}

/** A Firehose client signing as `user` with a key made through the admin API. */
async function clientFor(user: string): Promise<FirehoseClient> {
  const made = await api('POST', `/api/users/${user}/access-keys`);
  const key = made.body as unknown as { accessKeyId: string; secretAccessKey: string };
  const c = new FirehoseClient({
    endpoint: `http://127.0.0.1:${server.listeners.port('aws', 'tcp') as number}`,
    region: 'us-east-1',
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
    maxAttempts: 1,
  });
  clients.push(c);
  return c;
}

describe('delivery streams, operated', () => {
  it('are made, shown, counted, authorized and deleted', async () => {
    const made = await api('POST', '/api/delivery-streams', {
      name: 'ops',
      destination: { bucket: 'ops-bucket', bufferingIntervalSeconds: 0, delimiter: '\n', compression: 'GZIP' },
    });
    expect(made.status).toBe(200);
    expect(made.body).toMatchObject({ name: 'ops', arn: 'arn:aws:firehose:us-east-1:000000000000:deliverystream/ops', version: 1 });
    expect((await api('POST', '/api/delivery-streams', { name: 'ops', destination: { bucket: 'ops-bucket' } })).status).toBe(409);
    const bad = await api('POST', '/api/delivery-streams', { name: 'bad name', destination: { bucket: 'B' } });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/name/);
    const badFilter = await api('POST', '/api/delivery-streams', {
      name: 'bad-filter',
      source: { kind: 'topic', mqttTopicFilter: 'devices/#/x' },
      destination: { bucket: 'b-bucket' },
    });
    expect(badFilter.status).toBe(400);
    expect(badFilter.body.message).toMatch(/must be the last level/);

    const device = await clientFor('device');
    const r = await device.send(
      new PutRecordBatchCommand({ DeliveryStreamName: 'ops', Records: ['a', 'b', 'c'].map((x) => ({ Data: Buffer.from(x) })) }),
    );
    expect(r.FailedPutCount).toBe(0);
    const other = await clientFor('other');
    await expect(
      other.send(new PutRecordCommand({ DeliveryStreamName: 'ops', Record: { Data: Buffer.from('no') } })),
    ).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    expect(lines(await waitForObjects(directory, 'ops-bucket', (o) => lines(o).length === 3)).sort()).toEqual(['a', 'b', 'c']);

    const shown = await api('GET', '/api/delivery-streams/ops');
    expect(shown.body).toMatchObject({ name: 'ops', records: 3, objects: expect.any(Number) as number, failures: 0, bufferedEntries: 0 });
    expect(shown.body.lastDeliveryAt).toEqual(expect.any(String));

    const text = await (await fetch(`${admin}/metrics`, { headers: { authorization: auth } })).text();
    expect(text).toMatch(/^junction_firehose_delivered_records_total\{stream="ops"\} 3$/m);
    expect(text).toMatch(/^junction_firehose_failing\{stream="ops"\} 0$/m);

    const env = { JUNCTION_ADMIN_URL: admin, JUNCTION_ADMIN_USER: 'root', JUNCTION_ADMIN_PASSWORD: 'root-pw' };
    const listed = await runJunction(['firehose', 'list'], { env });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^STREAM\s+SOURCE\s+BUCKET/m);
    expect(listed.stdout).toMatch(/^ops\s+direct put\s+ops-bucket\s+0\s+\d+\s+3\s+0/m);
    const show = await runJunction(['firehose', 'show', 'ops', '--json'], { env });
    expect(JSON.parse(show.stdout)).toMatchObject({ name: 'ops', records: 3 });
    expect((await runJunction(['firehose', 'show', 'missing'], { env })).code).toBe(1);

    // A destination that refuses writes: failing since, failures counted, the records kept.
    await api('POST', '/api/delivery-streams', {
      name: 'stuck',
      destination: { bucket: 'stuck-bucket', prefix: 'p/', bufferingIntervalSeconds: 0 },
    });
    writeFileSync(join(directory, 'stuck-bucket'), 'not a directory');
    await device.send(new PutRecordCommand({ DeliveryStreamName: 'stuck', Record: { Data: Buffer.from('waiting') } }));
    const deadline = Date.now() + 10_000;
    let stuck = await api('GET', '/api/delivery-streams/stuck');
    while (stuck.body.failingSince === undefined && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 50));
      stuck = await api('GET', '/api/delivery-streams/stuck');
    }
    expect(stuck.body).toMatchObject({ inFlightRecords: 1, lastError: expect.stringMatching(/ENOTDIR|EEXIST/) as string });
    expect(stuck.body.failures).toBeGreaterThan(0);
    // Another stream keeps delivering meanwhile.
    await device.send(new PutRecordCommand({ DeliveryStreamName: 'ops', Record: { Data: Buffer.from('d') } }));
    expect(lines(await waitForObjects(directory, 'ops-bucket', (o) => lines(o).length === 4)).sort()).toEqual(['a', 'b', 'c', 'd']);
    const m2 = await (await fetch(`${admin}/metrics`, { headers: { authorization: auth } })).text();
    expect(m2).toMatch(/^junction_firehose_failing\{stream="stuck"\} 1$/m);
    expect(m2).toMatch(/^junction_firehose_in_flight_records\{stream="stuck"\} 1$/m);
    // The queue's own measure: the 7-byte record and what the broker counts per message.
    expect(stuck.body.bufferedBytes).toBeGreaterThanOrEqual(7);

    const deleted = await api('DELETE', '/api/delivery-streams/stuck');
    expect(deleted.body).toEqual({ discardedEntries: 1 });
    expect((await api('GET', '/api/delivery-streams/stuck')).status).toBe(404);
  });
});
