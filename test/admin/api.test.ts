// The admin API over real HTTP, with real clients on the other side: who may call it (401, 403,
// open health and metrics), queues (create, send, browse, move, copy, purge, delete), dead-letter
// redrive, durable subscriptions, connections of all three protocols (listed and closed), the
// change log, the OpenAPI document, and /metrics with its per-destination cap.
import mqtt from 'mqtt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AmqpClient } from '../helpers/amqp.ts';
import { startAdminBroker, type AdminBroker } from '../helpers/admin.ts';
import { CapturedLog } from '../helpers/log.ts';
import { RawStomp } from '../helpers/stomp.ts';

let b: AdminBroker | undefined;
afterEach(async () => {
  await b?.stop();
  b = undefined;
});

const STOMP = { 'accept-version': '1.2', host: '/', login: 'app', passcode: 's3cret' };

async function stompSend(port: number, destination: string, bodies: string[], headers: Record<string, string> = {}): Promise<void> {
  const c = await RawStomp.connect(port, STOMP);
  for (const [i, body] of bodies.entries()) {
    c.send('SEND', { destination, persistent: 'true', receipt: `r${i}`, ...headers }, body);
    await c.expect('RECEIPT');
  }
  c.socket.destroy();
}

describe('admin API access', () => {
  it('needs an admin: no credentials 401 (with a Basic challenge), a wrong password 401, a non-admin 403; health and metrics are open', async () => {
    b = await startAdminBroker();
    const none = await fetch(`${b.url}/api/queues`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm="junction"/);
    const wrong = await fetch(`${b.url}/api/queues`, {
      headers: { authorization: `Basic ${Buffer.from('admin:nope').toString('base64')}` },
    });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { message: string }).message).toBe('Bad username or password');
    expect(await b.call('GET', '/api/queues', undefined, 'app')).toMatchObject({
      status: 403,
      body: { message: expect.stringMatching(/not in an admin group/) },
    });
    expect((await b.call('GET', '/api/queues')).status).toBe(200);
    expect((await fetch(`${b.url}/health`)).status).toBe(200);
    expect((await fetch(`${b.url}/metrics`)).status).toBe(200);
  });

  it('can close health and metrics too (admin.open: [])', async () => {
    b = await startAdminBroker({ admin: { open: [] } });
    expect((await fetch(`${b.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${b.url}/health`)).status).toBe(401);
    expect((await b.call('GET', '/health')).status).toBe(200);
  });

  it('describes every route in /api/openapi.json', async () => {
    b = await startAdminBroker();
    const doc = (await (await fetch(`${b.url}/api/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths['/api/queues/{name}/move'] ?? {})).toEqual(['post']);
    expect(Object.keys(doc.paths['/api/connections/{id}'] ?? {})).toEqual(['delete']);
    expect(doc.paths['/api/queues/{name}/messages']).toHaveProperty('get');
    expect(doc.paths['/api/queues/{name}/messages']).toHaveProperty('post');
    expect(Object.keys(doc.paths['/api/delivery-streams'] ?? {})).toEqual(['get', 'post']);
  });
});

describe('queues through the API', () => {
  it('creates, sends, browses (text and binary bodies), moves by selector, copies, purges and deletes; each change is logged once', async () => {
    const log = new CapturedLog();
    b = await startAdminBroker({}, log.log);
    const stompPort = b.server.listeners.port('stomp', 'tcp')!;
    expect(await b.call('POST', '/api/queues', { name: 'orders' })).toEqual({ status: 200, body: { created: true } });
    await stompSend(stompPort, '/queue/orders', ['cheap-1', 'cheap-2'], { price: '5' });
    await stompSend(stompPort, '/queue/orders', ['dear-1'], { price: '500' });
    expect(
      (await b.call('POST', '/api/queues/orders/messages', { body: Buffer.from([0, 255, 1]).toString('base64'), bodyEncoding: 'base64' }))
        .status,
    ).toBe(200);

    const list = (await b.call('GET', '/api/queues')).body as Array<Record<string, unknown>>;
    expect(list.find((q) => q.name === 'orders')).toMatchObject({
      depth: 4,
      ready: 4,
      enqueued: 4,
      consumers: 0,
      deadLetter: false,
      enqueueRate: expect.any(Number),
      dequeueRate: expect.any(Number),
    });
    const browsed = (await b.call('GET', '/api/queues/orders/messages?limit=10')).body as Array<Record<string, unknown>>;
    expect(browsed.map((m) => m.body)).toEqual(['cheap-1', 'cheap-2', 'dear-1', 'AP8B']);
    expect(browsed[3]).toMatchObject({ bodyEncoding: 'base64', size: 3 });
    expect(browsed[0]).toMatchObject({ properties: { price: '5' }, persistent: true, deliveryCount: 0 });
    expect(((await b.call('GET', '/api/queues/orders/messages?offset=2&limit=1')).body as Array<{ body: string }>)[0]!.body).toBe('dear-1');

    expect(await b.call('POST', '/api/queues/orders/move', { to: 'orders.big', selector: "price = '500'" })).toEqual({
      status: 200,
      body: { moved: 1 },
    });
    expect(await b.call('POST', '/api/queues/orders/move', { to: 'orders.audit', copy: true })).toEqual({
      status: 200,
      body: { copied: 3 },
    });
    const big = (await b.call('GET', '/api/queues/orders.big/messages')).body as Array<{ body: string }>;
    expect(big.map((m) => m.body)).toEqual(['dear-1']);
    expect((await b.call('GET', '/api/queues/orders')).body).toMatchObject({ depth: 3 });
    expect((await b.call('GET', '/api/queues/orders.audit')).body).toMatchObject({ depth: 3 });
    const first = browsed[0]!.id as string;
    expect(await b.call('POST', '/api/queues/orders/move', { to: 'orders.one', ids: [first] })).toEqual({
      status: 200,
      body: { moved: 1 },
    });

    expect(await b.call('POST', '/api/queues/orders/purge')).toEqual({ status: 200, body: { purged: 2 } });
    expect((await b.call('GET', '/api/queues/orders')).body).toMatchObject({ depth: 0 });
    expect(await b.call('DELETE', '/api/queues/orders.audit')).toEqual({ status: 200, body: { deleted: true } });
    expect((await b.call('GET', '/api/queues/orders.audit')).status).toBe(404);
    expect((await b.call('POST', '/api/queues/nowhere/purge')).status).toBe(404);
    expect((await b.call('POST', '/api/queues/orders/move', { to: 'x', selector: 'price >' })).status).toBe(400);

    const changes = log.lines.filter((l) => l.msg === 'admin change');
    expect(changes.map((l) => [l.admin, l.action, l.target])).toEqual([
      ['admin', 'create queue', undefined],
      ['admin', 'send to queue', 'orders'],
      ['admin', 'move messages', 'orders'],
      ['admin', 'move messages', 'orders'],
      ['admin', 'move messages', 'orders'],
      ['admin', 'purge queue', 'orders'],
      ['admin', 'delete queue', 'orders.audit'],
    ]);
    expect(changes[0]).toMatchObject({ request: { name: 'orders' } });
  });

  it('purges a queue whose messages are mostly paged out to the store', async () => {
    b = await startAdminBroker({ destinations: { defaults: { redeliveryDelayMs: 0, pageWindowMessages: 10 } } });
    for (let i = 0; i < 60; i++)
      await b.server.broker.publish(
        { destination: { kind: 'queue', name: 'deep' }, body: Buffer.from(`m${i}`), persistent: true },
        { connectionId: 't' },
      );
    expect((await b.call('GET', '/api/queues/deep')).body).toMatchObject({ depth: 60 });
    expect(await b.call('POST', '/api/queues/deep/purge')).toEqual({ status: 200, body: { purged: 60 } });
    expect((await b.call('GET', '/api/queues/deep')).body).toMatchObject({ depth: 0, pagedOut: 0 });
  });

  it('redrives a dead-letter queue to where its messages came from', async () => {
    b = await startAdminBroker({ destinations: { defaults: { redeliveryDelayMs: 0, maxDeliveries: 1 } } });
    const port = b.server.listeners.port('stomp', 'tcp')!;
    await stompSend(port, '/queue/jobs', ['job-1', 'job-2']);
    const c = await RawStomp.connect(port, STOMP);
    c.send('SUBSCRIBE', { destination: '/queue/jobs', id: 's', ack: 'client-individual' });
    for (let i = 0; i < 2; i++) c.send('NACK', { id: (await c.expect('MESSAGE')).headers.get('ack')! });
    c.send('UNSUBSCRIBE', { id: 's', receipt: 'u' });
    await c.expect('RECEIPT');
    await expect.poll(async () => ((await b!.call('GET', '/api/queues/DLQ.jobs')).body as { depth?: number }).depth).toBe(2);
    const queues = (await b.call('GET', '/api/queues')).body as Array<{ name: string; deadLetter: boolean }>;
    expect(queues.find((q) => q.name === 'DLQ.jobs')?.deadLetter).toBe(true);
    expect(await b.call('POST', '/api/queues/DLQ.jobs/redrive')).toEqual({ status: 200, body: { moved: 2, kept: 0 } });
    const back = (await b.call('GET', '/api/queues/jobs/messages')).body as Array<{
      body: string;
      deliveryCount: number;
      annotations: object;
    }>;
    expect(back.map((m) => [m.body, m.deliveryCount, m.annotations])).toEqual([
      ['job-1', 0, {}],
      ['job-2', 0, {}],
    ]);
    c.socket.destroy();
  });
});

describe('connections and subscriptions through the API', () => {
  it('lists STOMP, MQTT and AMQP connections with client id, user and message counts, and closes them', async () => {
    b = await startAdminBroker();
    const stomp = await RawStomp.connect(b.server.listeners.port('stomp', 'tcp')!, { ...STOMP, 'client-id': 'stomp-app' });
    stomp.send('SUBSCRIBE', { destination: '/queue/watch', id: 'w', receipt: 'sub' });
    await stomp.expect('RECEIPT');
    stomp.send('SEND', { destination: '/queue/watch' }, 'ping');
    await stomp.expect('MESSAGE');
    const device = mqtt.connect(`mqtt://127.0.0.1:${b.server.listeners.port('mqtt', 'tcp')}`, {
      clientId: 'sensor-1',
      username: 'app',
      password: 's3cret',
      reconnectPeriod: 0,
    });
    await new Promise<void>((resolve) => device.once('connect', () => resolve()));
    const amqp = await AmqpClient.connect(b.server.listeners.port('amqp', 'tcp')!, {
      container_id: 'amqp-app',
      username: 'app',
      password: 's3cret',
    });

    await expect.poll(async () => ((await b!.call('GET', '/api/connections')).body as unknown[]).length).toBe(3);
    const conns = (await b.call('GET', '/api/connections')).body as Array<Record<string, unknown>>;
    const byProtocol = Object.fromEntries(conns.map((c) => [c.protocol, c]));
    expect(byProtocol.stomp).toMatchObject({
      clientId: 'stomp-app',
      protocolVersion: '1.2',
      user: 'app',
      transport: 'tcp',
      subscriptions: ['queue://watch'],
      messagesIn: 1,
      messagesOut: 1,
    });
    expect(byProtocol.stomp!.remoteAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(byProtocol.mqtt).toMatchObject({ clientId: 'sensor-1', user: 'app', protocolVersion: '3.1.1' });
    expect(byProtocol.amqp).toMatchObject({ clientId: 'amqp-app', user: 'app', protocolVersion: '1.0' });

    const mqttClosed = new Promise<void>((resolve) => device.once('close', () => resolve()));
    expect(await b.call('DELETE', `/api/connections/${String(byProtocol.mqtt!.id)}`)).toEqual({ status: 200, body: { closed: true } });
    await mqttClosed;
    expect(await b.call('DELETE', `/api/connections/${String(byProtocol.stomp!.id)}`)).toEqual({ status: 200, body: { closed: true } });
    const error = await stomp.expect('ERROR');
    expect(error.headers.get('message')).toBe('Closed by an administrator (admin)');
    await stomp.closed;
    const amqpClosed = new Promise<void>((resolve) => amqp.conn.once('connection_close', () => resolve()));
    expect((await b.call('DELETE', `/api/connections/${String(byProtocol.amqp!.id)}`)).status).toBe(200);
    await amqpClosed;
    expect(amqp.conn.error).toMatchObject({ condition: 'amqp:connection:forced', description: 'Closed by an administrator (admin)' });
    await expect.poll(async () => ((await b!.call('GET', '/api/connections')).body as unknown[]).length).toBe(0);
    expect((await b.call('DELETE', '/api/connections/nope')).status).toBe(404);
    device.end(true);
    amqp.close();
  });

  it('lists a durable subscription with its backlog and deletes it', async () => {
    b = await startAdminBroker();
    const port = b.server.listeners.port('stomp', 'tcp')!;
    const sub = await RawStomp.connect(port, { ...STOMP, 'client-id': 'news-app' });
    sub.send('SUBSCRIBE', { destination: '/topic/news', id: 'n', 'activemq.subscriptionName': 'daily', receipt: 's' });
    await sub.expect('RECEIPT');
    sub.send('DISCONNECT', { receipt: 'bye' });
    await sub.expect('RECEIPT');
    await stompSend(port, '/topic/news', ['a', 'b']);
    const subs = (await b.call('GET', '/api/subscriptions')).body as Array<Record<string, unknown>>;
    expect(subs).toEqual([
      expect.objectContaining({ topic: 'news', clientId: 'news-app', subscriptionName: 'daily', shared: false, backlog: 2, consumers: 0 }),
    ]);
    const topics = (await b.call('GET', '/api/topics')).body;
    expect(topics).toEqual([{ topic: 'news', subscriptions: 1, consumers: 0, backlog: 2 }]);
    expect(await b.call('DELETE', `/api/subscriptions/${encodeURIComponent(String(subs[0]!.name))}`)).toEqual({
      status: 200,
      body: { deleted: true },
    });
    expect((await b.call('GET', '/api/subscriptions')).body).toEqual([]);
  });
});

