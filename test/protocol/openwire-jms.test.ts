// OpenWire with ActiveMQ's own JMS client (a Java program on Debian's activemq-client.jar,
// test/fixtures/openwire/Probe.java): every message type, the ack modes, transactions, selectors,
// durable subscribers, temporary-queue request/reply, browsers, pull consumers, redelivery to the
// dead-letter queue, security, TLS, and messages crossing to and from STOMP, AMQP and MQTT.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amqpAdapter } from '../../adapters/amqp/index.ts';
import { mqttAdapter } from '../../adapters/mqtt/index.ts';
import { OpenWireCodec, TYPE } from '../../adapters/openwire/codec.ts';
import { FrameReader } from '../../adapters/openwire/frame-reader.ts';
import { openwireAdapter } from '../../adapters/openwire/index.ts';
import { encodeMap, type JavaValue } from '../../adapters/openwire/primitive-map.ts';
import { stompAdapter } from '../../adapters/stomp/index.ts';
import { hashPassword } from '../../src/security/password.ts';
import type { JunctionServer } from '../../src/server.ts';
import { AmqpClient } from '../helpers/amqp.ts';
import { Collector } from '../helpers/collector.ts';
import { connectMqtt, endMqtt } from '../helpers/mqtt.ts';
import { linesOf, probeClassPath, runProbe, startProbe, type ProbeLine } from '../helpers/openwire.ts';
import { startTestServer } from '../helpers/server.ts';
import { RawStomp } from '../helpers/stomp.ts';
import type { TestCert } from '../helpers/tls.ts';

let server: JunctionServer;
let cert: TestCert;
let url: string;

const ephemeral = { port: 0, tlsPort: 0 };

beforeAll(async () => {
  await probeClassPath();
  ({ server, cert } = await startTestServer([openwireAdapter, stompAdapter, amqpAdapter, mqttAdapter], {
    openwire: ephemeral,
    stomp: ephemeral,
    amqp: ephemeral,
    mqtt: ephemeral,
    websocket: { port: 0 },
  }));
  url = `tcp://127.0.0.1:${server.listeners.port('openwire', 'tcp') as number}`;
}, 90_000);

afterAll(async () => {
  await server?.stop();
});

type Described = Record<string, unknown> & { properties: Record<string, string> };

function messages(lines: ProbeLine[]): Described[] {
  return linesOf({ lines }, 'received').map((l) => l.message as Described);
}

function done(r: { code: number | null; lines: ProbeLine[]; stderr: string }): void {
  expect(r.lines.at(-1), `${JSON.stringify(r.lines)} ${r.stderr}`).toEqual({ k: 'DONE' });
  expect(r.code).toBe(0);
}

