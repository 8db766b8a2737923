// One shape for every client connection, whatever its transport: a byte stream (a Duplex) plus
// what is known of the peer. TCP and TLS sockets are used as they are; a WebSocket becomes a stream
// here, once, so a protocol handler has a single entry point. Every connection stream:
// - sends what is written in one event-loop turn in one write (one system call on a socket, one
//   message or one message per write on a WebSocket), so a burst of small frames does not become a
//   burst of small packets;
// - emits 'close' once when the connection is gone, after the last data it received;
// - has an 'error' listener, so no error goes unhandled (it is logged at debug; 'close' follows).
import type { IncomingMessage } from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { ProtocolListenerConfig } from '../config/schema.ts';
import { createWebSocketStream, type WebSocket } from 'ws';

/** A protocol adapter's name (the registry, adapters/index.ts, lists them). */
export type Protocol = string;
export type Transport = 'tcp' | 'tls' | 'ws' | 'wss';

export interface ConnectionInfo {
  readonly protocol: Protocol;
  readonly transport: Transport;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The HTTP upgrade request of a WebSocket connection. */
  readonly request?: IncomingMessage;
  /**
   * Set when the connection is over a connection limit: the handler answers the client's handshake
   * with its protocol's error carrying this text, and closes.
   */
  readonly refused?: string;
  /** Who the client's certificate names, when tls.identityFrom is set and the CA verified it. */
  readonly certified?: string;
  /**
   * The handler calls this once the client has completed its handshake (it may call it more than
   * once); a connection that has not within limits.connectTimeoutMs is closed by the listener.
   */
  established(): void;
}

/**
 * How a protocol's bytes travel in WebSocket messages: `stream`, all that was written in one turn
 * in one binary message (MQTT and AMQP define their WebSocket binding as a byte stream); `frames`,
 * one message per write, where each write is one whole frame (STOMP, whose WebSocket clients
 * expect a frame per message).
 */
export type WebSocketFraming = 'stream' | 'frames';

/** What an adapter gives the listeners: the protocol it speaks and what to do with a connection. */
export interface ProtocolHandler {
  readonly protocol: Protocol;
  /** Where the protocol listens on TCP and TLS. */
  readonly listener: ProtocolListenerConfig;
  /** WebSocket subprotocols this handler speaks. */
  readonly subprotocols: readonly string[];
  /** URL paths that select this handler when a WebSocket client offers no subprotocol. */
  readonly paths: readonly string[];
  readonly webSocketFraming: WebSocketFraming;
  /** What its TLS listener offers in ALPN, in order of preference (absent: no ALPN). */
  readonly alpnProtocols?: readonly string[];
  /** A new client connection on any transport (see the stream's guarantees above). */
  handleConnection(stream: Duplex, info: ConnectionInfo): void;
  /** Work before the first connection is accepted (the core is running by then). */
  start?(): Promise<void>;
  /**
   * Called as the broker stops or steps down, before connections are dropped: the adapter says
   * goodbye where its protocol has a way to (MQTT 5 DISCONNECT 0x8B), within about a second.
   */
  goodbye?(): Promise<void>;
  /** Called once the listeners are closed, before the core closes. */
  close?(): Promise<void>;
}

/** A TCP or TLS socket as a connection stream. */
export function socketStream(socket: net.Socket, log: Logger): Duplex {
  socket.setNoDelay(true);
  corkPerTurn(socket);
  socket.on('error', (err) => log.debug({ err }, 'connection error'));
  return socket;
}

/** A WebSocket as a connection stream. */
export function webSocketStream(ws: WebSocket, framing: WebSocketFraming, log: Logger): Duplex {
  const stream = createWebSocketStream(ws);
  stream._writev =
    framing === 'stream'
      ? (chunks, done) => ws.send(Buffer.concat(chunks.map((c) => c.chunk as Buffer)), done)
      : (chunks, done) => chunks.forEach((c, i) => ws.send(c.chunk as Buffer, i === chunks.length - 1 ? done : undefined));
  // A normal closure (1000) rather than ws's closing frame without a status code.
  stream._final = (done) => {
    ws.close(1000);
    done();
  };
  // The peer closed: once what it sent has been read, the connection is gone.
  stream.on('end', () => stream.destroy());
  stream.on('error', (err) => log.debug({ err }, 'connection error'));
  corkPerTurn(stream);
  return stream;
}

/** Hands what a connection stream holds corked to the transport now (before it is dropped). */
export function flushCorked(stream: Duplex): void {
  while (stream.writableCorked > 0) stream.uncork();
}

/**
 * Writes made in one event-loop turn leave in one write. Encoders write each frame, sometimes
 * each piece of a frame, on its own; uncorked, each would be its own system call (or WebSocket
 * message).
 */
function corkPerTurn(stream: Duplex): void {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  let corked = false;
  const uncork = (): void => {
    corked = false;
    stream.uncork();
  };
  stream.write = ((...args: unknown[]) => {
    if (!corked && !stream.destroyed) {
      corked = true;
      stream.cork();
      setImmediate(uncork);
    }
    return write(...args);
  }) as Duplex['write'];
}