describe('/metrics', () => {
  it('reports connections and messages by protocol, per-destination series capped to the largest queues, role and epoch', async () => {
    b = await startAdminBroker({ admin: { metricsDestinations: 2 } });
    const port = b.server.listeners.port('stomp', 'tcp')!;
    await stompSend(port, '/queue/big', ['1', '2', '3']);
    await stompSend(port, '/queue/mid', ['1', '2']);
    await stompSend(port, '/queue/small', ['1']);
    const keep = await RawStomp.connect(port, STOMP);
    const text = await (await fetch(`${b.url}/metrics`)).text();
    expect(text).toMatch(/^# TYPE junction_messages_in_total counter$/m);
    expect(text).toMatch(/^junction_messages_in_total\{protocol="stomp"\} 6$/m);
    expect(text).toMatch(/^junction_connections\{protocol="stomp"\} 1$/m);
    expect(text).toMatch(/^junction_queue_size\{destination="queue:\/\/big"\} 3$/m);
    expect(text).toMatch(/^junction_queue_size\{destination="queue:\/\/mid"\} 2$/m);
    expect(text).not.toMatch(/destination="queue:\/\/small"/);
    expect(text).toMatch(/^junction_queue_enqueued_total\{destination="queue:\/\/big"\} 3$/m);
    expect(text).toMatch(/^junction_queues 3$/m);
    expect(text).toMatch(/^junction_role 1$/m);
    expect(text).toMatch(/^junction_epoch 1$/m);
    expect(text).toMatch(/^junction_store_batch_seconds_count \d+$/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    expect(text).toMatch(/^process_resident_memory_bytes /m);
    keep.socket.destroy();
  });

  it('counts the publishes the memory alarm refused after limits.memoryAlarmPublishTimeoutMs', async () => {
    const low = await startAdminBroker({ limits: { memoryHighWatermark: '1MiB', memoryAlarmPublishTimeoutMs: 100 } });
    b = low;
    await vi.waitFor(() => expect(low.server.broker.memory?.alarm).toBe(true), { timeout: 5000, interval: 20 });
    const c = await RawStomp.connect(low.server.listeners.port('stomp', 'tcp')!, STOMP);
    c.send('SEND', { destination: '/queue/late', receipt: 'r' }, 'x');
    expect((await c.expect('ERROR')).headers.get('message')).toMatch(/limits.memoryAlarmPublishTimeoutMs/);
    c.close();
    const text = await (await fetch(`${low.url}/metrics`)).text();
    expect(text).toMatch(/^junction_memory_alarm 1$/m);
    expect(text).toMatch(/^junction_memory_alarm_refused_total 1$/m);
  });
});