describe('OpenWire: ActiveMQ’s JMS client', () => {
  it('sends and receives every message type with every property type intact', async () => {
    const r = await runProbe(url, 'types', ['ow.types']);
    done(r);
    const [text, bytes, map, stream, object, plain] = messages(r.lines);
    expect(text).toMatchObject({
      class: 'ActiveMQTextMessage',
      text: 'text \u00e9\u4e2d\ud83d\ude00 \u0000 end',
      correlationId: 'corr-1',
      type: 'kind-1',
      persistent: true,
      redelivered: false,
      deliveryCount: 1,
      destination: 'queue://ow.types',
    });
    expect(text!.properties).toMatchObject({
      b: 'Boolean:true',
      y: 'Byte:-7',
      sh: 'Short:1234',
      i: 'Integer:123456',
      l: 'Long:1234567890123',
      f: 'Float:1.5',
      d: 'Double:2.25',
      s: 'String:str',
    });
    expect(text!.id).toMatch(/^ID:.+:1:1:1:1$/);
    expect(bytes).toMatchObject({ class: 'ActiveMQBytesMessage', bytes: Buffer.from([0, 1, 2, 255]).toString('base64') });
    expect(map).toMatchObject({
      class: 'ActiveMQMapMessage',
      map: {
        name: 'String:x',
        n: 'Integer:42',
        ok: 'Boolean:true',
        pi: 'Double:3.5',
        raw: `bytes:${Buffer.from([9, 8]).toString('base64')}`,
      },
    });
    expect(stream).toMatchObject({ class: 'ActiveMQStreamMessage', stream: ['String:one', 'Integer:2', 'Boolean:false'] });
    expect(object).toMatchObject({ class: 'ActiveMQObjectMessage', object: '[a, b]' });
    expect(plain).toMatchObject({ class: 'ActiveMQMessage' });
  });

  it('reads bodies the client compressed (jms.useCompression), every kind', async () => {
    const r = await runProbe(`${url}?jms.useCompression=true`, 'types', ['ow.compressed']);
    done(r);
    const [text, bytes, map] = messages(r.lines);
    expect(text).toMatchObject({ class: 'ActiveMQTextMessage', text: 'text \u00e9\u4e2d\ud83d\ude00 \u0000 end' });
    expect(bytes).toMatchObject({ class: 'ActiveMQBytesMessage', bytes: Buffer.from([0, 1, 2, 255]).toString('base64') });
    expect(map).toMatchObject({ class: 'ActiveMQMapMessage', map: { name: 'String:x', n: 'Integer:42' } });
  });

  it('acknowledges as each ack mode says: client, individual, dups-ok', async () => {
    const r = await runProbe(url, 'ackModes', ['ow.acks']);
    done(r);
    expect(linesOf(r, 'clientAck')[0]).toMatchObject({ first: 'a-0', third: 'a-2' });
    // a-2 was not acknowledged before its session closed: it comes back, redelivered.
    expect(linesOf(r, 'individual')[0]).toMatchObject({ again: 'a-2', redelivered: true, next: 'a-3' });
    expect(linesOf(r, 'dupsOk')[0]).toMatchObject({ text: 'a-2' });
    expect(linesOf(r, 'leftOver')[0]).toMatchObject({ text: null });
  });

  it('transacted sessions: nothing is seen before commit, a rollback redelivers', async () => {
    const r = await runProbe(url, 'transactions', ['ow.tx']);
    done(r);
    expect(linesOf(r, 'beforeCommit')[0]).toMatchObject({ seen: false });
    expect(linesOf(r, 'firstReceive')[0]).toMatchObject({ text: 't-1' });
    expect(linesOf(r, 'afterRollback')[0]).toMatchObject({ text: 't-1', redelivered: true, deliveryCount: 2 });
    expect(linesOf(r, 'second')[0]).toMatchObject({ text: 't-2' });
    expect(linesOf(r, 'leftOver')[0]).toMatchObject({ text: null });
  });

  it('selects by properties and JMS headers; a bad selector is an InvalidSelectorException and the connection goes on', async () => {
    const r = await runProbe(url, 'selectors', ['ow.sel']);
    done(r);
    expect(linesOf(r, 'heavyRed').map((l) => l.text)).toEqual(['s-4']);
    expect(linesOf(r, 'special').map((l) => l.text)).toEqual(['s-5']);
    const bad = await runProbe(url, 'badSelector', ['ow.badsel']);
    done(bad);
    expect(linesOf(bad, 'selector')[0]).toMatchObject({ error: 'javax.jms.InvalidSelectorException' });
    expect(linesOf(bad, 'after')[0]).toMatchObject({ text: 'still works' });
  });

  it('durable subscribers keep what was published while away; unsubscribing twice is an InvalidDestinationException', async () => {
    const r = await runProbe(url, 'durable', ['ow-client-1', 'ow.durable', 'sub-1']);
    done(r);
    expect(linesOf(r, 'durable').map((l) => l.text)).toEqual(['d-0', 'd-1', 'd-2']);
    expect(linesOf(r, 'unsubscribeAgain')[0]).toMatchObject({ error: 'javax.jms.InvalidDestinationException' });
  });

  it('request/reply over a temporary queue, and a temporary topic, between two connections', async () => {
    for (const kind of ['queue', 'topic']) {
      const r = await runProbe(url, 'requestReply', [`ow.requests.${kind}`, kind]);
      done(r);
      expect(linesOf(r, 'responderError')).toEqual([]);
      expect(linesOf(r, 'reply')[0]).toMatchObject({ text: 're: question', correlates: true });
    }
  });

  it('a queue browser sees every message and removes none', async () => {
    const r = await runProbe(url, 'browse', ['ow.browse', '250']);
    done(r);
    expect(linesOf(r, 'browsed')[0]).toMatchObject({ count: 250 });
    expect(linesOf(r, 'consumed')[0]).toMatchObject({ count: 250 });
  });

  it('prefetch 0: receiveNoWait and receive(timeout) return null on an empty queue, then a message is pulled', async () => {
    const r = await runProbe(url, 'pull', ['ow.pull']);
    done(r);
    expect(linesOf(r, 'noWait')[0]).toMatchObject({ got: false });
    expect(linesOf(r, 'timedOut')[0]).toMatchObject({ got: false, waitedAtLeast: true });
    expect(linesOf(r, 'pulled')[0]).toMatchObject({ text: 'pulled' });
  });

  it('the client’s redelivery policy gives up with a poison ack: the message is dead-lettered with the cause', async () => {
    const r = await runProbe(url, 'redelivery', ['ow.poison', '2']);
    done(r);
    expect(linesOf(r, 'attempt').map((l) => l.deliveryCount)).toEqual([1, 2, 3]);
    const dlq = await runProbe(url, 'receive', ['DLQ.ow.poison', '1']);
    done(dlq);
    const [dead] = messages(dlq.lines);
    expect(dead).toMatchObject({ text: 'poison', destination: 'queue://DLQ.ow.poison' });
    expect(dead!.properties.dlqDeliveryFailureCause).toMatch(/exceeds redelivery policy limit/);
  });

  it('a second connection with a client ID in use is refused with InvalidClientIDException', async () => {
    const r = await runProbe(url, 'clientId', ['ow-unique']);
    done(r);
    expect(linesOf(r, 'second')[0]).toMatchObject({ error: 'javax.jms.InvalidClientIDException' });
  });

  it('priority, expiry, message groups and scheduled delivery', async () => {
    done(await runProbe(url, 'send', ['ow.prio', '1', 'persistent', 'JMSPriority=1']));
    done(await runProbe(url, 'send', ['ow.prio', '1', 'persistent', 'JMSPriority=9']));
    const prio = await runProbe(url, 'receive', ['ow.prio', '2']);
    expect(messages(prio.lines).map((m) => m.priority)).toEqual([9, 1]);

    done(await runProbe(url, 'send', ['ow.ttl', '1', 'persistent', 'ttl=1']));
    done(await runProbe(url, 'send', ['ow.ttl', '1', 'persistent', 'ttl=60000']));
    const ttl = await runProbe(url, 'receive', ['ow.ttl', '2']);
    expect(messages(ttl.lines)).toHaveLength(1);
    expect((messages(ttl.lines)[0]!.expiration as number) > Date.now()).toBe(true);

    done(await runProbe(url, 'send', ['ow.group', '2', 'persistent', 'JMSXGroupID=g1']));
    const grouped = await runProbe(url, 'receive', ['ow.group', '2']);
    expect(messages(grouped.lines).map((m) => m.groupId)).toEqual(['g1', 'g1']);

    const sentAt = Date.now();
    done(await runProbe(url, 'send', ['ow.later', '1', 'persistent', 'AMQ_SCHEDULED_DELAY=1500']));
    const later = await runProbe(url, 'receive', ['ow.later', '1']);
    expect(messages(later.lines)).toHaveLength(1);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(1500);
  });

  it('composite destinations and virtual topics, by ActiveMQ’s names', async () => {
    done(await runProbe(url, 'send', ['ow.comp.a,ow.comp.b', '1']));
    for (const q of ['ow.comp.a', 'ow.comp.b']) {
      const r = await runProbe(url, 'receive', [q, '1']);
      expect(messages(r.lines).map((m) => m.text)).toEqual(['m-0']);
    }

    const consumer = await startProbe(url, 'receive', ['Consumer.billing.VirtualTopic.orders', '2']);
    try {
      await consumer.waitFor((l) => l.k === 'ready');
      done(await runProbe(url, 'send', ['topic:VirtualTopic.orders', '2']));
      const r = await consumer.finished();
      expect(messages(r.lines).map((m) => [m.text, m.destination])).toEqual([
        ['m-0', 'queue://Consumer.billing.VirtualTopic.orders'],
        ['m-1', 'queue://Consumer.billing.VirtualTopic.orders'],
      ]);
    } finally {
      consumer.kill();
    }
  });

  it('TLS (ssl://) with the broker’s certificate in a trust store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'junction-openwire-tls-'));
    const store = join(dir, 'trust.jks');
    execFileSync('keytool', [
      '-importcert',
      '-noprompt',
      '-alias',
      'junction',
      '-file',
      cert.certFile,
      '-keystore',
      store,
      '-storepass',
      'changeit',
    ]);
    const port = server.listeners.port('openwire', 'tls') as number;
    const p = await startProbe(
      `ssl://localhost:${port}`,
      'roundtrip',
      ['ow.tls'],
      [`-Djavax.net.ssl.trustStore=${store}`, '-Djavax.net.ssl.trustStorePassword=changeit'],
    );
    const r = await p.finished();
    done(r);
    expect(messages(r.lines)[0]).toMatchObject({ text: 'hello ow.tls' });
  });
});

