// The listener factory over real sockets: TCP and TLS per protocol, the shared WebSocket port
// routing by subprotocol (then path), refusal of unknown subprotocols, port clashes, shutdown.
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { validateConfig } from '../../src/config/load.ts';
import type { ProtocolListenerConfig } from '../../src/config/schema.ts';
import type { JunctionConfig } from '../../src/protocols.ts';
import { ConfigError } from '../../src/shared/errors.ts';
import { Listeners, type ConnectionInfo, type Protocol, type ProtocolHandler } from '../../src/net/listeners.ts';
import { silent } from '../helpers/core.ts';
import { makeTestCert, type TestCert } from '../helpers/tls.ts';

/** A handler that greets each connection with "<protocol>/<transport>" and echoes what it reads. */
function greeter(protocol: Protocol, listener: ProtocolListenerConfig, subprotocols: string[], paths: string[]): ProtocolHandler {
  const hello = (i: ConnectionInfo) => `${i.protocol}/${i.transport}`;
  return {
    protocol,
    listener,
    subprotocols,
    paths,
    webSocketFraming: 'frames',
    handleConnection(stream, info) {
      stream.write(`${hello(info)}\n`);
      stream.on('data', (d: Buffer) => stream.write(d));
    },
  };
}

/** A STOMP and an MQTT greeter, listening where the configuration says. */
const handlers = (c: JunctionConfig): ProtocolHandler[] => [
  greeter('stomp', c.listeners.stomp, ['v10.stomp', 'v11.stomp', 'v12.stomp'], ['/stomp']),
  greeter('mqtt', c.listeners.mqtt, ['mqtt', 'mqttv3.1'], ['/mqtt']),
];

function openListeners(c: JunctionConfig): Promise<Listeners> {
  return Listeners.open(c, handlers(c), silent);
}
const ephemeral = { port: 0, tlsPort: 0 };
const baseConfig = {
  listeners: { host: '127.0.0.1', mqtt: ephemeral, stomp: ephemeral, amqp: ephemeral, websocket: { port: 0 } },
};

let cert: TestCert;
let open: Listeners | undefined;
beforeAll(() => {
  cert = makeTestCert();
});
afterEach(async () => {
  await open?.close();
  open = undefined;
});

async function readLine(socket: net.Socket): Promise<string> {
  const [chunk] = (await once(socket, 'data')) as [Buffer];
  return chunk.toString().trim();
}

async function wsFirstMessage(url: string, protocols?: string | string[], opts: WebSocket.ClientOptions = {}): Promise<string> {
  const ws = new WebSocket(url, protocols, opts);
  try {
    const [data] = (await once(ws, 'message')) as [Buffer];
    return `${data.toString().trim()} (${ws.protocol || 'no subprotocol'})`;
  } finally {
    ws.close();
  }
}

