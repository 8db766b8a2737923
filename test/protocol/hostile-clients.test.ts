// Clients that try to hurt everyone else, on a broker serving all protocols with default limits:
// endless or oversized frames before and after authentication, an MQTT 5 property flood inside a
// legal packet, oversized WebSocket messages before the handshake, and floods of sockets that
// never authenticate. Each gets its protocol's own refusal (or, where the protocol has none before
// its handshake, a closed socket), the broker buffers little of it, its event loop never stalls
// for long, and a normal client keeps being served throughout.
import { once } from 'node:events';
import net from 'node:net';
import WebSocket from 'ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IDisconnectPacket } from 'mqtt-packet';
import type { JunctionServer } from '../../src/server.ts';
import { AmqpClient } from '../helpers/amqp.ts';
import { CapturedLog } from '../helpers/log.ts';
import { RawMqtt, connectMqtt, endMqtt } from '../helpers/mqtt.ts';
import { startAllProtocols } from '../helpers/server.ts';
import { RawStomp } from '../helpers/stomp.ts';
import { varint } from '../../adapters/mqtt/varint.ts';

let server: JunctionServer;
let log: CapturedLog;
const cleanups: Array<() => unknown> = [];

async function start(extra: Record<string, unknown> = {}): Promise<void> {
  log = new CapturedLog();
  server = (await startAllProtocols(extra, undefined, log.log)).server;
}

beforeEach(async () => {
  await start();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await server.stop();
});

const port = (p: 'mqtt' | 'amqp' | 'stomp'): number => server.listeners.port(p, 'tcp')!;

/** A normal MQTT client publishes and receives one message: the broker is serving. */
async function stillServes(): Promise<void> {
  const { client, got } = await connectMqtt(`mqtt://127.0.0.1:${port('mqtt')}`);
  try {
    await client.subscribeAsync('normal/t', { qos: 1 });
    await client.publishAsync('normal/t', 'hello', { qos: 1 });
    expect((await got.nth(1, 5000)).payload.toString()).toBe('hello');
  } finally {
    await endMqtt(client);
  }
}

/** Writes `total` bytes after `head` as fast as the socket takes them; resolves with how many it could write before the broker closed it. */
async function flood(socket: net.Socket, head: Buffer, total: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let written = 0;
  let closed = false;
  socket.on('error', () => {});
  socket.once('close', () => (closed = true));
  socket.write(head);
  while (!closed && written < total) {
    written += chunk.length;
    if (!socket.write(chunk)) await new Promise((resolve) => (socket.once('drain', resolve), socket.once('close', resolve)));
  }
  return written;
}

async function open(p: number): Promise<net.Socket> {
  const s = net.connect(p, '127.0.0.1');
  cleanups.push(() => s.destroy());
  await once(s, 'connect');
  return s;
}

const MB = 1024 * 1024;