describe('OpenWire: one message, every door', () => {
  it('OpenWire text reaches STOMP as its text; STOMP reaches OpenWire as a TextMessage with its headers', async () => {
    const stomp = await RawStomp.connect(server.listeners.port('stomp', 'tcp') as number);
    try {
      stomp.send('SUBSCRIBE', { destination: '/queue/ow.to.stomp', id: '1', receipt: 'r1' });
      expect((await stomp.next()).command).toBe('RECEIPT');
      done(await runProbe(url, 'send', ['ow.to.stomp', '1', 'persistent', 'color=blue']));
      const f = await stomp.next(10_000);
      expect(f.command).toBe('MESSAGE');
      expect(f.body.toString()).toBe('m-0');
      expect(f.headers.get('color')).toBe('blue');
      expect(f.headers.get('i')).toBe('0');
      expect(f.headers.get('persistent')).toBe('true');

      stomp.send(
        'SEND',
        { destination: '/queue/ow.from.stomp', 'content-type': 'text/plain', shade: 'dark', persistent: 'true', receipt: 'r2' },
        'from stomp',
      );
      expect((await stomp.next()).command).toBe('RECEIPT');
      const r = await runProbe(url, 'receive', ['ow.from.stomp', '1']);
      expect(messages(r.lines)[0]).toMatchObject({ class: 'ActiveMQTextMessage', text: 'from stomp', persistent: true });
      expect(messages(r.lines)[0]!.properties.shade).toBe('String:dark');
    } finally {
      stomp.socket.destroy();
    }
  });

  it('AMQP to OpenWire keeps typed properties; OpenWire to AMQP carries them typed', async () => {
    const amqp = await AmqpClient.connect(server.listeners.port('amqp', 'tcp') as number);
    try {
      const sender = await amqp.sender('ow.from.amqp');
      await amqp.send(sender, { body: 'from amqp', application_properties: { count: 7, ok: true, name: 'n' }, correlation_id: 'c-9' });
      const r = await runProbe(url, 'receive', ['ow.from.amqp', '1']);
      const [m] = messages(r.lines);
      expect(m).toMatchObject({ class: 'ActiveMQTextMessage', text: 'from amqp', correlationId: 'c-9' });
      expect(m!.properties).toMatchObject({ count: 'Integer:7', ok: 'Boolean:true', name: 'String:n' });

      const { got } = await amqp.receiver({ source: { address: 'ow.to.amqp' } });
      done(await runProbe(url, 'send', ['ow.to.amqp', '1', 'persistent', 'label=x']));
      const received = await got.nth(1, 10_000);
      expect(received.message.body).toBe('m-0');
      expect(received.message.application_properties).toMatchObject({ i: 0, label: 'x' });
    } finally {
      amqp.close();
    }
  });

  it('an MQTT payload reaches an OpenWire consumer as a BytesMessage on the topic', async () => {
    const consumer = await startProbe(url, 'receive', ['topic:devices.d1.telemetry', '1']);
    try {
      await consumer.waitFor((l) => l.k === 'ready');
      const { client } = await connectMqtt(`mqtt://127.0.0.1:${server.listeners.port('mqtt', 'tcp') as number}`);
      await client.publishAsync('devices/d1/telemetry', Buffer.from([1, 2, 3]), { qos: 1 });
      await endMqtt(client);
      const r = await consumer.finished();
      expect(messages(r.lines)[0]).toMatchObject({
        class: 'ActiveMQBytesMessage',
        bytes: Buffer.from([1, 2, 3]).toString('base64'),
        destination: 'topic://devices.d1.telemetry',
      });
    } finally {
      consumer.kill();
    }
  });
});

