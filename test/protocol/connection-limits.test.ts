// Deadlines and limits on client connections, on a broker serving all three protocols: a
// connection that does not complete its handshake within limits.connectTimeoutMs is closed on
// every protocol and transport, established ones are left alone, and a connection over
// limits.maxConnectionsPerAddress or limits.maxConnections hears its protocol's own refusal
// (checked with mqtt.js and mosquitto_sub, rhea and qpid-proton, a raw STOMP client and stomp.py)
// while the others go on.
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import rhea, { type EventContext } from 'rhea';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { JunctionServer } from '../../src/server.ts';
import { AmqpClient } from '../helpers/amqp.ts';
import { CapturedLog } from '../helpers/log.ts';
import { connectMqtt, endMqtt } from '../helpers/mqtt.ts';
import { startAllProtocols } from '../helpers/server.ts';
import { RawStomp } from '../helpers/stomp.ts';
import type { TestCert } from '../helpers/tls.ts';

const protonFixture = join(import.meta.dirname, '../fixtures/amqp_proton_client.py');
/** stomp.py connects; prints the message of the ERROR frame that answers its CONNECT. */
const STOMP_PY_REFUSED = `
import sys, threading, stomp
got = threading.Event()
msg = []
class L(stomp.ConnectionListener):
    def on_error(self, frame):
        msg.append(frame.headers.get("message", ""))
        got.set()
c = stomp.Connection12([("127.0.0.1", int(sys.argv[1]))], heartbeats=(0, 0))
c.set_listener("", L())
try:
    c.connect(wait=True)
except Exception:
    pass
got.wait(10)
print(msg[0] if msg else "no ERROR")
`;

let server: JunctionServer | undefined;
const cleanups: Array<() => void> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  await server?.stop();
  server = undefined;
});

async function start(limits: Record<string, unknown>, log?: CapturedLog): Promise<{ s: JunctionServer; cert: TestCert }> {
  const r = await startAllProtocols({ limits }, undefined, log?.log);
  server = r.server;
  return { s: r.server, cert: r.cert };
}

/** Resolves when `socket` closes; fails the test after `ms`. */
async function closedWithin(socket: net.Socket, ms: number): Promise<void> {
  if (socket.destroyed) return;
  await Promise.race([
    once(socket, 'close'),
    new Promise((_, reject) => setTimeout(() => reject(new Error(`still open after ${ms} ms`)), ms).unref()),
  ]);
}

async function tcp(port: number, first?: Buffer | string): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.resume(); // what the broker answers is read, so its close is seen
  await once(socket, 'connect');
  if (first !== undefined) socket.write(first);
  cleanups.push(() => socket.destroy());
  return socket;
}

describe('limits.connectTimeoutMs', () => {
  it('closes connections that do not complete their handshake, on every protocol and transport', async () => {
    const log = new CapturedLog();
    const { s, cert } = await start({ connectTimeoutMs: 400 }, log);
    const port = (p: 'stomp' | 'mqtt' | 'amqp', t: 'tcp' | 'tls') => s.listeners.port(p, t)!;
    const idle = [
      await tcp(port('stomp', 'tcp')),
      await tcp(port('stomp', 'tcp'), 'CONNECT\naccept-version:1.2\n'), // a CONNECT that never ends
      await tcp(port('mqtt', 'tcp')),
      await tcp(port('amqp', 'tcp'), Buffer.from('AMQP\x03\x01\x00\x00', 'binary')), // SASL header, then nothing
      await tcp(port('amqp', 'tcp')),
      await tcp(port('stomp', 'tls')), // no TLS ClientHello
      await tcp(s.listeners.port('websocket', 'ws')!, 'GET / HTTP/1.1\r\nHost: localhost\r\n'), // an upgrade request never finished
    ];
    const secure = tls.connect({ port: port('mqtt', 'tls'), host: '127.0.0.1', ca: cert.cert, servername: 'localhost' });
    secure.on('error', () => {});
    secure.resume();
    await once(secure, 'secureConnect');
    cleanups.push(() => secure.destroy());
    const ws = new WebSocket(`ws://127.0.0.1:${s.listeners.port('websocket', 'ws')}/`, 'v12.stomp');
    ws.on('error', () => {});
    await once(ws, 'open');
    const wsClosed = once(ws, 'close');
    cleanups.push(() => ws.terminate());
    // A client that completed its handshake stays.
    const stomp = await RawStomp.connect(port('stomp', 'tcp'));
    cleanups.push(() => stomp.close());

    const names = ['stomp', 'stomp half CONNECT', 'mqtt', 'amqp SASL header', 'amqp', 'stomp tls', 'websocket upgrade', 'mqtt tls'];
    await Promise.all(
      [...idle, secure].map((c, i) =>
        closedWithin(c, 5000).catch((e: Error) => {
          throw new Error(`${names[i]}: ${e.message}`);
        }),
      ),
    );
    await Promise.race([wsClosed, new Promise((_, r) => setTimeout(() => r(new Error('websocket still open')), 5000).unref())]);
    const timeouts = log.lines.filter((l) => l.msg === 'connection closed: handshake not completed in time (limits.connectTimeoutMs)');
    expect(timeouts.length).toBeGreaterThanOrEqual(6);
    stomp.send('SEND', { destination: '/queue/still-here', receipt: 'r' }, 'x');
    expect((await stomp.expect('RECEIPT')).headers.get('receipt-id')).toBe('r');
  });
});

