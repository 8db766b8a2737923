// Network listeners for every protocol, opened one way from configuration: plain TCP and TLS per
// protocol, and one shared WebSocket port that picks the protocol from the subprotocol the client
// offers (or, when it offers none, from the URL path). Adapters only implement ProtocolHandler
// (connection.ts) and see every connection as one kind of stream; TLS material, socket tracking
// and shutdown live here, and so does the admission of connections whose handshake is still under
// way: at most limits.maxPendingHandshakes of them at once, and a full listener first makes room by
// dropping its oldest pending handshake, so sockets that never authenticate cannot take the places
// of clients that do.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { CoreConfig } from '../config/schema.ts';
import { ConfigError } from '../shared/errors.ts';
import { certificateIdentity } from './certificate-identity.ts';
import {
  flushCorked,
  socketStream,
  webSocketStream,
  type ConnectionInfo,
  type Protocol,
  type ProtocolHandler,
  type Transport,
} from './connection.ts';
import { ConnectionLimits } from './connection-limits.ts';
import { HeapReclaimer } from '../shared/heap-reclaimer.ts';

/** A refused connection gets at most this long to send the handshake its refusal answers. */
const REFUSED_DEADLINE_MS = 5000;
const REFUSAL_LOG_MS = 10_000;

export type { ConnectionInfo, Protocol, ProtocolHandler, Transport } from './connection.ts';

export interface ListenerAddress {
  readonly protocol: Protocol | 'websocket';
  readonly transport: Transport;
  readonly host: string;
  readonly port: number;
}

export const WS_MAX_PAYLOAD = 64 * 1024 * 1024;

/**
 * The largest message `ws` accepts on one connection. ws takes maxPayload per server only; its
 * receiver keeps the bound in `_maxPayload` (ws 8), read as each frame header arrives, so a frame
 * over it closes the connection (1009) before its payload is buffered. A test checks that this
 * still holds (test/protocol/hostile-clients.test.ts).
 */
function setMaxPayload(ws: WebSocket, bytes: number): void {
  const receiver = (ws as unknown as { _receiver?: { _maxPayload?: number } })._receiver;
  if (receiver && typeof receiver._maxPayload === 'number') receiver._maxPayload = bytes;
}

interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  passphrase?: string;
  requestCert: boolean;
  rejectUnauthorized: boolean;
  crl?: Buffer;
}

function readTls(cfg: CoreConfig['tls']): TlsMaterial | undefined {
  if (!cfg.cert && !cfg.key) return undefined;
  if (!cfg.cert || !cfg.key) throw new ConfigError('tls.cert and tls.key must be set together');
  const read = (key: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new ConfigError(`Cannot read tls.${key} file ${file}: ${(err as Error).message}`, { key, file });
    }
  };
  const m: TlsMaterial = {
    cert: read('cert', cfg.cert),
    key: read('key', cfg.key),
    requestCert: cfg.requestCert,
    rejectUnauthorized: cfg.rejectUnauthorized,
  };
  if (cfg.ca) m.ca = read('ca', cfg.ca);
  if (cfg.crl) m.crl = read('crl', cfg.crl);
  if (cfg.identityFrom && !(cfg.ca && cfg.requestCert)) {
    throw new ConfigError('tls.identityFrom needs tls.ca (the CA that signs client certificates) and tls.requestCert: true');
  }
  if (cfg.passphrase) m.passphrase = cfg.passphrase;
  return m;
}

export class Listeners {
  private readonly servers: Array<net.Server | HttpServer> = [];
  private readonly sockets = new Set<Duplex>();
  /** The connection streams handed to handlers (a WebSocket's is not its socket). */
  private readonly streams = new Set<Duplex>();
  private readonly wsServers: WebSocketServer[] = [];
  private readonly bound: ListenerAddress[] = [];
  private closing: Promise<void> | undefined;
  readonly limits: ConnectionLimits;
  /** Connections closed because their handshake did not complete in time. */
  handshakeTimeouts = 0;
  /** Connections dropped mid-handshake to make room (limits.maxPendingHandshakes, or a full listener). */
  handshakesDropped = 0;
  /** Connections whose handshake is under way, oldest first, with how to drop one. */
  private readonly pending = new Map<Duplex, { listener: string; drop: () => void }>();
  /** A full collection after a fleet left, so its memory goes back (heap-reclaimer.ts). */
  private readonly reclaimer: HeapReclaimer;
  private droppedLoggedAt = Number.NEGATIVE_INFINITY;
  private droppedUnlogged = 0;
  /** Refusals are logged when a burst starts, then at most every REFUSAL_LOG_MS with the count since. */
  private refusedLoggedAt = Number.NEGATIVE_INFINITY;
  private refusedUnlogged = 0;