describe('OpenWire: what a failover client learns', () => {
  it('gets BrokerInfo, and the peers (openwire.peerBrokerUrls) in ConnectionControl', async () => {
    const { server: paired } = await startTestServer(
      [openwireAdapter],
      { openwire: ephemeral, websocket: { port: 0 } },
      {
        openwire: { peerBrokerUrls: ['tcp://standby.example:61616'] },
      },
    );
    const s = net.connect(paired.listeners.port('openwire', 'tcp') as number, '127.0.0.1');
    try {
      s.on('error', () => {});
      const codec = new OpenWireCodec();
      const reader = new FrameReader(1 << 20);
      const got = new Collector<Record<string, unknown>>();
      s.on('data', (d: Buffer) => {
        for (const f of reader.push(d)) got.push(codec.decode(f) as Record<string, unknown>);
      });
      await new Promise<void>((resolve) => s.once('connect', () => resolve()));
      // Loose encoding, no cache: what a minimal client asks for.
      s.write(
        codec.encode({
          dataType: TYPE.WireFormatInfo!,
          magic: Buffer.from('ActiveMQ'),
          version: 12,
          marshalledProperties: encodeMap(new Map()),
        }),
      );
      expect((await got.nth(1)).dataType).toBe(TYPE.WireFormatInfo);
      codec.negotiated({ version: 12, tight: false, cache: false, cacheSize: 1024, stackTrace: false });
      s.write(
        codec.encode({
          dataType: TYPE.ConnectionInfo!,
          commandId: 1,
          responseRequired: true,
          connectionId: { dataType: TYPE.ConnectionId!, value: 'raw-1' },
        }),
      );
      expect(await got.nth(2)).toMatchObject({ dataType: TYPE.Response, correlationId: 1 });
      expect(await got.nth(3)).toMatchObject({ dataType: TYPE.BrokerInfo, brokerName: 'junction' });
      expect(await got.nth(4)).toMatchObject({ dataType: TYPE.ConnectionControl, connectedBrokers: 'tcp://standby.example:61616' });
    } finally {
      s.destroy();
      await paired.stop();
    }
  });
});

