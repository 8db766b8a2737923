// STOMP test helpers: a broker serving STOMP on ephemeral loopback ports (TCP, TLS, WebSocket) on
// the memory store, and a raw socket client that writes exact bytes and reads frames, for the
// tests where a client library would hide what is on the wire.
import type { Logger } from 'pino';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { createWebSocketStream, WebSocket } from 'ws';
import type { JunctionServer } from '../../src/server.ts';
import { stompAdapter } from '../../adapters/stomp/index.ts';
import type { StompFrame } from '../../adapters/stomp/frame.ts';
import { StompParser } from '../../adapters/stomp/parser.ts';
import { startTestServer } from './server.ts';
import type { TestCert } from './tls.ts';
import type { Store } from '../../src/store/store.ts';

export interface StompTestServer {
  server: JunctionServer;
  port: number;
  tlsPort: number;
  wsPort: number;
  cert: TestCert;
  stop(): Promise<void>;
}

export async function startStompServer(extra: Record<string, unknown> = {}, store?: Store, log?: Logger): Promise<StompTestServer> {
  const { server, cert } = await startTestServer(
    [stompAdapter],
    { mqtt: { enabled: false }, amqp: { enabled: false }, stomp: { port: 0, tlsPort: 0 }, websocket: { port: 0 } },
    { stomp: { minHeartbeatMs: 50 }, ...extra },
    store,
    log,
  );
  return {
    server,
    cert,
    port: server.listeners.port('stomp', 'tcp')!,
    tlsPort: server.listeners.port('stomp', 'tls')!,
    wsPort: server.listeners.port('websocket', 'ws')!,
    stop: () => server.stop(),
  };
}

/** A STOMP client at the byte level: frames are written as given and read with a client-side parser. */
export class RawStomp {
  readonly frames: StompFrame[] = [];
  beats = 0;
  readonly closed: Promise<void>;
  private waiters: Array<() => void> = [];
  private readonly parser = new StompParser(undefined, 'client');

  private constructor(readonly socket: Duplex) {
    socket.on('data', (d: Buffer) => {
      for (const f of this.parser.push(d, () => this.beats++)) this.frames.push(f);
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        resolve();
        for (const w of this.waiters.splice(0)) w();
      }),
    );
  }

  /** A client on a connection the test opened itself (a TLS socket with a client certificate). */
  static wrap(socket: Duplex): RawStomp {
    return new RawStomp(socket);
  }

  static async open(port: number, opts: { tls?: TestCert } = {}): Promise<RawStomp> {
    const socket = opts.tls
      ? tls.connect({ port, host: '127.0.0.1', ca: opts.tls.cert, servername: 'localhost' })
      : net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once(opts.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    return new RawStomp(socket);
  }

  /** A STOMP connection over the shared WebSocket port (subprotocol v12.stomp): each write is one WebSocket message. */
  static async openWebSocket(port: number): Promise<RawStomp> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, ['v12.stomp']);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new RawStomp(createWebSocketStream(ws));
  }

  /** Connects with STOMP `version` and the given extra CONNECT headers; resolves with CONNECTED. */
  static async connect(
    port: number,
    headers: Record<string, string> = {},
    opts: { tls?: TestCert; webSocket?: boolean } = {},
  ): Promise<RawStomp> {
    const c = opts.webSocket ? await RawStomp.openWebSocket(port) : await RawStomp.open(port, opts);
    c.send('CONNECT', { 'accept-version': '1.2', host: 'localhost', ...headers });
    const f = await c.next();
    if (f.command !== 'CONNECTED') throw new Error(`expected CONNECTED, got ${f.command}: ${f.headers.get('message')}`);
    return c;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  send(command: string, headers: Record<string, string> = {}, body: string | Buffer = ''): void {
    let head = `${command}\n`;
    for (const [k, v] of Object.entries(headers)) head += `${k}:${v}\n`;
    const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
    if (b.length > 0) head += `content-length:${b.length}\n`;
    this.socket.write(Buffer.concat([Buffer.from(`${head}\n`), b, Buffer.from([0])]));
  }

  /** The next frame not yet taken; rejects after `timeoutMs` or when the connection closes first. */
  async next(timeoutMs = 5000): Promise<StompFrame> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.socket.destroyed || this.socket.readableEnded) throw new Error('connection closed before a frame arrived');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.frames.shift() as StompFrame;
  }

  /** Resolves once `n` heart-beats in all have arrived; rejects after `timeoutMs` or on close. */
  async waitForBeats(n: number, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.beats < n) {
      if (this.socket.destroyed || this.socket.readableEnded) throw new Error(`connection closed after ${this.beats} heart-beats`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`only ${this.beats} heart-beats within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The next `n` frames, sorted by command (for frames whose relative order is not defined). */
  async nextSorted(n: number): Promise<StompFrame[]> {
    const out: StompFrame[] = [];
    for (let i = 0; i < n; i++) out.push(await this.next());
    return out.sort((a, b) => a.command.localeCompare(b.command));
  }

  /** The next frame, which must be `command`. */
  async expect(command: string, timeoutMs?: number): Promise<StompFrame> {
    const f = await this.next(timeoutMs);
    if (f.command !== command) throw new Error(`expected ${command}, got ${f.command}: ${f.headers.get('message') ?? f.body.toString()}`);
    return f;
  }

  close(): void {
    this.socket.destroy();
  }
}
