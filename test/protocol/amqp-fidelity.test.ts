// AMQP to AMQP, the message arrives as it was sent (AMQP 1.0 §3.2): the bare message byte for
// byte, message-annotations kept, a new header (ttl left, delivery-count, first-acquirer), the
// delivery-annotations dropped. Application-properties of forbidden types are refused. Typed ids
// cross to STOMP with ActiveMQ's prefixes and come back typed. Clients: rhea here, proton below.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import rhea, { type Message } from 'rhea';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rawOf } from '../../adapters/amqp/rhea-fixes.ts';
import { HEADER, MESSAGE_ANNOTATIONS, PROPERTIES, splitSections } from '../../adapters/amqp/sections.ts';
import { AmqpClient, startAmqpServer, type AmqpTestServer } from '../helpers/amqp.ts';
import { startRedis } from '../helpers/redis-server.ts';
import { RawStomp } from '../helpers/stomp.ts';

const run = promisify(execFile);
const t = rhea.types;

let s: AmqpTestServer;
const clients: Array<{ close(): void }> = [];
beforeAll(async () => {
  s = await startAmqpServer();
});
afterAll(async () => {
  await s?.stop();
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
async function client(): Promise<AmqpClient> {
  const c = await AmqpClient.connect(s.port);
  clients.push(c);
  return c;
}
let n = 0;
const unique = (base: string): string => `fidelity.${base}.${++n}`;

/** The bare message and footer: everything from the properties section (or the first bare section) on. */
function bare(b: Buffer): Buffer {
  const sections = splitSections(b);
  const first = sections.find((x) => x.code >= PROPERTIES);
  return b.subarray(first?.start ?? b.length);
}

function annotationsOf(b: Buffer): Record<string, unknown> {
  return (rhea.message.decode(b).message_annotations ?? {}) as Record<string, unknown>;
}

// rhea's typings omit the typed wrappers' exact shapes; the values below are what it encodes.
const typed = (v: unknown): never => v as never;

function richMessage(body: unknown): Message {
  return {
    durable: true,
    priority: 7,
    ttl: 60_000,
    message_id: typed(t.wrap_uuid(Buffer.from('00112233445566778899aabbccddeeff', 'hex'))),
    correlation_id: typed(t.wrap_ulong(Buffer.from('ff00000000000001', 'hex'))),
    subject: 'Order',
    reply_to: '/queue/replies',
    content_encoding: 'identity',
    creation_time: new Date(1_700_000_000_000),
    group_id: 'g',
    group_sequence: 3,
    reply_to_group_id: 'rg',
    delivery_annotations: { 'x-opt-hop': 'one' },
    message_annotations: { 'x-opt-jms-msg-type': typed(t.wrap_byte(5)), 'x-opt-app': 'kept' },
    application_properties: {
      int: typed(t.wrap_int(5)),
      long: typed(t.wrap_long(2 ** 60)),
      whole: typed(t.wrap_double(3)),
      when: typed(t.wrap_timestamp(1_700_000_000_123)),
      letter: typed(t.wrap_char(65)),
      bytes: typed(t.wrap_binary(Buffer.from([0, 0xff]))),
      big: typed(t.wrap_ulong(Buffer.from('ff00000000000001', 'hex'))),
      nothing: null,
      text: 'plain',
    },
    footer: { 'x-opt-sig': 'abc' },
    body,
  } as Message;
}

const BODIES: Array<[string, unknown]> = [
  ['amqp-value map (JMS MapMessage)', { a: 1, b: 'two' }],
  ['amqp-value list', [1, 'two', true]],
  ['amqp-value null', null],
  ['amqp-sequence', rhea.message.sequence_section([1, 2])],
  ['amqp-value uuid', t.wrap_uuid(Buffer.alloc(16, 7))],
  ['amqp-value symbol', t.wrap_symbol('sym')],
  ['string', 'text'],
  ['two data sections', rhea.message.data_sections([Buffer.from([0, 1]), Buffer.from([0xff])])],
];

describe('AMQP to AMQP: the message as sent', () => {
  it('keeps the bare message byte for byte, message-annotations, and sends a header with the ttl left', async () => {
    const c = await client();
    const q = unique('bare');
    const snd = await c.sender(`queue://${q}`);
    for (const [, body] of BODIES) expect((await c.send(snd, richMessage(body))).outcome).toBe('accepted');
    const { got } = await c.receiver({ source: `queue://${q}`, credit_window: 20 });
    for (let i = 0; i < BODIES.length; i++) {
      const [name, body] = BODIES[i] as [string, unknown];
      const r = await got.nth(i + 1);
      const raw = rawOf(r.message) as Buffer;
      const sent = rhea.message.encode(richMessage(body));
      expect(bare(raw).equals(bare(sent)), name).toBe(true);
      // The broker's own facts (here: the group's first message for this consumer) are added after them.
      expect(annotationsOf(raw), name).toEqual({
        'x-opt-jms-msg-type': 5,
        'x-opt-app': 'kept',
        ...(i === 0 ? { 'x-opt-JMSXGroupFirstForConsumer': true } : {}),
      });
      expect(r.message.delivery_annotations, name).toBeUndefined();
      expect(
        splitSections(raw)
          .map((x) => x.code)
          .slice(0, 2),
      ).toEqual([HEADER, MESSAGE_ANNOTATIONS]);
      expect(r.message).toMatchObject({ durable: true, priority: 7, first_acquirer: true });
      expect(r.message.delivery_count ?? 0).toBe(0);
      expect(r.message.ttl).toBeGreaterThan(50_000);
      expect(r.message.ttl).toBeLessThanOrEqual(60_000);
      // A ttl alone is not turned into an absolute-expiry-time.
      expect(r.message.absolute_expiry_time).toBeUndefined();
      r.delivery.accept();
    }
  });

  it('refuses an application-property of a type the spec forbids there, and goes on serving', async () => {
    const c = await client();
    const q = unique('forbidden');
    const snd = await c.sender(`queue://${q}`);
    for (const bad of [t.wrap_list([1, 2]), t.wrap_map({ a: 1 }), t.wrap_array([1, 2], 0x71, undefined)]) {
      const out = await c.send(snd, { body: 'x', application_properties: { bad: typed(bad) } });
      expect(out.outcome).toBe('rejected');
      expect(out.error).toMatchObject({
        condition: 'amqp:invalid-field',
        description: expect.stringMatching(/"bad" is a (list|map|array)/),
      });
    }
    expect((await c.send(snd, { body: 'fine', application_properties: { ok: 1 } })).outcome).toBe('accepted');
    expect(s.server.broker.getQueue(q)?.messages).toBe(1);
  });

  it('carries typed ids to STOMP with ActiveMQ prefixes and restores their types on the way back', async () => {
    const c = await client();
    const q = unique('ids');
    const snd = await c.sender(`queue://${q}`);
    await c.send(snd, richMessage('to stomp'));
    const stomp = await RawStomp.connect(s.stompPort);
    clients.push(stomp);
    stomp.send('SUBSCRIBE', { id: '1', destination: `/queue/${q}` });
    const frame = await stomp.expect('MESSAGE');
    expect(frame.headers.get('correlation-id')).toBe('AMQP_ULONG:18374686479671623681');
    expect(frame.headers.get('reply-to')).toBe('/queue/replies');
    expect(frame.headers.get('type')).toBe('Order');
    expect(frame.headers.get('timestamp')).toBe('1700000000000');
    expect(frame.headers.get('int')).toBe('5');
    expect(frame.headers.get('long')).toBe('1152921504606846976');
    expect(frame.headers.get('big')).toBe('18374686479671623681');
    expect(frame.headers.get('when')).toBe('1700000000123');
    expect(frame.headers.get('letter')).toBe('A');
    expect(frame.headers.get('bytes')).toBe(Buffer.from([0, 0xff]).toString('base64'));
    expect(frame.headers.get('JMSXGroupSeq')).toBe('3');

    const back = unique('ids-back');
    for (const id of ['AMQP_UUID:00112233-4455-6677-8899-aabbccddeeff', 'AMQP_BINARY:00FF', 'AMQP_STRING:AMQP_ULONG:7']) {
      stomp.send('SEND', { destination: `/queue/${back}`, 'correlation-id': id, receipt: id }, 'reply');
      await stomp.expect('RECEIPT');
    }
    const { got } = await c.receiver({ source: `queue://${back}`, credit_window: 10 });
    const ids: unknown[] = [];
    for (let i = 1; i <= 3; i++) ids.push((await got.nth(i)).message.correlation_id);
    expect(ids[0]).toEqual(Buffer.from('00112233445566778899aabbccddeeff', 'hex'));
    expect(ids[1]).toEqual(Buffer.from([0, 0xff]));
    expect(ids[2]).toBe('AMQP_ULONG:7');
  });
});

describe('AMQP to AMQP on Redis', () => {
  it('a message kept as sent survives paging out and a broker restart byte for byte', async () => {
    const redis = await startRedis();
    const config = {
      cluster: 'fidelity-redis',
      store: { type: 'redis', redis: { url: redis.url } },
      destinations: { defaults: { pageWindowMessages: 2 } },
    };
    const q = unique('paged');
    const sent = BODIES.map(([, body]) => rhea.message.encode(richMessage(body)));
    let srv = await startAmqpServer(config);
    try {
      const c = await AmqpClient.connect(srv.port);
      const snd = await c.sender(`queue://${q}`);
      for (const [, body] of BODIES) expect((await c.send(snd, richMessage(body))).outcome).toBe('accepted');
      c.close();
      await srv.stop();
      srv = await startAmqpServer(config);
      const again = await AmqpClient.connect(srv.port);
      const { got } = await again.receiver({ source: `queue://${q}`, credit_window: 20 });
      for (let i = 0; i < BODIES.length; i++) {
        const r = await got.nth(i + 1);
        expect(bare(rawOf(r.message) as Buffer).equals(bare(sent[i] as Buffer)), BODIES[i]![0]).toBe(true);
        r.delivery.accept();
      }
      again.close();
    } finally {
      await srv.stop();
      await redis.stop();
    }
  });
});

describe('AMQP to AMQP with python3-qpid-proton', () => {
  it('a message with typed ids, properties, annotations and each body kind comes back with every type', async () => {
    const { stdout } = await run('/usr/bin/python3', ['test/fixtures/amqp_proton_fidelity.py', `127.0.0.1:${s.port}`, unique('proton')], {
      timeout: 30_000,
    });
    const out = JSON.parse(stdout) as { cases: Array<{ name: string; sent: unknown; got: unknown }>; header: Record<string, unknown> };
    expect(out.cases.length).toBeGreaterThanOrEqual(6);
    for (const c of out.cases) expect(c.got, c.name).toEqual(c.sent);
    expect(out.header).toMatchObject({ durable: true, priority: 7, first_acquirer: true, delivery_count: 0 });
    expect(out.header.ttl as number).toBeGreaterThan(50);
    expect(out.header.ttl as number).toBeLessThanOrEqual(60);
  });
});