describe('OpenWire: bad input', () => {
  const port = (): number => server.listeners.port('openwire', 'tcp') as number;

  /** Writes `bytes` after the broker's WireFormatInfo; resolves once the broker closed the socket. */
  async function closedAfter(bytes: Buffer[]): Promise<void> {
    const s = net.connect(port(), '127.0.0.1');
    s.on('error', () => {});
    s.on('data', () => {});
    await new Promise<void>((resolve) => s.once('connect', () => resolve()));
    for (const b of bytes) s.write(b);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('the broker kept the connection open')), 10_000);
      s.once('close', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  function frame(payload: Buffer): Buffer {
    const size = Buffer.alloc(4);
    size.writeInt32BE(payload.length);
    return Buffer.concat([size, payload]);
  }

  it('garbage instead of WireFormatInfo, a lying size, an oversize frame and unknown commands close only that connection', async () => {
    const consumer = await startProbe(url, 'failoverConsumer', ['ow.survivor', '4000']);
    try {
      await consumer.waitFor((l) => l.k === 'ready');
      await closedAfter([Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]);
      await closedAfter([Buffer.from([0x7f, 0xff, 0xff, 0xff, 1])]);
      await closedAfter([frame(Buffer.from([1, ...Buffer.from('NotActiv'), 0, 0, 0, 12, 0]))]);
      await closedAfter([frame(Buffer.from([0xfe, 1, 2, 3]))]);
      await closedAfter([frame(Buffer.from([1, ...Buffer.from('ActiveMQ'), 0, 0, 0, 12, 1, 0, 0, 0x7f, 0xff]))]);
      done(await runProbe(url, 'send', ['ow.survivor', '3']));
      await consumer.waitFor((l) => l.k === 'got' && l.text === 'm-2');
      expect(linesOf(consumer, 'got').map((l) => l.text)).toEqual(['m-0', 'm-1', 'm-2']);
    } finally {
      consumer.kill();
    }
  });

  it('keeps a quiet client alive with KeepAliveInfo and drops one silent past the negotiated inactivity duration', async () => {
    const codec = new OpenWireCodec();
    const s = net.connect(port(), '127.0.0.1');
    s.on('error', () => {});
    const reader = new FrameReader(1 << 20);
    const got: number[] = [];
    s.on('data', (d: Buffer) => {
      for (const f of reader.push(d)) got.push(codec.decode(f)?.dataType ?? 0);
    });
    await new Promise<void>((resolve) => s.once('connect', () => resolve()));
    const props = new Map<string, JavaValue>([
      ['MaxInactivityDuration', { t: 'long', v: 600 }],
      ['MaxInactivityDurationInitalDelay', { t: 'long', v: 0 }],
    ]);
    s.write(
      codec.encode({ dataType: TYPE.WireFormatInfo!, magic: Buffer.from('ActiveMQ'), version: 12, marshalledProperties: encodeMap(props) }),
    );
    // Well before the 10 s handshake deadline would: the inactivity monitor drops it.
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('the broker kept a client silent past its inactivity duration')), 5_000);
      s.once('close', () => {
        clearTimeout(t);
        resolve();
      });
    });
    expect(got[0]).toBe(TYPE.WireFormatInfo);
    expect(got).toContain(TYPE.KeepAliveInfo);
  });

  it('refuses a bad password with JMSSecurityException', async () => {
    const { server: secure } = await startTestServer(
      [openwireAdapter],
      { openwire: ephemeral, websocket: { port: 0 } },
      {
        security: { users: [{ username: 'app', passwordHash: await hashPassword('app-pw'), groups: ['apps'] }] },
      },
    );
    try {
      const secureUrl = `tcp://127.0.0.1:${secure.listeners.port('openwire', 'tcp') as number}`;
      const bad = await runProbe(secureUrl, 'login', ['app', 'wrong']);
      expect(bad.code).toBe(2);
      expect(linesOf(bad, 'error')[0]).toMatchObject({ class: 'javax.jms.JMSSecurityException' });
      const good = await runProbe(secureUrl, 'login', ['app', 'app-pw']);
      done(good);
    } finally {
      await secure.stop();
    }
  });
});