describe('endless frames before authentication', () => {
  it('AMQP: a frame declaring 4 GB before SASL closes the connection at its size; nothing is buffered', async () => {
    const s = await open(port('amqp'));
    const head = Buffer.alloc(12);
    Buffer.from('AMQP\x03\x01\x00\x00', 'latin1').copy(head);
    head.writeUInt32BE(0xf0000000, 8);
    const rss = process.memoryUsage().rss;
    const written = await flood(s, head, 256 * MB);
    expect(written).toBeLessThan(64 * MB); // the broker closed it long before
    expect(process.memoryUsage().rss - rss).toBeLessThan(64 * MB);
    expect(log.lines.find((l) => l.msg === 'amqp frame over amqp.maxHandshakeFrameBytes: connection closed')).toMatchObject({
      size: 0xf0000000,
      limit: 4096,
    });
    await stillServes();
  });

  it('AMQP: after OPEN, a frame over the announced max-frame-size gets amqp:connection:framing-error', async () => {
    const s = await open(port('amqp'));
    const received: Buffer[] = [];
    s.on('data', (d: Buffer) => received.push(d));
    // No SASL (the broker is anonymous): the AMQP header, then an OPEN with container-id "x".
    const performative = Buffer.from([0x00, 0x53, 0x10, 0xc0, 0x04, 0x01, 0xa1, 0x01, 0x78]);
    const frame = Buffer.alloc(8);
    frame.writeUInt32BE(8 + performative.length, 0);
    frame[4] = 2;
    s.write(Buffer.concat([Buffer.from('AMQP\x00\x01\x00\x00', 'latin1'), frame, performative]));
    const deadline = Date.now() + 5000;
    while (!Buffer.concat(received).includes('max-frame-size') && !Buffer.concat(received).includes(Buffer.from([0x00, 0x53, 0x10]))) {
      if (Date.now() > deadline) throw new Error('no OPEN from the broker');
      await new Promise((resolve) => s.once('data', resolve));
    }
    const big = Buffer.alloc(4);
    big.writeUInt32BE(2 * MB, 0);
    const closed = new Promise((resolve) => s.once('close', resolve));
    await flood(s, big, 4 * MB);
    await closed;
    expect(Buffer.concat(received).toString('latin1')).toContain('amqp:connection:framing-error');
    expect(log.lines.find((l) => l.msg === 'amqp frame over amqp.maxFrameBytes: connection closed')).toMatchObject({
      size: 2 * MB,
      limit: MB,
    });
    await stillServes();
  });

  it('MQTT: a CONNECT declaring 200 MB closes the connection at its fixed header', async () => {
    const s = await open(port('mqtt'));
    const head = Buffer.from([0x10, 0x80, 0x80, 0x80, 0x64]); // remaining length 200 MiB
    const written = await flood(s, head, 256 * MB);
    expect(written).toBeLessThan(64 * MB);
    expect(log.lines.find((l) => l.msg === 'mqtt CONNECT over limits.maxHandshakeBytes: connection closed')).toMatchObject({
      limit: 64 * 1024,
    });
    await stillServes();
  });

  it('MQTT 5: a CONNECT over limits.maxHandshakeBytes gets CONNACK 0x95', async () => {
    const raw = await RawMqtt.open(port('mqtt'), 5);
    cleanups.push(() => raw.close());
    raw.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clean: true,
      clientId: 'big',
      keepalive: 0,
      username: 'u'.repeat(2000),
      password: Buffer.alloc(65_000),
    });
    const connack = await raw.next('connack');
    expect(connack).toMatchObject({ reasonCode: 0x95 });
    await raw.closed;
  });

  it('STOMP: a frame before CONNECT with a body past limits.maxHandshakeBytes gets an ERROR', async () => {
    const c = await RawStomp.open(port('stomp'));
    cleanups.push(() => c.close());
    c.write(Buffer.concat([Buffer.from('CONNECT\naccept-version:1.2\nhost:x\n\n'), Buffer.alloc(100_000, 0x61)]));
    const error = await c.expect('ERROR');
    expect(error.headers.get('message')).toMatch(/body larger than 65536 bytes/);
    await stillServes();
  });

  it('STOMP: a client that streams on after its ERROR is not read; one that closes after it is let go at once', async () => {
    const streaming = await open(port('stomp'));
    // The broker stops reading it: the socket buffers fill and the writes wait until the close grace (5 s) ends.
    const written = await flood(streaming, Buffer.from('CONNECT\naccept-version:1.2\nhost:x\n\n'), 256 * MB);
    expect(written).toBeLessThan(64 * MB);
    // On a listener of one connection: a client told ERROR that closes frees its place at once, not after the grace.
    await server.stop();
    await start({ limits: { maxConnections: 1 } });
    const polite = await RawStomp.connect(port('stomp'));
    polite.send('SUBSCRIBE', { id: '1', destination: '/queue/q', ack: 'sometimes' });
    await polite.expect('ERROR');
    polite.close();
    let timer: NodeJS.Timeout | undefined;
    const gone = await Promise.race([
      log.waitFor((l) => l.msg === 'stomp connection closed').then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 2000))),
    ]);
    clearTimeout(timer);
    expect(gone).toBe(true);
    const next = await RawStomp.connect(port('stomp'));
    cleanups.push(() => next.close());
  }, 20_000);

  it('WebSocket: a message past limits.maxHandshakeBytes before CONNECT closes with 1009; after it, large packets pass', async () => {
    const wsPort = server.listeners.port('websocket', 'ws')!;
    const ws = new WebSocket(`ws://127.0.0.1:${wsPort}/mqtt`, 'mqtt');
    cleanups.push(() => ws.terminate());
    await once(ws, 'open');
    ws.send(Buffer.alloc(MB, 0x10));
    const [code] = (await once(ws, 'close')) as [number];
    expect(code).toBe(1009);
    // An established client's messages are bounded by the protocol's own limits again.
    const { client, got } = await connectMqtt(`ws://127.0.0.1:${wsPort}/mqtt`);
    cleanups.push(() => endMqtt(client));
    await client.subscribeAsync('big', { qos: 1 });
    await client.publishAsync('big', Buffer.alloc(MB, 1), { qos: 1 });
    expect((await got.nth(1, 10_000)).payload.length).toBe(MB);
  });
});

