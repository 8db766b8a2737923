// The AWS APIs' door: one HTTP/1.1 server and one HTTP/2 server (Node's own, fed the listeners'
// connection streams; they never listen themselves) for every AWS API the broker serves. HTTP/2 is
// what the Kinesis SDKs speak: chosen by ALPN over TLS, by the client's connection preface on plain
// TCP (prior knowledge, h2c). Per request: the body,
// bounded; the wire protocol and operation (wire.ts); the signature, when users are configured
// (sigv4.ts), which names the principal every core call then runs as; the service's handler; the
// answer in the request's protocol. A connection counts as established at its first request, and
// is one of the core's connections (protocol `aws`) from then until it closes.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createH2Server, type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Session } from 'node:http2';
import { TLSSocket } from 'node:tls';
import { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Broker } from '../../src/core/broker.ts';
import type { Principal } from '../../src/core/principal.ts';
import type { ConnectionInfo } from '../../src/net/connection.ts';
import type { AuditSource } from '../../src/security/audit.ts';
import type { SecurityService } from '../../src/security/security-service.ts';
import { uuid } from '../../src/shared/ids.ts';
import { JunctionError } from '../../src/shared/errors.ts';
import { AwsError, internalFailure, missingAuthentication, serviceUnavailable, unknownAccessKey } from './errors.ts';
import type { AwsMetrics } from './metrics.ts';
import { isEventStream, type AwsService, type EventStreamOutput } from './service.ts';
import { eventMessage, exceptionMessage } from './event-stream.ts';
import { claimedCredential, verifySignature, type Credential, type SignedRequest } from './sigv4.ts';
import {
  decodeRequest,
  encodeError,
  encodeEventPayload,
  encodeResponse,
  type DecodedRequest,
  type EncodedResponse,
  type WireProtocol,
} from './wire.ts';

export interface DoorOptions {
  broker: Broker;
  security: SecurityService;
  services: readonly AwsService[];
  metrics: AwsMetrics;
  log: Logger;
  maxBodyBytes: number;
  keepAliveMs: number;
}

interface ConnectionState {
  readonly id: string;
  readonly info: ConnectionInfo;
  readonly stream: Duplex;
  registered: boolean;
}

export class AwsDoor {
  private readonly http = createServer((req, res) => void this.serve(req, res));
  private readonly h2 = createH2Server((req, res) => void this.serve(req, res));
  private readonly connections = new WeakMap<Duplex, ConnectionState>();
  private readonly sessions = new WeakMap<ServerHttp2Session, ConnectionState>();
  /** The connection whose HTTP/2 session is being made (Node makes it as the connection is handed over). */
  private handingOver: ConnectionState | undefined;
  private anonymous: Principal | undefined;

  constructor(private readonly opts: DoorOptions) {
    this.http.keepAliveTimeout = opts.keepAliveMs;
    // A long poll holds a request for up to 20 s: the server's own request timeout stays above it.
    this.http.requestTimeout = 120_000;
    this.h2.on('session', (session: ServerHttp2Session) => {
      if (this.handingOver) this.sessions.set(session, this.handingOver);
    });
    this.h2.setTimeout(opts.keepAliveMs);
  }