describe('listeners', () => {
  it('opens a TCP listener for each protocol that has a handler', async () => {
    open = await openListeners(validateConfig(baseConfig));
    expect(open.addresses.map((a) => `${a.protocol}/${a.transport}`).sort()).toEqual(['mqtt/tcp', 'stomp/tcp', 'websocket/ws']);
    const s = net.connect(open.port('stomp', 'tcp')!, '127.0.0.1');
    expect(await readLine(s)).toBe('stomp/tcp');
    s.write('ping');
    expect(await readLine(s)).toBe('ping');
    s.destroy();
  });

  it('adds TLS listeners when a certificate is configured', async () => {
    open = await openListeners(validateConfig({ ...baseConfig, tls: { cert: cert.certFile, key: cert.keyFile } }));
    const s = tls.connect({ port: open.port('mqtt', 'tls')!, host: '127.0.0.1', ca: cert.cert, servername: 'localhost' });
    expect(await readLine(s as unknown as net.Socket)).toBe('mqtt/tls');
    expect(s.authorized).toBe(true);
    s.destroy();
  });

  it('opens no TLS port for a protocol whose tls switch is off', async () => {
    const cfg = {
      ...baseConfig,
      tls: { cert: cert.certFile, key: cert.keyFile },
      listeners: { ...baseConfig.listeners, stomp: { ...ephemeral, tls: false } },
    };
    open = await openListeners(validateConfig(cfg));
    expect(open.port('stomp', 'tls')).toBeUndefined();
    expect(open.port('mqtt', 'tls')).toBeGreaterThan(0);
  });

  it('skips a disabled protocol', async () => {
    open = await openListeners(validateConfig({ ...baseConfig, listeners: { ...baseConfig.listeners, mqtt: { enabled: false } } }));
    expect(open.port('mqtt', 'tcp')).toBeUndefined();
    expect(open.port('stomp', 'tcp')).toBeGreaterThan(0);
  });

  it('routes WebSocket connections by subprotocol, else by path, and refuses the rest', async () => {
    open = await openListeners(validateConfig(baseConfig));
    const url = `ws://127.0.0.1:${open.port('websocket', 'ws')}`;
    expect(await wsFirstMessage(`${url}/anything`, ['v12.stomp'])).toBe('stomp/ws (v12.stomp)');
    expect(await wsFirstMessage(url, ['nonsense', 'mqtt'])).toBe('mqtt/ws (mqtt)');
    expect(await wsFirstMessage(`${url}/mqtt`)).toBe('mqtt/ws (no subprotocol)');
    const ws = new WebSocket(`${url}/other`);
    const [code, reason] = (await once(ws, 'close')) as [number, Buffer];
    expect(code).toBe(1002);
    expect(reason.toString()).toMatch(/Unsupported subprotocol/);
  });

  it('answers plain HTTP on the WebSocket port with 426 Upgrade Required', async () => {
    open = await openListeners(validateConfig(baseConfig));
    const res = await fetch(`http://127.0.0.1:${open.port('websocket', 'ws')}/`);
    expect(res.status).toBe(426);
    expect(await res.text()).toMatch(/speaks WebSocket/);
  });

  it('serves wss when the WebSocket listener is set to TLS', async () => {
    const cfg = {
      ...baseConfig,
      tls: { cert: cert.certFile, key: cert.keyFile },
      listeners: { ...baseConfig.listeners, websocket: { port: 0, tls: true } },
    };
    open = await openListeners(validateConfig(cfg));
    const port = open.port('websocket', 'wss');
    expect(await wsFirstMessage(`wss://localhost:${port}/`, 'v11.stomp', { ca: cert.cert })).toBe('stomp/wss (v11.stomp)');
  });

  it('a taken port is a readable ConfigError and nothing stays open', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      const cfg = validateConfig({ ...baseConfig, listeners: { ...baseConfig.listeners, stomp: { port: taken } } });
      const err = await openListeners(cfg).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(new RegExp(`Cannot listen for stomp \\(tcp\\) on 127.0.0.1:${taken}`));
    } finally {
      blocker.close();
    }
  });

  it('refuses tls.identityFrom without a CA that signs client certificates, before anything listens', async () => {
    const err = await openListeners(
      validateConfig({ ...baseConfig, tls: { cert: cert.certFile, key: cert.keyFile, identityFrom: 'cn' } }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe('tls.identityFrom needs tls.ca (the CA that signs client certificates) and tls.requestCert: true');
  });

  it('close() does not wait for a TLS handshake that never happens', async () => {
    open = await openListeners(validateConfig({ ...baseConfig, tls: { cert: cert.certFile, key: cert.keyFile } }));
    const raw = net.connect(open.port('stomp', 'tls')!, '127.0.0.1'); // connects, never says hello
    raw.on('error', () => {});
    await once(raw, 'connect');
    const closed = once(raw, 'close');
    await open.close();
    open = undefined;
    await closed;
  });

  it('close() drops open connections and stops accepting', async () => {
    open = await openListeners(validateConfig(baseConfig));
    const port = open.port('stomp', 'tcp')!;
    const s = net.connect(port, '127.0.0.1');
    await readLine(s);
    const wsUrl = `ws://127.0.0.1:${open.port('websocket', 'ws')}`;
    const ws = new WebSocket(wsUrl, 'mqtt');
    await once(ws, 'message');
    const closed = Promise.all([once(s, 'close'), once(ws, 'close')]);
    await open.close();
    open = undefined;
    await closed;
    const refused = net.connect(port, '127.0.0.1');
    const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(err.code).toBe('ECONNREFUSED');
  });
});