describe('floods inside a legal packet', () => {
  it('MQTT 5: two million User Properties get DISCONNECT 0x83 before they are parsed; the event loop does not stall', async () => {
    const { raw } = await RawMqtt.connect(port('mqtt'), { protocolVersion: 5, clientId: 'flooder' });
    cleanups.push(() => raw.close());
    // PUBLISH QoS 0 to "t": topic, then properties of 2,000,000 x User Property ("a", "").
    const entry = Buffer.from([0x26, 0x00, 0x01, 0x61, 0x00, 0x00]);
    const props = Buffer.alloc(entry.length * 2_000_000);
    for (let i = 0; i < props.length; i += entry.length) entry.copy(props, i);
    const body = Buffer.concat([Buffer.from([0x00, 0x01, 0x74]), varint(props.length), props, Buffer.from('x')]);
    const stallsBefore = server.eventLoop.stalls;
    raw.write(Buffer.concat([Buffer.from([0x30]), varint(body.length), body]));
    const bye = (await raw.next('disconnect', 20_000)) as IDisconnectPacket;
    expect(bye.reasonCode).toBe(0x83);
    expect(String(bye.properties?.reasonString)).toMatch(/over the limit of 65536 \(mqtt\.maxPropertyBytes\)/);
    await stillServes();
    expect(server.eventLoop.longestMs).toBeLessThan(1000);
    expect(server.eventLoop.stalls - stallsBefore).toBeLessThanOrEqual(1);
  });

  it('MQTT 5: more User Properties than mqtt.maxUserProperties in a small section get 0x83', async () => {
    const { raw } = await RawMqtt.connect(port('mqtt'), { protocolVersion: 5, clientId: 'many' });
    cleanups.push(() => raw.close());
    const userProperties: Record<string, string> = {};
    for (let i = 0; i < 1500; i++) userProperties[`k${i}`] = '';
    raw.send({ cmd: 'publish', topic: 't', payload: 'x', qos: 0, retain: false, dup: false, properties: { userProperties } });
    const bye = (await raw.next('disconnect', 5000)) as IDisconnectPacket;
    expect(bye.reasonCode).toBe(0x83);
    expect(String(bye.properties?.reasonString)).toMatch(/1500 User Properties are over the limit of 1000/);
  });
});

describe('floods inside a legal AMQP message', () => {
  it('a message of 100,000 application properties is rejected before it is decoded; the link and connection go on', async () => {
    const client = await AmqpClient.connect(port('amqp'));
    cleanups.push(() => client.close());
    const sender = await client.sender('queue://flooded');
    const properties: Record<string, number> = {};
    for (let i = 0; i < 100_000; i++) properties[`k${i}`] = i;
    const refused = await client.send(sender, { body: 'x', application_properties: properties });
    expect(refused).toMatchObject({ outcome: 'rejected', error: { condition: 'amqp:resource-limit-exceeded' } });
    expect(refused.error?.description).toMatch(/over amqp\.maxMessageValues/);
    expect(await client.send(sender, { body: 'fine', application_properties: { a: 1 } })).toMatchObject({ outcome: 'accepted' });
    expect(server.broker.getQueue('flooded')?.messages).toBe(1);
    await stillServes();
  });
});

describe('sockets that never authenticate', () => {
  it('cannot take the places of clients that do: a listener full of pending handshakes drops the oldest', async () => {
    await server.stop();
    await start({ limits: { maxConnections: 50 } });
    const idle: net.Socket[] = [];
    for (let i = 0; i < 120; i++) idle.push(await open(port('mqtt')));
    // 120 idle sockets on a listener of 50: the newest 50 are pending, the older ones were dropped.
    await stillServes();
    expect(server.listeners.handshakesDropped).toBeGreaterThanOrEqual(71);
    const dropped = log.lines.find((l) => l.msg === 'connection dropped mid-handshake: its listener is full (limits.maxConnections)');
    expect(dropped).toBeDefined();
  });

  it('are capped in number across listeners (limits.maxPendingHandshakes)', async () => {
    await server.stop();
    await start({ limits: { maxPendingHandshakes: 30 } });
    for (let i = 0; i < 40; i++) await open(port('stomp'));
    for (let i = 0; i < 40; i++) await open(port('amqp'));
    await stillServes();
    expect(server.listeners.handshakesDropped).toBeGreaterThanOrEqual(50);
    expect(
      log.lines.some((l) => l.msg === 'connection dropped mid-handshake: too many handshakes pending (limits.maxPendingHandshakes)'),
    ).toBe(true);
  });
});
