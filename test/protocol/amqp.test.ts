// The AMQP 1.0 adapter with rhea as the client: at-least-once send and receive, credit and drain,
// outcomes, durable and shared subscriptions, selectors, request/reply through a dynamic receiver,
// the anonymous relay, pre-settled sends, conversions to and from STOMP, SASL and authorization.
import rhea, { type ConnectionOptions, type EventContext, type Message } from 'rhea';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/security/password.ts';
import { AmqpClient, startAmqpServer, type AmqpTestServer } from '../helpers/amqp.ts';
import { Collector } from '../helpers/collector.ts';
import { RawStomp } from '../helpers/stomp.ts';
import { WebSocket } from 'ws';

let s: AmqpTestServer;
const clients: Array<{ close(): void }> = [];
beforeAll(async () => {
  s = await startAmqpServer({ destinations: { defaults: { redeliveryDelayMs: 0, maxDeliveries: 3 } } });
});
afterAll(async () => {
  await s?.stop();
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
async function client(opts: Parameters<typeof AmqpClient.connect>[1] = {}): Promise<AmqpClient> {
  const c = await AmqpClient.connect(s.port, opts);
  clients.push(c);
  return c;
}
let n = 0;
const unique = (base: string): string => `${base}.${++n}`;
const text = (m: Message): string =>
  typeof m.body === 'string' ? m.body : Buffer.from((m.body as { content: Buffer }).content).toString();

describe('AMQP: connection capabilities', () => {
  it("offers what Qpid JMS looks for, and ActiveMQ's address prefixes", async () => {
    const c = await client();
    const open = (c.conn as unknown as { remote: { open: { offered_capabilities: unknown; properties: Record<string, unknown> } } }).remote
      .open;
    expect([open.offered_capabilities].flat().map(String)).toEqual(
      expect.arrayContaining(['ANONYMOUS-RELAY', 'SHARED-SUBS', 'DELAYED_DELIVERY', 'sole-connection-for-container']),
    );
    expect(open.properties).toMatchObject({ 'queue-prefix': 'queue://', 'topic-prefix': 'topic://' });
    c.close();
  });

  it('refuses a second connection of a container that asks to be the only one (a JMS client id in use)', async () => {
    const sole = { container_id: `jms-app-${unique('c')}`, desired_capabilities: 'sole-connection-for-container' };
    const first = await client(sole as never);
    const refused = rhea.create_container().connect({ host: '127.0.0.1', port: s.port, reconnect: false, ...sole } as ConnectionOptions);
    const failure = await new Promise<{ condition?: string; description?: string; info?: unknown }>((resolve) =>
      refused.once('connection_error', (e: EventContext) => resolve(e.connection.error as never)),
    );
    refused.on('disconnected', () => {});
    expect(failure).toMatchObject({ condition: 'amqp:invalid-field', description: expect.stringMatching(/already connected/) });
    expect(failure.info).toEqual({ 'invalid-field': 'container-id' });
    const opened = (refused as unknown as { remote: { open: { properties: Record<string, unknown> } } }).remote.open;
    expect(opened.properties['amqp:connection-establishment-failed']).toBe(true);
    // Without the capability, connections may share a container id (rhea opens all of a container's under one).
    const shared = { container_id: (sole as { container_id: string }).container_id };
    const other = await client(shared);
    other.close();
    first.close();
    const id = (sole as { container_id: string }).container_id;
    await expect.poll(() => s.server.broker.connections.list().filter((c) => c.clientId === id).length).toBe(0);
    // Once the first has gone, the client id is free again: the new connection works.
    const again = await client(sole as never);
    await again.sender(`queue://${unique('sole')}`);
    again.close();
  });
});

describe('AMQP: sending and receiving', () => {
  it('accepts any SASL PLAIN login on a broker with no users configured, as ActiveMQ does', async () => {
    const c = await AmqpClient.connect(s.port, { username: 'legacy-app', password: 'old-secret' });
    const snd = await c.sender(`queue://${unique('legacy')}`);
    expect((await c.send(snd, { body: 'hello', durable: true })).outcome).toBe('accepted');
    c.close();
  });

  it('accepts a durable message only once it is stored, and delivers it at least once', async () => {
    const q = unique('orders');
    const c = await client();
    const snd = await c.sender(`queue://${q}`);
    expect(await c.send(snd, { body: 'order-1', durable: true })).toEqual({ outcome: 'accepted', error: undefined });
    const page = await s.server.broker.store.readQueue(q, undefined, 10);
    expect(page.entries.map((e) => Buffer.from(e.message.body).toString())).toEqual(['order-1']);
    const { got } = await c.receiver({ source: `queue://${q}`, credit_window: 10 });
    const r = await got.nth(1);
    expect(text(r.message)).toBe('order-1');
    expect(r.message.durable).toBe(true);
    r.delivery.accept();
  });

  it('credit limits deliveries, and drain ends with the credit used up', async () => {
    const q = unique('credit');
    const c = await client();
    const snd = await c.sender(`queue://${q}`);
    for (let i = 0; i < 5; i++) await c.send(snd, { body: `m${i}` });
    const { link, got } = await c.receiver({ source: `queue://${q}`, credit_window: 0 });
    link.add_credit(2);
    await got.nth(2);
    await expect(got.nth(3, 200)).rejects.toThrow(/timed out/);
    const drained = new Promise<void>((resolve) => link.once('receiver_drained', () => resolve()));
    link.drain = true;
    link.add_credit(10);
    await drained;
    expect(got.items.map((x) => text(x.message))).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect((link as unknown as { credit: number }).credit).toBe(0);
  });

  it('a drain on an empty queue is answered at once, credit back to 0 (Qpid JMS receive() with prefetch 0)', async () => {
    const c = await client();
    const { link } = await c.receiver({ source: `queue://${unique('empty')}`, credit_window: 0 });
    const drained = new Promise<void>((resolve) => link.once('receiver_drained', () => resolve()));
    link.drain = true;
    link.add_credit(1);
    await drained;
    expect((link as unknown as { credit: number }).credit).toBe(0);
  });

  it('an outcome sent just before a detach or close is applied first: accepted stays gone, rejected is dead-lettered', async () => {
    const q = unique('last-words');
    const c = await client();
    const snd = await c.sender(`queue://${q}`);
    for (let i = 0; i < 3; i++) await c.send(snd, { body: `m${i}`, durable: true });
    // Accept, then detach in the same tick: the disposition and the detach leave in one write.
    const first = await c.receiver({ source: `queue://${q}`, credit_window: 0 });
    first.link.add_credit(1);
    const m0 = await first.got.nth(1);
    const detached = new Promise<void>((resolve) => first.link.once('receiver_close', () => resolve()));
    m0.delivery.accept();
    first.link.close();
    await detached;
    // Reject, then close the connection in the same tick.
    const other = await client();
    const second = await other.receiver({ source: `queue://${q}`, credit_window: 0 });
    second.link.add_credit(1);
    const m1 = await second.got.nth(1);
    const closed = new Promise<void>((resolve) => other.conn.once('connection_close', () => resolve()));
    m1.delivery.reject({ condition: 'app:bad-order', description: 'cannot process m1' });
    other.conn.close();
    await closed;
    expect([text(m0.message), text(m1.message)]).toEqual(['m0', 'm1']);
    expect(s.server.broker.getQueue(q)).toMatchObject({ messages: 1, inflight: 0, stats: { acked: 1, deadLettered: 1, redelivered: 0 } });
    expect(s.server.broker.getQueue(`DLQ.${q}`)?.messages).toBe(1);
  });

  it('released returns a message now; modified redelivers with a count, or away from this link; rejected dead-letters', async () => {
    const q = unique('outcomes');
    const c = await client();
    const snd = await c.sender(`queue://${q}`);
    await c.send(snd, { body: 'x', durable: true });
    const { got } = await c.receiver({ source: `queue://${q}`, credit_window: 10 });
    const first = await got.nth(1);
    expect(first.message.first_acquirer).toBe(true);
    first.delivery.release();
    const second = await got.nth(2);
    expect(second.message.delivery_count ?? 0).toBe(0);
    expect(second.message.first_acquirer).toBe(false);
    second.delivery.modified({ delivery_failed: true });
    const third = await got.nth(3);
    expect(third.message.delivery_count).toBe(1);
    third.delivery.reject({ condition: 'app:bad-input', description: 'cannot parse x' });
    const { got: dead } = await c.receiver({ source: `queue://DLQ.${q}`, credit_window: 10 });
    const d = await dead.nth(1);
    expect(text(d.message)).toBe('x');
    // The bare message stays as sent: the broker's facts travel as message-annotations.
    expect(d.message.message_annotations?.['x-opt-dlqDeliveryFailureCause']).toBe('cannot parse x');
    expect(d.message.message_annotations?.['x-opt-originalDestination']).toBe(`queue://${q}`);
    expect(d.message.application_properties?.dlqDeliveryFailureCause).toBeUndefined();
    d.delivery.accept();

    await c.send(snd, { body: 'y' });
    const y = await got.nth(4);
    y.delivery.modified({ undeliverable_here: true });
    const other = await client();
    const { got: elsewhere } = await other.receiver({ source: `queue://${q}`, credit_window: 10 });
    expect(text((await elsewhere.nth(1)).message)).toBe('y');
    await expect(got.nth(5, 200)).rejects.toThrow(/timed out/);
  });

  it('a durable subscription (Qpid JMS style) receives while detached; closing the link unsubscribes', async () => {
    const t = unique('news');
    const source = { address: `topic://${t}`, durable: 2, expiry_policy: 'never', capabilities: ['topic'] };
    const sub = await client({ container_id: 'jms-client-1' });
    const first = await sub.receiver({ name: 'my-sub', source, credit_window: 10 });
    first.link.detach();
    await new Promise<void>((resolve) => first.link.once('receiver_close', () => resolve()));
    const pub = await client();
    const snd = await pub.sender({ target: { address: `topic://${t}` } });
    await pub.send(snd, { body: 'while away', durable: true });
    const again = await sub.receiver({ name: 'my-sub', source, credit_window: 10 });
    const r = await again.got.nth(1);
    expect(text(r.message)).toBe('while away');
    r.delivery.accept();
    again.link.close();
    await new Promise<void>((resolve) => again.link.once('receiver_close', () => resolve()));
    expect(s.server.broker.listSubscriptions().some((x) => x.subscriptionName === 'my-sub')).toBe(false);
  });

  it('shared subscriptions split the topic between their consumers', async () => {
    const t = unique('work');
    const source = { address: `topic://${t}`, capabilities: ['topic', 'shared'] };
    const a = await client();
    const b = await client();
    const ra = await a.receiver({ name: 'pool', source, credit_window: 1 });
    const rb = await b.receiver({ name: 'pool', source, credit_window: 1 });
    const all = new Collector<[string, string]>();
    ra.link.on('message', (e: EventContext) => {
      e.delivery?.accept();
      all.push(['a', text(e.message as Message)]);
    });
    rb.link.on('message', (e: EventContext) => {
      e.delivery?.accept();
      all.push(['b', text(e.message as Message)]);
    });
    const pub = await client();
    const snd = await pub.sender(`topic://${t}`);
    for (let i = 0; i < 10; i++) await pub.send(snd, { body: `w${i}` });
    await all.nth(10);
    await expect(all.nth(11, 200)).rejects.toThrow(/timed out/);
    expect(all.items.map(([, body]) => body).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `w${i}`).sort());
    expect(new Set(all.items.map(([link]) => link))).toEqual(new Set(['a', 'b']));
  });

  it('filters with a JMS selector source filter, and honours no-local', async () => {
    const t = unique('colors');
    const c = await client();
    const { got } = await c.receiver({
      source: { address: `topic://${t}`, filter: rhea.filter.selector("color = 'red'") },
      credit_window: 10,
    });
    const snd = await c.sender(`topic://${t}`);
    await c.send(snd, { body: 'blue', application_properties: { color: 'blue' } });
    await c.send(snd, { body: 'red', application_properties: { color: 'red' } });
    expect(text((await got.nth(1)).message)).toBe('red');
    await expect(got.nth(2, 200)).rejects.toThrow(/timed out/);
  });

  it('request/reply through a dynamic receiver', async () => {
    const service = await client();
    const q = unique('service');
    const { got: requests } = await service.receiver({ source: `queue://${q}`, credit_window: 10 });
    const requester = await client();
    const dyn = requester.conn.open_receiver({ source: { dynamic: true, address: undefined as unknown as string }, autoaccept: true });
    const replyTo = await new Promise<string>((resolve) => dyn.once('receiver_open', () => resolve(dyn.source.address)));
    expect(replyTo).toMatch(/^queue:\/\/TEMP\./);
    const replies: string[] = [];
    const replied = new Promise<void>((resolve) =>
      dyn.on('message', (e: EventContext) => {
        replies.push(text(e.message as Message));
        resolve();
      }),
    );
    const snd = await requester.sender(`queue://${q}`);
    await requester.send(snd, { body: 'ping', reply_to: replyTo, correlation_id: 'c-1' });
    const req = await requests.nth(1);
    req.delivery.accept();
    const relay = await service.sender({ target: {} });
    expect(await service.send(relay, { to: req.message.reply_to, body: 'pong', correlation_id: req.message.correlation_id })).toMatchObject(
      { outcome: 'accepted' },
    );
    await replied;
    expect(replies).toEqual(['pong']);
  });

  it('the anonymous relay needs a to address on each message', async () => {
    const c = await client();
    const relay = await c.sender({ target: {} });
    const res = await c.send(relay, { body: 'nowhere' });
    expect(res.outcome).toBe('rejected');
    expect(res.error?.description).toBe('A message on the anonymous relay needs a "to" address');
  });

  it('pre-settled sends are at-most-once: stored or dropped, never answered', async () => {
    const q = unique('fire');
    const c = await client();
    const snd = await c.sender({ target: { address: `queue://${q}` }, snd_settle_mode: 1 });
    snd.send({ body: 'f1' });
    snd.send({ body: 'f2' });
    const { got } = await c.receiver({ source: `queue://${q}`, credit_window: 10 });
    expect([text((await got.nth(1)).message), text((await got.nth(2)).message)]).toEqual(['f1', 'f2']);
  });
});

describe('AMQP: clients that vanish', () => {
  it('a sender whose connection drops before its message is stored harms nobody else', async () => {
    const q = unique('vanish');
    const quitter = await AmqpClient.connect(s.port);
    const snd = await quitter.sender(`queue://${q}`);
    for (let i = 0; i < 50; i++) snd.send({ body: `m${i}`, durable: true });
    quitter.close();
    const c = await client();
    const after = await c.sender(`queue://${q}`);
    expect(await c.send(after, { body: 'still fine', durable: true })).toMatchObject({ outcome: 'accepted' });
    const { got } = await c.receiver({ source: `queue://${q}`, credit_window: 100 });
    const last = await got.nth(s.server.broker.getQueue(q)!.messages);
    expect(text(last.message)).toBe('still fine');
  });
});

describe('AMQP: Qpid JMS conventions', () => {
  it('x-opt-delivery-delay schedules; bare reply-to with x-opt-jms-reply-to names a topic; absolute-expiry-time expires', async () => {
    const q = unique('jms');
    const c = await client();
    const snd = await c.sender({ target: { address: q, capabilities: ['queue'] } });
    const sent = Date.now();
    await c.send(snd, {
      body: 'later',
      reply_to: 'replies',
      message_annotations: { 'x-opt-delivery-delay': 200, 'x-opt-jms-reply-to': 1 },
    });
    await c.send(snd, { body: 'stale', absolute_expiry_time: new Date(Date.now() - 1000) });
    const { got } = await c.receiver({ source: { address: q, capabilities: ['queue'] }, credit_window: 10 });
    const m = (await got.nth(1)).message;
    expect(Date.now() - sent).toBeGreaterThanOrEqual(190);
    // An AMQP consumer gets reply-to as sent; the core (and so STOMP and MQTT) reads it as a topic.
    expect([text(m), m.reply_to, m.message_annotations?.['x-opt-jms-reply-to']]).toEqual(['later', 'replies', 1]);
    await expect(got.nth(2, 200)).rejects.toThrow(/timed out/);
  });
});

describe('AMQP: bare addresses', () => {
  it('follow the terminus capability, else amqp.bareAddress', async () => {
    const topics = await startAmqpServer({ amqp: { bareAddress: 'topic' } });
    try {
      const c = await AmqpClient.connect(topics.port);
      const { got } = await c.receiver({ source: 'prices.eur', credit_window: 10 });
      const snd = await c.sender('prices.eur');
      await c.send(snd, { body: 'as topic' });
      expect(text((await got.nth(1)).message)).toBe('as topic');
      expect(topics.server.broker.getQueue('prices.eur')).toBeUndefined();
      const q = await c.sender({ target: { address: 'jobs', capabilities: ['queue'] } });
      await c.send(q, { body: 'as queue' });
      expect(topics.server.broker.getQueue('jobs')?.messages).toBe(1);
      c.close();
    } finally {
      await topics.stop();
    }
  });
});

describe('AMQP: message size', () => {
  it("announces amqp.maxMessageBytes as each link's max-message-size and rejects a bigger message", async () => {
    const small = await startAmqpServer({ amqp: { maxMessageBytes: 4096 } });
    const c = await AmqpClient.connect(small.port);
    try {
      const q = unique('size');
      const snd = await c.sender(`queue://${q}`);
      expect(Number((snd as unknown as { remote: { attach: { max_message_size: unknown } } }).remote.attach.max_message_size)).toBe(4096);
      const big = await c.send(snd, { body: rhea.message.data_section(Buffer.alloc(8000, 1)) });
      expect(big.outcome).toBe('rejected');
      expect(big.error).toMatchObject({
        condition: 'amqp:link:message-size-exceeded',
        description: expect.stringMatching(/over this link's max-message-size of 4096/),
      });
      expect((await c.send(snd, { body: 'small' })).outcome).toBe('accepted');
      expect(small.server.broker.getQueue(q)?.messages).toBe(1);
    } finally {
      c.close();
      await small.stop();
    }
  });
});

describe('AMQP over WebSocket', () => {
  it('serves the shared WebSocket port (subprotocol amqp)', async () => {
    const ws = rhea.websocket_connect(WebSocket as never);
    const c = await AmqpClient.connect(0, { connection_details: ws(`ws://127.0.0.1:${s.wsPort}/`, ['amqp'], {}) } as never);
    clients.push(c);
    const q = unique('ws');
    const snd = await c.sender(`queue://${q}`);
    expect(await c.send(snd, { body: 'over ws', durable: true })).toMatchObject({ outcome: 'accepted' });
    const { got } = await c.receiver({ source: `queue://${q}`, credit_window: 1 });
    expect(text((await got.nth(1)).message)).toBe('over ws');
  });
});

describe('AMQP: queue browsers (distribution-mode copy)', () => {
  it('a copy-mode receiver sees every message, paged-out ones included, selector applied; a drain ends the browse; nothing is consumed', async () => {
    const small = await startAmqpServer({ destinations: { defaults: { pageWindowMessages: 4 } } });
    const c = await AmqpClient.connect(small.port);
    try {
      const q = 'browsed';
      const snd = await c.sender(`queue://${q}`);
      for (let i = 0; i < 10; i++) await c.send(snd, { body: `m${i}`, durable: true, application_properties: { n: i } });
      expect(small.server.broker.getQueue(q)).toMatchObject({ messages: 10, paged: 6 });
      const filter = { selector: rhea.filter.selector('n <> 5')['jms-selector'] };
      const { link, got } = await c.receiver({ source: { address: `queue://${q}`, distribution_mode: 'copy', filter }, credit_window: 0 });
      expect((link.source as { distribution_mode?: string }).distribution_mode).toBe('copy');
      link.add_credit(3);
      await got.nth(3);
      const drained = new Promise<void>((resolve) => link.once('receiver_drained', () => resolve()));
      link.drain = true;
      link.add_credit(100);
      await drained;
      expect(got.items.map((x) => text(x.message))).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm6', 'm7', 'm8', 'm9']);
      for (const x of got.items) x.delivery.accept();
      expect(small.server.broker.getQueue(q)).toMatchObject({ messages: 10, inflight: 0, stats: { dispatched: 0, acked: 0 } });
      // A consumer still takes all ten (accepting each: unsettled ones would hold the paging window).
      const { got: taken } = await c.receiver({ source: `queue://${q}` });
      for (let i = 1; i <= 10; i++) (await taken.nth(i)).delivery.accept();
      expect(taken.items.map((x) => text(x.message))).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
    } finally {
      c.close();
      await small.stop();
    }
  });
});

describe('AMQP: duplicate detection (_AMQ_DUPL_ID)', () => {
  it('a repeated _AMQ_DUPL_ID application property is accepted but not routed again, whichever protocol repeats it', async () => {
    const q = unique('dedup');
    const c = await client();
    const snd = await c.sender(`queue://${q}`);
    const dup = { _AMQ_DUPL_ID: 'invoice-42' };
    expect((await c.send(snd, { body: 'invoice', durable: true, application_properties: dup })).outcome).toBe('accepted');
    expect((await c.send(snd, { body: 'invoice (retry)', durable: true, application_properties: dup })).outcome).toBe('accepted');
    const stomp = await RawStomp.connect(s.stompPort);
    clients.push(stomp);
    stomp.send('SEND', { destination: `/queue/${q}`, persistent: 'true', _AMQ_DUPL_ID: 'invoice-42', receipt: 'r' }, 'invoice (stomp)');
    await stomp.expect('RECEIPT');
    expect(s.server.broker.getQueue(q)).toMatchObject({ messages: 1, stats: { enqueued: 1 } });
    const { got } = await c.receiver({ source: `queue://${q}` });
    const m = (await got.nth(1)).message;
    expect([text(m), m.application_properties?._AMQ_DUPL_ID]).toEqual(['invoice', 'invoice-42']);
  });
});

describe('AMQP <-> STOMP', () => {
  it('AMQP -> STOMP: identical bytes and mapped properties', async () => {
    const q = unique('bridge');
    const stomp = await RawStomp.connect(s.stompPort);
    clients.push(stomp);
    stomp.send('SUBSCRIBE', { id: '1', destination: `/queue/${q}`, receipt: 'r' });
    await stomp.expect('RECEIPT');
    const c = await client();
    const snd = await c.sender(`queue://${q}`);
    const bin = Buffer.from([0, 1, 2, 0, 254, 255]);
    await c.send(snd, {
      body: rhea.message.data_section(bin),
      durable: true,
      priority: 7,
      subject: 'order',
      correlation_id: 'corr-9',
      content_type: 'application/octet-stream',
      group_id: 'g',
      application_properties: { region: 'eu', n: 3 },
    });
    const m = await stomp.expect('MESSAGE');
    expect(m.body).toEqual(bin);
    expect(Object.fromEntries(m.headers)).toMatchObject({
      persistent: 'true',
      priority: '7',
      type: 'order',
      'correlation-id': 'corr-9',
      'content-type': 'application/octet-stream',
      JMSXGroupID: 'g',
      region: 'eu',
      n: '3',
    });
    await c.send(snd, { body: 'héllo' });
    const t = await stomp.expect('MESSAGE');
    expect(t.body.toString('utf8')).toBe('héllo');
    expect(t.headers.get('content-type')).toBe('text/plain');
  });

  it('STOMP -> AMQP: text becomes an amqp-value string, bytes a data section', async () => {
    const q = unique('back');
    const c = await client();
    const { got } = await c.receiver({ source: `queue://${q}`, credit_window: 10 });
    const stomp = await RawStomp.connect(s.stompPort);
    clients.push(stomp);
    stomp.send('SEND', { destination: `/queue/${q}`, 'content-type': 'text/plain', 'reply-to': '/queue/answers', k: 'v' }, 'plain text');
    stomp.send('SEND', { destination: `/queue/${q}` }, Buffer.from([9, 0, 9]));
    const t = (await got.nth(1)).message;
    expect(t.body).toBe('plain text');
    expect([t.reply_to, t.application_properties?.k, t.to]).toEqual(['queue://answers', 'v', `queue://${q}`]);
    const b = (await got.nth(2)).message;
    expect(Buffer.from((b.body as { content: Buffer }).content)).toEqual(Buffer.from([9, 0, 9]));
  });
});

describe('AMQP: security', () => {
  let secure: AmqpTestServer;
  beforeAll(async () => {
    secure = await startAmqpServer({
      security: {
        users: [{ username: 'app', passwordHash: await hashPassword('app-pw'), groups: ['apps'] }],
        authorization: [{ queue: 'orders.>', read: ['apps'], write: ['apps'], admin: ['apps'] }],
      },
    });
  });
  afterAll(async () => {
    await secure?.stop();
  });

  it('SASL PLAIN: a bad password is refused; anonymous is refused when not configured', async () => {
    await expect(AmqpClient.connect(secure.port, { username: 'app', password: 'wrong' })).rejects.toThrow();
    await expect(AmqpClient.connect(secure.port, {})).rejects.toThrow();
  });

  it('authorizes each link on attach', async () => {
    const c = await AmqpClient.connect(secure.port, { username: 'app', password: 'app-pw' });
    clients.push(c);
    const ok = await c.sender('queue://orders.new');
    expect(await c.send(ok, { body: 'fine' })).toMatchObject({ outcome: 'accepted' });
    const denied = c.conn.open_sender('queue://payroll');
    const err = await new Promise<string>((resolve) =>
      denied.once('sender_error', (e: EventContext) => resolve(String((e.sender?.error as { condition?: string })?.condition))),
    );
    expect(err).toBe('amqp:unauthorized-access');
    const noRead = c.conn.open_receiver({ source: 'queue://payroll' });
    const err2 = await new Promise<string>((resolve) =>
      noRead.once('receiver_error', (e: EventContext) => resolve(String((e.receiver?.error as { condition?: string })?.condition))),
    );
    expect(err2).toBe('amqp:unauthorized-access');
  });

  it('speaks AMQP over TLS (amqps) on its TLS port', async () => {
    const c = await AmqpClient.connect(secure.tlsPort, {
      username: 'app',
      password: 'app-pw',
      transport: 'tls',
      ca: [secure.cert.cert],
      servername: 'localhost',
    } as never);
    clients.push(c);
    const snd = await c.sender('queue://orders.tls');
    expect(await c.send(snd, { body: 'secure' })).toMatchObject({ outcome: 'accepted' });
  });
});