  accept(stream: Duplex, info: ConnectionInfo): void {
    if (info.refused !== undefined) {
      const text = `${info.refused}\n`;
      stream.end(
        `HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
      );
      return;
    }
    const state: ConnectionState = { id: `aws-${uuid()}`, info, stream, registered: false };
    this.connections.set(stream, state);
    stream.once('close', () => {
      if (state.registered) this.opts.broker.connectionClosed(state.id);
    });
    if (stream instanceof TLSSocket) {
      this.handOver(stream, state, stream.alpnProtocol === 'h2');
      return;
    }
    // The first bytes tell an HTTP/2 client with prior knowledge from an HTTP/1.1 one.
    stream.once('data', (first: Buffer) => {
      const n = Math.min(first.length, H2_PREFACE.length);
      if (first.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) {
        // Node's HTTP/2 session reads a socket's handle directly, past anything unshifted: it gets a stream that replays.
        this.handOver(replaying(first, stream), state, true);
        return;
      }
      stream.pause();
      stream.unshift(first);
      this.handOver(stream, state, false);
      stream.resume();
    });
  }

  private handOver(stream: Duplex, state: ConnectionState, h2: boolean): void {
    if (!h2) {
      this.http.emit('connection', stream);
      return;
    }
    this.handingOver = state;
    try {
      this.h2.emit('connection', stream);
    } finally {
      this.handingOver = undefined;
    }
  }

  close(): void {
    this.http.closeAllConnections();
  }

  private stateOf(req: IncomingMessage | Http2ServerRequest): ConnectionState | undefined {
    if ('stream' in req) return this.sessions.get(req.stream.session as ServerHttp2Session);
    return this.connections.get(req.socket as unknown as Duplex);
  }

  private async serve(req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): Promise<void> {
    const requestId = uuid();
    const state = this.stateOf(req);
    state?.info.established();
    let decoded: DecodedRequest | undefined;
    let protocol: WireProtocol =
      req.headers['x-amz-target'] === undefined
        ? 'query'
        : String(req.headers['content-type']).startsWith('application/x-amz-cbor')
          ? 'cbor'
          : 'json';
    const started = process.hrtime.bigint();
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    try {
      const body = await readBody(req, this.opts.maxBodyBytes);
      const url = new URL(req.url ?? '/', 'http://localhost');
      const query = [...url.searchParams];
      // HTTP/2 names the host in `:authority`; a signature covers it as `host`.
      const headers =
        req.headers.host === undefined && req.headers[':authority'] !== undefined
          ? { ...req.headers, host: String(req.headers[':authority']) }
          : req.headers;
      const signed: SignedRequest = { method: req.method ?? 'GET', rawPath: url.pathname, query, headers, body, http2: 'stream' in req };
      const claimed = claimedCredential(signed);
      decoded = decodeRequest(this.opts.services, {
        target: header(req, 'x-amz-target'),
        contentType: header(req, 'content-type') ?? '',
        query,
        body,
        signingName: claimed?.service,
      });
      protocol = decoded.protocol;
      const principal = await this.principal(signed, claimed, decoded, { protocol: 'aws', address: state?.info.remoteAddress ?? '' });
      if (state && !state.registered) this.register(state, principal, `HTTP/${req.httpVersion}`);
      if (!this.opts.broker.running) throw serviceUnavailable('The broker is not serving: it is stopping or standing by.');
      const output = await decoded.service.handle(decoded.input, {
        action: decoded.action,
        principal,
        connectionId: state?.id ?? 'aws',
        requestId,
        baseUrl: `${state?.info.transport === 'tls' ? 'https' : 'http'}://${headers.host ?? 'localhost'}`,
        signal: abort.signal,
      });
      this.opts.metrics.request(decoded.service.signingName, decoded.action, undefined, started);
      if (isEventStream(output)) await streamEvents(res, decoded, output, requestId, this.opts.log);
      else send(res, encodeResponse(decoded, output, requestId));
    } catch (err) {
      const e = toAwsError(err, this.opts.log, decoded?.action);
      this.opts.metrics.request(decoded?.service.signingName ?? 'unknown', decoded?.action ?? 'unknown', e.code, started);
      send(res, encodeError(protocol, e, requestId, decoded?.service));
    }
  }

  /** Who the request runs as: the signer's user when users are configured, else the anonymous principal. */
  private async principal(
    signed: SignedRequest,
    claimed: Credential | undefined,
    decoded: DecodedRequest,
    from: AuditSource,
  ): Promise<Principal> {
    const security = this.opts.security;
    if (!security.hasUsers()) {
      this.anonymous ??= await security.authenticate(undefined, undefined);
      return this.anonymous;
    }
    if (!claimed) {
      if (decoded.service.unsignedActions?.has(decoded.action)) return UNSIGNED;
      throw missingAuthentication();
    }
    const key = security.accessKeyPrincipal(claimed.accessKeyId);
    if (!key) {
      security.audit.loginFailed(claimed.accessKeyId, from, 'unknown access key');
      throw unknownAccessKey();
    }
    try {
      verifySignature(signed, key.secret);
    } catch (err) {
      security.audit.loginFailed(key.principal.username, from, 'bad request signature');
      throw err;
    }
    return key.principal;
  }

  private register(state: ConnectionState, principal: Principal, protocolVersion: string): void {
    state.registered = true;
    this.opts.broker.connections.add({
      id: state.id,
      protocol: 'aws',
      protocolVersion,
      transport: state.info.transport,
      remoteAddress: state.info.remoteAddress,
      user: principal.username,
      principal,
      close: () => state.stream.destroy(),
    });
  }
}