  private constructor(
    private readonly log: Logger,
    private readonly connectTimeoutMs: number,
    private readonly maxPendingHandshakes: number,
    private readonly maxHandshakeBytes: number,
    limits: { maxConnections: number; maxConnectionsPerAddress: number },
  ) {
    this.limits = new ConnectionLimits(limits);
    this.reclaimer = new HeapReclaimer(log);
  }

  /** Opens every enabled listener that has a handler; rejects if a port cannot be bound. */
  static async open(config: CoreConfig, handlers: readonly ProtocolHandler[], log: Logger): Promise<Listeners> {
    const c = config.limits;
    const l = new Listeners(log, c.connectTimeoutMs, c.maxPendingHandshakes, c.maxHandshakeBytes, c);
    try {
      await l.openAll(config, handlers);
    } catch (err) {
      await l.close();
      throw err;
    }
    return l;
  }

  get addresses(): readonly ListenerAddress[] {
    return this.bound;
  }

  /** The bound port of one listener (useful when configured as 0). */
  port(protocol: Protocol | 'websocket', transport: Transport): number | undefined {
    return this.bound.find((a) => a.protocol === protocol && a.transport === transport)?.port;
  }

  private async openAll(config: CoreConfig, handlers: readonly ProtocolHandler[]): Promise<void> {
    const material = readTls(config.tls);
    const host = config.listeners.host;
    const identityFrom = config.tls.identityFrom;
    /** Who a TLS client's certificate names (tls.identityFrom). */
    const certified = (socket: net.Socket): { certified?: string } => {
      const name = identityFrom && socket instanceof tls.TLSSocket ? certificateIdentity(socket, identityFrom) : undefined;
      return name === undefined ? {} : { certified: name };
    };
    for (const h of handlers) {
      const lc = h.listener;
      if (!lc.enabled) continue;
      const onSocket = (transport: Transport) => (socket: net.Socket) => {
        // Object.assign, not a spread: V8's optimized spreads give each object a hidden class of its own.
        const base = { protocol: h.protocol, transport, remoteAddress: socket.remoteAddress ?? '', remotePort: socket.remotePort ?? 0 };
        this.handOver(h, socketStream(socket, this.log), `${h.protocol}/${transport}`, Object.assign(base, certified(socket)));
      };
      await this.listen(net.createServer(onSocket('tcp')), h.protocol, 'tcp', host, lc.port);
      if (material && lc.tls) {
        const alpn = h.alpnProtocols ? { ALPNProtocols: [...h.alpnProtocols] } : {};
        const server = tls.createServer({ ...material, ...alpn, handshakeTimeout: this.connectTimeoutMs }, onSocket('tls'));
        this.dropFailedHandshakes(server, h.protocol);
        await this.listen(server, h.protocol, 'tls', host, lc.tlsPort);
      }
    }
    const wc = config.listeners.websocket;
    if (wc.enabled && handlers.length > 0) {
      if (wc.tls && !material) throw new ConfigError('listeners.websocket.tls needs tls.cert and tls.key');
      // Node checks request deadlines on an interval (30 s by default): once a second here.
      const checking = { connectionsCheckingInterval: Math.min(1000, this.connectTimeoutMs) };
      const http =
        wc.tls && material
          ? createHttpsServer({ ...material, ...checking, handshakeTimeout: this.connectTimeoutMs })
          : createHttpServer(checking);
      if (wc.tls) this.dropFailedHandshakes(http as tls.Server, 'websocket');
      // The upgrade request counts towards the handshake deadline too.
      http.headersTimeout = this.connectTimeoutMs;
      http.requestTimeout = this.connectTimeoutMs;
      http.on('request', (_req, res) => {
        res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
        res.end(`This port speaks WebSocket: connect with subprotocol ${offered(handlers)}.\n`);
      });
      this.attachWebSocket(http, handlers, wc.tls ? 'wss' : 'ws', certified);
      await this.listen(http, 'websocket', wc.tls ? 'wss' : 'ws', host, wc.port);
    }
  }

