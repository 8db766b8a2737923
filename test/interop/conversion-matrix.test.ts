// The conversion matrix: every ordered pair of (MQTT 3.1.1, MQTT 5, STOMP, AMQP) × (TCP, WebSocket) and
// OpenWire (ActiveMQ's Java client, over TCP), each
// publishing to a topic the other subscribes to. Bodies: UTF-8 text, binary with NUL and 0xFF,
// empty, 1 MB. One message sets every field its protocol carries, and the consumer must see exactly
// the fields the mapping table (adapters/message-mapping.ts, which docs/message-mapping.md is made
// from) says both protocols carry. Then request/reply across protocols, both ways.
import { randomBytes } from 'node:crypto';
import rhea, { type Message as AmqpMessage, type Sender } from 'rhea';
import type { IClientPublishOptions, MqttClient } from 'mqtt';
import type { IPublishPacket } from 'mqtt-packet';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAPPING } from '../../adapters/index.ts';
import type { MatrixField } from '../../adapters/message-mapping.ts';
import type { JunctionServer } from '../../src/server.ts';
import { AmqpClient, type Received } from '../helpers/amqp.ts';
import { Collector } from '../helpers/collector.ts';
import { connectMqtt, endMqtt } from '../helpers/mqtt.ts';
import { startTestServer } from '../helpers/server.ts';
import { probeClassPath, startProbe } from '../helpers/openwire.ts';
import { amqpAdapter } from '../../adapters/amqp/index.ts';
import { mqttAdapter } from '../../adapters/mqtt/index.ts';
import { openwireAdapter } from '../../adapters/openwire/index.ts';
import { stompAdapter } from '../../adapters/stomp/index.ts';
import { RawStomp } from '../helpers/stomp.ts';

/** The mapping table's columns this matrix has endpoints for. */
type Protocol = 'mqtt311' | 'mqtt5' | 'stomp' | 'amqp' | 'openwire';
type Fields = Partial<Record<MatrixField, string>>;

interface Sent {
  body: Buffer;
  text: boolean;
  fields?: Record<Exclude<MatrixField, 'body'>, string>;
}

interface Got {
  body: Buffer;
  fields: Fields;
}

/** One client connection, able to publish to and subscribe to topics. */
interface Endpoint {
  readonly name: string;
  readonly protocol: Protocol;
  subscribe(topic: string): Promise<{ got: Collector<Got>; stop(): Promise<void> }>;
  publish(topic: string, m: Sent): Promise<void>;
  close(): Promise<void>;
}

const PROPS = { stringProperty: 'm-str', numberProperty: 'm-num', booleanProperty: 'm-bool' } as const;

/** An address in core form, from STOMP's /queue/X or /topic/X, or AMQP's queue://X and topic://X. */
function canonicalAddress(a: string): string {
  const m = /^\/(queue|topic)\/(.+)$/.exec(a);
  return m ? `${m[1]}://${m[2]}` : a;
}

// ---- STOMP ---------------------------------------------------------------------------------