/** Who calls an operation allowed unsigned: nobody the authorization map names. */
const UNSIGNED: Principal = { username: 'unsigned', groups: new Set(), anonymous: true };

/** `socket`'s bytes from `first` on, as a stream of its own (writes and ends go to the socket). */
function replaying(first: Buffer, socket: Duplex): Duplex {
  const d = new Duplex({
    read: () => {
      socket.resume();
    },
    write: (chunk: Buffer, _enc, cb) => {
      socket.write(chunk, cb);
    },
    final: (cb) => {
      socket.end();
      cb();
    },
    destroy: (err, cb) => {
      socket.destroy(err ?? undefined);
      cb(err);
    },
  });
  d.push(first);
  socket.on('data', (c: Buffer) => {
    if (!d.push(c)) socket.pause();
  });
  socket.once('end', () => d.push(null));
  socket.once('close', () => d.destroy());
  return d;
}

/** How an HTTP/2 client with prior knowledge opens a plain TCP connection. */
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

function toAwsError(err: unknown, log: Logger, action: string | undefined): AwsError {
  if (err instanceof AwsError) return err;
  if (err instanceof JunctionError) {
    switch (err.code) {
      case 'not-authorized':
        return new AwsError('AccessDenied', err.message, 403);
      case 'not-authenticated':
        return new AwsError('InvalidClientTokenId', err.message, 403);
      case 'store-unavailable':
      case 'fenced':
      case 'closed':
        return serviceUnavailable(err.message);
      case 'queue-full':
        return new AwsError('OverLimit', err.message, 403);
      case 'invalid-destination':
      case 'invalid-message':
        return new AwsError('InvalidParameterValue', err.message);
      default:
        break;
    }
  }
  log.error({ err, action }, 'AWS API request failed');
  return internalFailure();
}

/** Writes an event-stream answer: the events as they come, then the end (or an exception event if the series fails). */
async function streamEvents(
  res: ServerResponse | Http2ServerResponse,
  req: DecodedRequest,
  output: EventStreamOutput,
  requestId: string,
  log: Logger,
): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': requestId });
  // Both answer kinds write bytes the same way; their typings' overloads do not unite.
  const write = (b: Buffer): void => void (res as ServerResponse).write(b);
  try {
    for await (const e of output.eventStream) {
      if (res.writableEnded || ('destroyed' in res && res.destroyed)) break;
      const { body, contentType } = encodeEventPayload(req, e.payload);
      write(eventMessage(e.type, body, contentType));
    }
  } catch (err) {
    const e = err instanceof AwsError ? err : internalFailure();
    if (!(err instanceof AwsError)) log.error({ err, action: req.action }, 'AWS event stream failed');
    if (!res.writableEnded) write(exceptionMessage(e.code, e.message));
  }
  if (!res.writableEnded) res.end();
}

function header(req: IncomingMessage | Http2ServerRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function send(res: ServerResponse | Http2ServerResponse, r: EncodedResponse): void {
  if (('destroyed' in res && res.destroyed) || res.writableEnded || ('stream' in res && res.stream.destroyed)) return;
  res.writeHead(r.status, { ...r.headers, 'content-length': Buffer.byteLength(r.body) });
  res.end(r.body);
}

function readBody(req: IncomingMessage | Http2ServerRequest, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) {
      req.resume();
      reject(new AwsError('RequestEntityTooLarge', `The request body is larger than ${max} bytes.`, 413));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.destroy();
        reject(new AwsError('RequestEntityTooLarge', `The request body is larger than ${max} bytes.`, 413));
        return;
      }
      chunks.push(c);
    });
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}