  private attachWebSocket(
    http: HttpServer,
    handlers: readonly ProtocolHandler[],
    transport: Transport,
    certified: (socket: net.Socket) => { certified?: string },
  ): void {
    const bySubprotocol = new Map<string, ProtocolHandler>();
    const byPath = new Map<string, ProtocolHandler>();
    for (const h of handlers) {
      for (const p of h.subprotocols) bySubprotocol.set(p.toLowerCase(), h);
      for (const p of h.paths) byPath.set(p, h);
    }
    const wss = new WebSocketServer({
      server: http,
      maxPayload: WS_MAX_PAYLOAD,
      handleProtocols: (offered) => {
        for (const p of offered) if (bySubprotocol.has(p.toLowerCase())) return p;
        return false;
      },
    });
    this.wsServers.push(wss);
    wss.on('connection', (ws, req) => {
      const path = (req.url ?? '/').split('?')[0] as string;
      const h = ws.protocol ? bySubprotocol.get(ws.protocol.toLowerCase()) : byPath.get(path);
      if (!h) {
        this.log.info({ path, offered: req.headers['sec-websocket-protocol'] ?? '' }, 'websocket refused: no known subprotocol');
        ws.close(1002, `Unsupported subprotocol: use ${offered(handlers)}`);
        return;
      }
      this.handOver(
        h,
        webSocketStream(ws, h.webSocketFraming, this.log),
        `websocket/${transport}`,
        {
          protocol: h.protocol,
          transport,
          remoteAddress: req.socket.remoteAddress ?? '',
          remotePort: req.socket.remotePort ?? 0,
          request: req,
          ...certified(req.socket),
        },
        ws,
      );
    });
    wss.on('error', (err) => this.log.error({ err }, 'websocket server error'));
  }

  /**
   * Gives a new connection to its handler: counted against the connection limits (or marked
   * refused), held among the pending handshakes until its handler says it is established, and
   * closed if that does not happen within the deadline.
   */
  private handOver(
    h: ProtocolHandler,
    stream: Duplex,
    listener: string,
    base: Omit<ConnectionInfo, 'established' | 'refused'>,
    ws?: WebSocket,
  ): void {
    this.streams.add(stream);
    let admitted = this.limits.admit(listener, base.remoteAddress);
    // A listener full of connections still shaking hands: the oldest of those makes room.
    if (admitted.refused !== undefined && admitted.limit === 'listener' && this.dropOldestPending(listener)) {
      admitted = this.limits.admit(listener, base.remoteAddress);
    }
    const refused = admitted.refused;
    if (refused !== undefined) {
      this.refusedUnlogged++;
      const now = Date.now();
      if (now - this.refusedLoggedAt >= REFUSAL_LOG_MS) {
        this.log.warn(
          { listener, remote: `${base.remoteAddress}:${base.remotePort}`, reason: refused, refused: this.refusedUnlogged },
          'connection refused: over a connection limit',
        );
        this.refusedLoggedAt = now;
        this.refusedUnlogged = 0;
      }
    } else {
      this.reclaimer.opened();
    }
    if (this.pending.size >= this.maxPendingHandshakes) this.dropOldestPending(undefined);
    // Before its handshake, a WebSocket client may send no message larger than the handshake needs.
    if (ws) setMaxPayload(ws, this.maxHandshakeBytes);
    let deadline: NodeJS.Timeout | undefined = setTimeout(
      () => {
        if (deadline === undefined || stream.destroyed) return;
        this.handshakeTimeouts++;
        this.log.info(
          { listener, remote: `${base.remoteAddress}:${base.remotePort}`, timeoutMs: this.connectTimeoutMs },
          'connection closed: handshake not completed in time (limits.connectTimeoutMs)',
        );
        flushCorked(stream);
        stream.destroy();
      },
      refused !== undefined ? Math.min(REFUSED_DEADLINE_MS, this.connectTimeoutMs) : this.connectTimeoutMs,
    );
    deadline.unref();
    /** The handshake is over (done, dropped or the connection closed): its deadline and place go. */
    const settle = (): void => {
      if (deadline === undefined) return;
      clearTimeout(deadline);
      deadline = undefined;
      this.pending.delete(stream);
    };
    // One listener for all a connection leaves behind here: an idle fleet keeps one per device.
    stream.once('close', () => {
      this.streams.delete(stream);
      settle();
      if (refused === undefined) {
        admitted.release();
        this.reclaimer.closed();
      }
    });
    this.pending.set(stream, {
      listener,
      drop: () => {
        settle();
        if (refused === undefined) admitted.release();
        stream.destroy();
      },
    });
    const info: ConnectionInfo = Object.assign({}, base, refused !== undefined ? { refused } : {}, {
      established: () => {
        if (deadline === undefined) return;
        settle();
        if (ws) setMaxPayload(ws, WS_MAX_PAYLOAD);
      },
    });
    h.handleConnection(stream, info);
  }