describe('limits.maxConnectionsPerAddress', () => {
  it("refuses the next connection from an address with each protocol's own error, and accepts again once one leaves", async () => {
    const { s } = await start({ maxConnectionsPerAddress: 2 });
    const stompPort = s.listeners.port('stomp', 'tcp')!;
    const mqttPort = s.listeners.port('mqtt', 'tcp')!;
    const amqpPort = s.listeners.port('amqp', 'tcp')!;
    const first = await RawStomp.connect(stompPort);
    const { client: second } = await connectMqtt(`mqtt://127.0.0.1:${mqttPort}`, { clientId: 'second' });
    cleanups.push(
      () => first.close(),
      () => second.end(true),
    );

    // STOMP: an ERROR frame answers CONNECT, then the connection closes.
    const third = await RawStomp.open(stompPort);
    third.send('CONNECT', { 'accept-version': '1.2', host: 'localhost' });
    const err = await third.expect('ERROR');
    expect(err.headers.get('message')).toMatch(/limits\.maxConnectionsPerAddress/);
    await third.closed;

    // MQTT 3.1.1: CONNACK 3, server unavailable (mqtt.js, then mosquitto_sub).
    const refused = mqtt.connect(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0, clientId: 'third' });
    const mqttErr = await new Promise<Error & { code?: number }>((resolve) => refused.once('error', resolve));
    refused.end(true);
    expect(mqttErr.code).toBe(3);
    const sub = await promisify(execFile)(
      'mosquitto_sub',
      ['-h', '127.0.0.1', '-p', String(mqttPort), '-t', 'x', '-C', '1', '-i', 'fourth'],
      {
        timeout: 10_000,
      },
    ).catch((e: { stderr?: string; code?: number }) => e);
    expect((sub as { stderr?: string }).stderr ?? '').toMatch(/unavailable/i);

    // AMQP: the broker's open is followed by a close carrying amqp:resource-limit-exceeded.
    const container = rhea.create_container({ id: 'refused' });
    const conn = container.connect({ host: '127.0.0.1', port: amqpPort, reconnect: false });
    const closeError = await new Promise<{ condition?: string; description?: string }>((resolve) => {
      conn.on('connection_error', (e: EventContext) => resolve(e.connection.error as { condition?: string }));
      conn.on('connection_close', (e: EventContext) => resolve((e.connection.error ?? {}) as { condition?: string }));
      conn.on('disconnected', () => {});
    });
    conn.close();
    expect(closeError.condition).toBe('amqp:resource-limit-exceeded');
    expect(closeError.description).toMatch(/connections from 127\.0\.0\.1/);

    // The same refusals as Debian's python clients see them (qpid-proton, stomp.py).
    const python = (args: string[]) => promisify(execFile)('/usr/bin/python3', args, { timeout: 20_000 });
    const proton = await python([protonFixture, 'refused', `amqp://127.0.0.1:${amqpPort}`, 'q']);
    const pr = JSON.parse(proton.stdout) as { refused: boolean; error: string; condition: string | null };
    expect(pr.refused).toBe(true);
    expect(`${pr.condition} ${pr.error}`).toMatch(/amqp:resource-limit-exceeded/);
    const stompPy = await python(['-c', STOMP_PY_REFUSED, String(stompPort)]);
    expect(stompPy.stdout).toMatch(/limits\.maxConnectionsPerAddress/);

    // The connections already open are untouched; once one leaves, a new one is accepted.
    first.send('SEND', { destination: '/queue/q', receipt: 'r' }, 'x');
    await first.expect('RECEIPT');
    await endMqtt(second);
    const amqp = await AmqpClient.connect(amqpPort);
    cleanups.push(() => amqp.close());
  });

  it('counts per listener with limits.maxConnections: a full STOMP port leaves the MQTT port open', async () => {
    const { s } = await start({ maxConnections: 1 });
    const stompPort = s.listeners.port('stomp', 'tcp')!;
    const one = await RawStomp.connect(stompPort);
    cleanups.push(() => one.close());
    const two = await RawStomp.open(stompPort);
    two.send('CONNECT', { 'accept-version': '1.2', host: 'localhost' });
    expect((await two.expect('ERROR')).headers.get('message')).toMatch(/1 connections on this listener \(limits\.maxConnections\)/);
    const { client } = await connectMqtt(`mqtt://127.0.0.1:${s.listeners.port('mqtt', 'tcp')!}`);
    await endMqtt(client);
  });
});