async function stompEndpoint(name: string, port: number, webSocket: boolean): Promise<Endpoint> {
  const c = await RawStomp.connect(port, {}, { webSocket });
  const inboxes = new Map<string, Collector<Got>>();
  let receipts = 0;
  // Frames are read by one loop: MESSAGEs go to their subscription, RECEIPTs to the waiting sender.
  const waiting = new Map<string, () => void>();
  const errors: string[] = [];
  void (async () => {
    for (;;) {
      let f;
      try {
        f = await c.next(600_000);
      } catch {
        return;
      }
      if (f.command === 'MESSAGE') {
        const h = f.headers;
        const fields: Fields = {};
        const put = (k: MatrixField, v: string | undefined): void => {
          if (v !== undefined) fields[k] = v;
        };
        put('stringProperty', h.get(PROPS.stringProperty));
        put('numberProperty', h.get(PROPS.numberProperty));
        put('booleanProperty', h.get(PROPS.booleanProperty));
        put('correlationId', h.get('correlation-id'));
        const reply = h.get('reply-to');
        put('replyTo', reply === undefined ? undefined : canonicalAddress(reply));
        put('contentType', h.get('content-type'));
        put('priority', h.get('priority') === '4' ? undefined : h.get('priority'));
        put('expiresAt', h.get('expires') === '0' ? undefined : h.get('expires'));
        put('dedupId', h.get('_AMQ_DUPL_ID'));
        put('groupId', h.get('JMSXGroupID'));
        inboxes.get(h.get('subscription') as string)?.push({ body: f.body, fields });
      } else if (f.command === 'RECEIPT') {
        waiting.get(f.headers.get('receipt-id') as string)?.();
      } else if (f.command === 'ERROR') {
        errors.push(f.headers.get('message') ?? 'error');
      }
    }
  })();
  const receipt = (command: string, headers: Record<string, string>, body?: Buffer): Promise<void> => {
    const id = `r${++receipts}`;
    const done = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${name}: no RECEIPT for ${command} (${errors.join('; ')})`)), 10_000);
      waiting.set(id, () => {
        clearTimeout(t);
        waiting.delete(id);
        resolve();
      });
    });
    c.send(command, { ...headers, receipt: id }, body);
    return done;
  };
  let subs = 0;
  return {
    name,
    protocol: 'stomp',
    async subscribe(topic) {
      const id = `s${++subs}`;
      const got = new Collector<Got>();
      inboxes.set(id, got);
      await receipt('SUBSCRIBE', { id, destination: `/topic/${topic}` });
      return { got, stop: () => receipt('UNSUBSCRIBE', { id }) };
    },
    publish(topic, m) {
      const h: Record<string, string> = { destination: `/topic/${topic}`, persistent: 'true' };
      if (m.text) h['content-type'] = 'text/plain';
      const f = m.fields;
      if (f) {
        h[PROPS.stringProperty] = f.stringProperty;
        h[PROPS.numberProperty] = f.numberProperty;
        h[PROPS.booleanProperty] = f.booleanProperty;
        h['correlation-id'] = f.correlationId;
        h['reply-to'] = f.replyTo.replace(/^topic:\/\//, '/topic/');
        h['content-type'] = f.contentType;
        h.priority = f.priority;
        h.expires = f.expiresAt;
        h._AMQ_DUPL_ID = f.dedupId;
        h.JMSXGroupID = f.groupId;
      }
      return receipt('SEND', h, m.body);
    },
    async close() {
      c.close();
      await c.closed;
    },
  };
}

// ---- MQTT 3.1.1 and 5 ----------------------------------------------------------------------

function mqtt5Fields(p: IPublishPacket['properties'], now: number): Fields {
  const fields: Fields = {};
  if (!p) return fields;
  const user = (p.userProperties ?? {}) as Record<string, string | string[]>;
  const one = (k: string): string | undefined => {
    const v = user[k];
    return Array.isArray(v) ? v[0] : v;
  };
  const put = (k: MatrixField, v: string | undefined): void => {
    if (v !== undefined) fields[k] = v;
  };
  put('stringProperty', one(PROPS.stringProperty));
  put('numberProperty', one(PROPS.numberProperty));
  put('booleanProperty', one(PROPS.booleanProperty));
  put('correlationId', p.correlationData?.toString('utf8'));
  put('replyTo', p.responseTopic === undefined ? undefined : `topic://${p.responseTopic.replace(/\//g, '.')}`);
  put('contentType', p.contentType);
  put('expiresAt', p.messageExpiryInterval === undefined ? undefined : String(now + p.messageExpiryInterval * 1000));
  put('dedupId', one('_AMQ_DUPL_ID'));
  put('groupId', one('JMSXGroupID'));
  return fields;
}

async function mqttEndpoint(name: string, url: string, version: 4 | 5): Promise<Endpoint> {
  const { client, got: all } = await connectMqtt(url, { protocolVersion: version });
  const inboxes = new Map<string, Collector<Got>>();
  let seen = 0;
  const route = (): void => {
    while (seen < all.items.length) {
      const m = all.items[seen++]!;
      inboxes.get(m.topic)?.push({ body: m.payload, fields: version === 5 ? mqtt5Fields(m.packet.properties, Date.now()) : {} });
    }
  };
  client.on('message', () => setImmediate(route));
  const call = (f: (cb: (err?: Error | null) => void) => void): Promise<void> =>
    new Promise((resolve, reject) => f((err) => (err ? reject(err) : resolve())));
  return {
    name,
    protocol: version === 5 ? 'mqtt5' : 'mqtt311',
    async subscribe(topic) {
      const mqttTopic = topic.replace(/\./g, '/');
      const got = new Collector<Got>();
      inboxes.set(mqttTopic, got);
      await call((cb) => (client as MqttClient).subscribe(mqttTopic, { qos: 1 }, (err) => cb(err)));
      return { got, stop: () => call((cb) => client.unsubscribe(mqttTopic, {}, (err) => cb(err ?? null))) };
    },
    publish(topic, m) {
      const opts: IClientPublishOptions = { qos: 1 };
      const f = m.fields;
      if (version === 5 && f) {
        opts.properties = {
          userProperties: {
            [PROPS.stringProperty]: f.stringProperty,
            [PROPS.numberProperty]: f.numberProperty,
            [PROPS.booleanProperty]: f.booleanProperty,
            _AMQ_DUPL_ID: f.dedupId,
            JMSXGroupID: f.groupId,
          },
          correlationData: Buffer.from(f.correlationId),
          responseTopic: f.replyTo.replace(/^topic:\/\//, '').replace(/\./g, '/'),
          contentType: f.contentType,
          messageExpiryInterval: Math.round((Number(f.expiresAt) - Date.now()) / 1000),
        };
      }
      return call((cb) => client.publish(topic.replace(/\./g, '/'), m.body, opts, (err) => cb(err ?? null)));
    },
    close: () => endMqtt(client),
  };
}

// ---- AMQP ----------------------------------------------------------------------------------

function amqpBody(m: AmqpMessage): Buffer {
  const b = m.body as unknown;
  if (b === null || b === undefined) return Buffer.alloc(0);
  if (typeof b === 'string') return Buffer.from(b, 'utf8');
  if (Buffer.isBuffer(b)) return b;
  const section = b as { typecode?: number; content?: unknown; multiple?: boolean };
  if (section.typecode === 0x75) return section.multiple ? Buffer.concat(section.content as Buffer[]) : (section.content as Buffer);
  throw new Error(`unexpected AMQP body ${JSON.stringify(b)}`);
}

function amqpFields(m: AmqpMessage): Fields {
  const fields: Fields = {};
  const props = (m.application_properties ?? {}) as Record<string, unknown>;
  const put = (k: MatrixField, v: unknown): void => {
    if (v !== undefined && v !== null) fields[k] = v instanceof Date ? String(v.getTime()) : String(v);
  };
  put('stringProperty', props[PROPS.stringProperty]);
  put('numberProperty', props[PROPS.numberProperty]);
  put('booleanProperty', props[PROPS.booleanProperty]);
  put('correlationId', m.correlation_id);
  put('replyTo', typeof m.reply_to === 'string' ? canonicalAddress(m.reply_to) : undefined);
  put('contentType', m.content_type);
  put('priority', m.priority === 4 ? undefined : m.priority);
  put('expiresAt', m.absolute_expiry_time);
  put('dedupId', props._AMQ_DUPL_ID);
  put('groupId', m.group_id);
  return fields;
}

async function amqpEndpoint(name: string, port: number, wsPort: number | undefined): Promise<Endpoint> {
  const c =
    wsPort === undefined
      ? await AmqpClient.connect(port)
      : await AmqpClient.connect(0, {
          connection_details: rhea.websocket_connect(WebSocket as never)(`ws://127.0.0.1:${wsPort}/`, ['amqp'], {}),
        } as never);
  const senders = new Map<string, Sender>();
  return {
    name,
    protocol: 'amqp',
    async subscribe(topic) {
      const got = new Collector<Got>();
      const { link, got: raw } = await c.receiver({ source: `topic://${topic}`, credit_window: 20, autoaccept: true });
      link.on('message', () =>
        setImmediate(() => {
          while (got.items.length < raw.items.length) {
            const r = raw.items[got.items.length] as Received;
            got.push({ body: amqpBody(r.message), fields: amqpFields(r.message) });
          }
        }),
      );
      return {
        got,
        stop: async () => {
          link.close();
        },
      };
    },
    async publish(topic, m) {
      let s = senders.get(topic);
      if (!s) senders.set(topic, (s = await c.sender(`topic://${topic}`)));
      const msg: AmqpMessage = { durable: true, body: m.text ? m.body.toString('utf8') : rhea.message.data_section(m.body) };
      const f = m.fields;
      if (f) {
        msg.application_properties = {
          [PROPS.stringProperty]: f.stringProperty,
          [PROPS.numberProperty]: Number(f.numberProperty),
          [PROPS.booleanProperty]: f.booleanProperty === 'true',
          _AMQ_DUPL_ID: f.dedupId,
        };
        msg.correlation_id = f.correlationId;
        msg.reply_to = f.replyTo;
        msg.content_type = f.contentType;
        msg.priority = Number(f.priority);
        msg.absolute_expiry_time = new Date(Number(f.expiresAt));
        msg.group_id = f.groupId;
      }
      const out = await c.send(s, msg);
      if (out.outcome !== 'accepted') throw new Error(`${name}: ${out.outcome} ${JSON.stringify(out.error)}`);
    },
    async close() {
      c.close();
    },
  };
}

// ---- OpenWire (the Java probe's endpoint mode) ----------------------------------------------

const OPENWIRE_PROPS: Record<string, MatrixField> = {
  [PROPS.stringProperty]: 'stringProperty',
  [PROPS.numberProperty]: 'numberProperty',
  [PROPS.booleanProperty]: 'booleanProperty',
  _AMQ_DUPL_ID: 'dedupId',
  JMSXGroupID: 'groupId',
  correlationId: 'correlationId',
  replyTo: 'replyTo',
};

async function openwireEndpoint(name: string, url: string): Promise<Endpoint> {
  const probe = await startProbe(url, 'endpoint');
  let sent = 0;
  const command = async (line: string): Promise<void> => {
    const n = ++sent;
    probe.writeLine(line);
    await probe.waitFor((l) => l.k === 'ok' && l.line === n, 15_000);
  };
  let subs = 0;
  return {
    name,
    protocol: 'openwire',
    async subscribe(topic) {
      const id = `s${++subs}`;
      const got = new Collector<Got>();
      const stopListening = probe.onLine((l) => {
        if (l.k !== 'msg' || l.id !== id) return;
        const raw = l.fields as Record<string, string>;
        const fields: Fields = {};
        for (const [k, v] of Object.entries(raw)) if (OPENWIRE_PROPS[k]) fields[OPENWIRE_PROPS[k]] = v;
        if (raw.priority !== '4') fields.priority = raw.priority;
        if (raw.expiresAt !== '0') fields.expiresAt = raw.expiresAt;
        got.push({ body: Buffer.from(l.body as string, 'base64'), fields });
      });
      await command(`SUB\t${id}\t${topic}`);
      return {
        got,
        stop: async () => {
          await command(`UNSUB\t${id}`);
          stopListening();
        },
      };
    },
    async publish(topic, m) {
      const parts = ['PUB', topic, m.text ? '1' : '0', m.body.toString('base64')];
      const f = m.fields;
      if (f) {
        const values: Record<string, string> = {
          [PROPS.stringProperty]: f.stringProperty,
          [PROPS.numberProperty]: f.numberProperty,
          [PROPS.booleanProperty]: f.booleanProperty,
          correlationId: f.correlationId,
          replyTo: f.replyTo,
          priority: f.priority,
          expiresAt: f.expiresAt,
          dedupId: f.dedupId,
          groupId: f.groupId,
        };
        for (const [k, v] of Object.entries(values)) parts.push(`${k}=${Buffer.from(v).toString('base64')}`);
      }
      await command(parts.join('\t'));
    },
    async close() {
      probe.kill();
    },
  };
}

// ---- the matrix ----------------------------------------------------------------------------

/** The fields a message keeps from `from` to `to`: the matrix rows both columns of the table carry. */
function carried(from: Protocol, to: Protocol): Array<Exclude<MatrixField, 'body'>> {
  return MAPPING.filter((r) => r.matrix !== undefined && r.matrix !== 'body' && r.cells[from] != null && r.cells[to] != null).map(
    (r) => r.matrix as Exclude<MatrixField, 'body'>,
  );
}

let server: JunctionServer;
const endpoints: Endpoint[] = [];
const NAMES = ['mqtt/tcp', 'mqtt/ws', 'mqtt5/tcp', 'mqtt5/ws', 'stomp/tcp', 'stomp/ws', 'amqp/tcp', 'amqp/ws', 'openwire/tcp'];

beforeAll(async () => {
  await probeClassPath();
  ({ server } = await startTestServer([stompAdapter, mqttAdapter, amqpAdapter, openwireAdapter], {
    stomp: { port: 0, tlsPort: 0 },
    mqtt: { port: 0, tlsPort: 0 },
    amqp: { port: 0, tlsPort: 0 },
    openwire: { port: 0, tlsPort: 0 },
    websocket: { port: 0 },
  }));
  const port = (p: 'mqtt311' | 'stomp' | 'amqp'): number => server.listeners.port(p === 'mqtt311' ? 'mqtt' : p, 'tcp') as number;
  const ws = server.listeners.port('websocket', 'ws') as number;
  endpoints.push(
    await mqttEndpoint('mqtt/tcp', `mqtt://127.0.0.1:${port('mqtt311')}`, 4),
    await mqttEndpoint('mqtt/ws', `ws://127.0.0.1:${ws}/mqtt`, 4),
    await mqttEndpoint('mqtt5/tcp', `mqtt://127.0.0.1:${port('mqtt311')}`, 5),
    await mqttEndpoint('mqtt5/ws', `ws://127.0.0.1:${ws}/mqtt`, 5),
    await stompEndpoint('stomp/tcp', port('stomp'), false),
    await stompEndpoint('stomp/ws', ws, true),
    await amqpEndpoint('amqp/tcp', port('amqp'), undefined),
    await amqpEndpoint('amqp/ws', 0, ws),
    await openwireEndpoint('openwire/tcp', `tcp://127.0.0.1:${server.listeners.port('openwire', 'tcp') as number}`),
  );
}, 60_000);

afterAll(async () => {
  for (const e of endpoints.splice(0)) await e.close();
  await server?.stop();
});

const MEGABYTE = randomBytes(1024 * 1024);
let pairNo = 0;

describe.each(NAMES)('from %s', (fromName) => {
  it.each(NAMES)('to %s: bodies byte for byte, and the fields both protocols carry', async (toName) => {
    const from = endpoints.find((e) => e.name === fromName)!;
    const to = endpoints.find((e) => e.name === toName)!;
    const topic = `matrix.${++pairNo}`;
    const sub = await to.subscribe(topic);
    const fields = {
      stringProperty: 'héllo',
      numberProperty: '42',
      booleanProperty: 'true',
      correlationId: `corr-${pairNo}`,
      replyTo: `topic://replies.${pairNo}`,
      contentType: 'application/x-matrix',
      priority: '7',
      expiresAt: String(Date.now() + 600_000),
      dedupId: `dedup-${pairNo}`,
      groupId: 'group-a',
    };
    const sent: Sent[] = [
      { body: Buffer.from('fields'), text: false, fields },
      { body: Buffer.from('héllo wörld ✓', 'utf8'), text: true },
      { body: Buffer.from([0, 0xff, 0, 1, 0xfe, 0]), text: false },
      { body: Buffer.alloc(0), text: false },
      { body: MEGABYTE, text: false },
    ];
    for (const m of sent) await from.publish(topic, m);
    const got: Got[] = [];
    for (let i = 1; i <= sent.length; i++) got.push(await sub.got.nth(i, 10_000));
    await sub.stop();

    got.forEach((g, i) => expect(g.body.equals(sent[i]!.body), `body ${i} (${sent[i]!.body.length} bytes)`).toBe(true));
    const expected: Fields = {};
    for (const f of carried(from.protocol, to.protocol)) expected[f] = fields[f];
    // MQTT 5 counts expiry in whole seconds: compare it within 2 s.
    const { expiresAt: gotExpiry, ...gotRest } = got[0]!.fields;
    const { expiresAt: wantExpiry, ...wantRest } = expected;
    expect(gotRest).toEqual(wantRest);
    expect(gotExpiry === undefined).toBe(wantExpiry === undefined);
    if (wantExpiry !== undefined) expect(Math.abs(Number(gotExpiry) - Number(wantExpiry))).toBeLessThanOrEqual(2000);
  });
});

describe('request/reply across protocols', () => {
  it('a STOMP request with reply-to is answered over AMQP, with its correlation id', async () => {
    const c = await AmqpClient.connect(server.listeners.port('amqp', 'tcp') as number);
    try {
      const raw = await RawStomp.connect(server.listeners.port('stomp', 'tcp') as number);
      raw.send('SUBSCRIBE', { id: 'replies', destination: '/temp-queue/answers' });
      raw.send('SEND', { destination: '/queue/rpc.stomp', 'reply-to': '/temp-queue/answers', 'correlation-id': 'q-1' }, 'what time is it?');
      const { got } = await c.receiver({ source: 'queue://rpc.stomp', credit_window: 1, autoaccept: true });
      const request = (await got.nth(1)).message;
      expect(request.reply_to).toMatch(/^queue:\/\/TEMP\./);
      const replier = await c.sender({ target: {} } as never);
      await c.send(replier, { to: request.reply_to, correlation_id: request.correlation_id, body: 'noon' });
      const reply = await raw.expect('MESSAGE');
      expect(reply.body.toString()).toBe('noon');
      expect(reply.headers.get('correlation-id')).toBe('q-1');
      raw.close();
    } finally {
      c.close();
    }
  });

  it('an AMQP request with a dynamic reply queue is answered over STOMP, with its correlation id', async () => {
    const c = await AmqpClient.connect(server.listeners.port('amqp', 'tcp') as number);
    const raw = await RawStomp.connect(server.listeners.port('stomp', 'tcp') as number);
    try {
      const { link: replies, got: answers } = await c.receiver({ source: { dynamic: true } as never, credit_window: 5, autoaccept: true });
      const replyTo = (replies as unknown as { remote: { attach: { source: { address: string } } } }).remote.attach.source.address;
      const requests = await c.sender('queue://rpc.amqp');
      await c.send(requests, { body: 'ping', reply_to: replyTo, correlation_id: 'amqp-7' });
      raw.send('SUBSCRIBE', { id: 'rpc', destination: '/queue/rpc.amqp' });
      const request = await raw.expect('MESSAGE');
      const to = request.headers.get('reply-to') as string;
      // ActiveMQ's name for a temporary queue of another connection.
      expect(to).toMatch(/^\/remote-temp-queue\/TEMP\./);
      raw.send('SEND', { destination: to, 'correlation-id': request.headers.get('correlation-id') as string }, 'pong');
      const answer = (await answers.nth(1)).message;
      expect(amqpBody(answer).toString()).toBe('pong');
      expect(answer.correlation_id).toBe('amqp-7');
    } finally {
      raw.close();
      c.close();
    }
  });
});