  /** Drops the oldest connection still shaking hands (on `listener`, or on any); false when there is none. */
  private dropOldestPending(listener: string | undefined): boolean {
    for (const p of this.pending.values()) {
      if (listener !== undefined && p.listener !== listener) continue;
      p.drop();
      this.handshakesDropped++;
      this.droppedUnlogged++;
      const now = Date.now();
      if (now - this.droppedLoggedAt >= REFUSAL_LOG_MS) {
        this.log.warn(
          {
            listener: p.listener,
            dropped: this.droppedUnlogged,
            pending: this.pending.size,
            maxPendingHandshakes: this.maxPendingHandshakes,
          },
          listener === undefined
            ? 'connection dropped mid-handshake: too many handshakes pending (limits.maxPendingHandshakes)'
            : 'connection dropped mid-handshake: its listener is full (limits.maxConnections)',
        );
        this.droppedLoggedAt = now;
        this.droppedUnlogged = 0;
      }
      return true;
    }
    return false;
  }

  /** A TLS handshake that failed or timed out: Node reports it but leaves the socket open. */
  private dropFailedHandshakes(server: tls.Server, protocol: Protocol | 'websocket'): void {
    server.on('tlsClientError', (err: Error & { code?: string }, socket: tls.TLSSocket) => {
      this.log.info(
        { protocol, remote: `${socket.remoteAddress ?? ''}:${socket.remotePort ?? 0}`, reason: err.code ?? err.message },
        'TLS handshake failed; connection closed',
      );
      socket.destroy();
    });
  }

  private track(socket: Duplex): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private listen(
    server: net.Server | HttpServer,
    protocol: Protocol | 'websocket',
    transport: Transport,
    host: string,
    port: number,
  ): Promise<void> {
    // Raw sockets, tracked from accept on, so shutdown also drops TLS handshakes still in progress.
    server.on('connection', (s: Duplex) => this.track(s));
    server.on('error', (err) => this.log.error({ err, protocol, transport }, 'listener error'));
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      const onError = (err: Error) =>
        reject(new ConfigError(`Cannot listen for ${protocol} (${transport}) on ${host}:${port}: ${err.message}`, { protocol, port }));
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        const a = server.address();
        const bound = typeof a === 'object' && a ? a.port : port;
        this.bound.push({ protocol, transport, host, port: bound });
        resolve();
      });
    });
  }

  /**
   * Stops accepting new connections at once; existing ones stay open. The promise resolves when
   * every server has fully closed, which is only after its connections are gone.
   */
  stopAccepting(): Promise<void> {
    this.closing ??= Promise.all(
      this.servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))),
    ).then(() => undefined);
    return this.closing;
  }

  /** Drops every open connection; what was written to them in this turn still goes out first. */
  destroyConnections(): void {
    for (const s of this.streams) flushCorked(s);
    this.streams.clear();
    for (const wss of this.wsServers) for (const c of wss.clients) c.terminate();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** Stops accepting, drops every connection, and resolves once all servers are closed. */
  async close(): Promise<void> {
    const closed = this.stopAccepting();
    this.reclaimer.stop();
    this.destroyConnections();
    for (const wss of this.wsServers) wss.close();
    await closed;
  }
}

/** The WebSocket subprotocols the handlers speak, for a person to read ("mqtt, v12.stomp or amqp"). */
function offered(handlers: readonly ProtocolHandler[]): string {
  const all = handlers.flatMap((h) => h.subprotocols);
  return all.length < 2 ? (all[0] ?? 'none') : `${all.slice(0, -1).join(', ')} or ${all.at(-1) ?? ''}`;
}
