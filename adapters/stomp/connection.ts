// One STOMP connection, over TCP, TLS or WebSocket alike: version and heart-beat negotiation,
// authentication, and each client frame turned into broker-core calls. Frames are handled in the
// order they arrive; a SEND starts its publish and lets the next frame go on (its RECEIPT, if asked
// for, follows once it and every earlier SEND are stored). Any error is reported as an ERROR frame
// with a readable `message`, and then the connection closes.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AdapterContext } from '../adapter.ts';
import { SendGate, type ByteTransport, type Handshake } from '../../src/net/byte-stream.ts';
import type { Consumer, Delivery } from '../../src/core/consumer.ts';
import type { Destination } from '../../src/core/destination.ts';
import { JunctionError } from '../../src/shared/errors.ts';
import { Transaction } from '../../src/core/transaction.ts';
import type { MessageInput } from '../../src/core/message.ts';
import type { ClientContext } from '../../src/core/principal.ts';
import type { QueueBrowser } from '../../src/core/queue-browser.ts';
import { FramePump } from '../../src/net/frame-pump.ts';
import { CONVERT_STRING_EXPRESSIONS } from '../../src/core/selector/index.ts';
import { formatDestination, parseDestinations, TemporaryDestinations } from './destinations.ts';
import { partitionKeyOf, streamNameOf, streamSubscribeHeaders, STREAM_PREFIX } from './streams.ts';
import { StompProtocolError, VERSIONS, type StompFrame, type StompVersion } from './frame.ts';
import { messageFromSend, messageHeaders } from './mapping.ts';
import { StompParser, type ParserLimits } from './parser.ts';
import { encodeFrame, type HeaderList } from './serializer.ts';
import { Subscriptions, type AckMode, type AckTarget, type Subscription } from './subscriptions.ts';

export interface StompSettings {
  limits: ParserLimits;
  /** The most a frame may carry before CONNECT completes, headers and body (limits.maxHandshakeBytes). */
  handshakeBytes: number;
  /** The shortest heart-beat interval granted either way. */
  minHeartbeatMs: number;
  /** Prefetch of a subscription without activemq.prefetchSize. */
  defaultPrefetch: number;
  serverName: string;
}

const EOL = Buffer.from('\n');

/** Messages a queue browser reads and writes at a time. */
const BROWSE_PAGE = 100;

/** Whether a queue name is a temporary queue's (their STOMP destinations differ). */
function isTemporary(name: string): boolean {
  return name.startsWith('TEMP.');
}

export class StompConnection {
  readonly id = randomUUID();
  private readonly parser: StompParser;
  private version: StompVersion = '1.2';
  private state: 'new' | 'open' | 'closing' | 'closed' = 'new';
  private ctx: ClientContext;
  private subs = new Subscriptions('1.2');
  private readonly temps: TemporaryDestinations;
  private readonly transactions = new Map<string, Transaction>();
  /** Frames in order; an asynchronous one (CONNECT, SUBSCRIBE, COMMIT, DISCONNECT) holds those behind it. */
  private readonly pump = new FramePump<StompFrame>({
    handle: (f) => this.handle(f),
    failed: (err, f) => {
      this.fail(err, f);
      return true;
    },
  });
  /** Ids of browser subscriptions still sending. */
  private readonly browsing = new Set<string>();
  /** SENDs not yet stored hold the reading of the socket past a bound. */
  private readonly gate: SendGate;
  /** Resolves once every SEND so far has settled: true when all were stored (what a RECEIPT promises). */
  private allSent: Promise<boolean> = Promise.resolve(true);
  /** Why the last SEND failed, for a DISCONNECT that finds one did. */
  private sendError: unknown;
  private lastRead = Date.now();
  private lastWrite = Date.now();
  private timers: NodeJS.Timeout[] = [];
  private readonly log: Logger;

  constructor(
    private readonly transport: ByteTransport,
    private readonly adapter: AdapterContext,
    private readonly settings: StompSettings,
    log: Logger,
    private readonly handshake: Handshake = { established: () => {} },
  ) {
    this.log = log.child({ connection: this.id });
    this.gate = new SendGate(transport);
    const l = settings.limits;
    const h = settings.handshakeBytes;
    this.parser = new StompParser({ ...l, maxBodyBytes: Math.min(l.maxBodyBytes, h), maxHeaderBytes: Math.min(l.maxHeaderBytes, h) });
    this.ctx = { connectionId: this.id };
    this.temps = new TemporaryDestinations(() => this.adapter.broker.createTemporaryQueue(this.ctx));
  }

  /** Bytes from the client. */
  onData(chunk: Buffer): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.lastRead = Date.now();
    let frames: StompFrame[];
    try {
      frames = this.parser.push(chunk);
    } catch (err) {
      this.fail(err);
      return;
    }
    this.pump.push(frames);
  }

  /**
   * The transport closed (either side): acknowledgements that arrived before the close are
   * applied, then consumers let go of their unsettled messages.
   */
  onClosed(): void {
    if (this.state === 'closed') return;
    const wasOpen = this.state !== 'new';
    this.state = 'closed';
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const tx of this.transactions.values()) tx.rollback();
    this.transactions.clear();
    this.settleQueued();
    this.stopConsuming();
    this.adapter.broker.connectionClosed(this.id);
    if (wasOpen) this.log.info({ user: this.ctx.principal?.username }, 'stomp connection closed');
  }

  /** ACK and NACK frames still queued behind a frame in progress (a COMMIT storing) are applied now. */
  private settleQueued(): void {
    const settlements = this.pump.take((f) => (f.command === 'ACK' || f.command === 'NACK') && !f.headers.has('transaction'));
    for (const f of settlements) {
      try {
        this.settle(f);
      } catch (err) {
        this.log.debug({ err, command: f.command }, 'settlement received before the close refused');
      }
    }
  }

  /** Closes every consumer: what they hold unacknowledged goes back to its queue, redelivered. */
  private stopConsuming(): void {
    this.browsing.clear();
    for (const sub of this.subs.all()) {
      this.subs.remove(sub.id);
      for (const c of sub.consumers) c.close();
    }
  }

  private write(data: Buffer, done?: (err?: Error | null) => void): void {
    if (this.state === 'closed') {
      // Whoever waits on the write (an auto ack, a browse's next page) hears that it did not happen.
      done?.(new Error('connection closed'));
      return;
    }
    this.lastWrite = Date.now();
    this.transport.write(data, done);
  }

  private frame(command: string, headers: HeaderList, body?: Uint8Array, done?: (err?: Error | null) => void): void {
    this.write(encodeFrame(command, headers, body, this.version), done);
  }

  private receipt(f: StompFrame): void {
    const r = f.headers.get('receipt');
    if (r !== undefined) this.frame('RECEIPT', [['receipt-id', r]]);
  }

  /** Reports `err` in an ERROR frame and closes the connection. */
  private fail(err: unknown, f?: StompFrame): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    let message: string;
    let details: string | undefined;
    if (err instanceof StompProtocolError) {
      message = err.message;
      details = err.details;
    } else if (err instanceof JunctionError) {
      message = err.message;
      details = `code: ${err.code}`;
    } else {
      message = 'Internal broker error';
      this.log.error({ err, command: f?.command }, 'stomp frame failed');
    }
    this.log.info({ reason: message, command: f?.command }, 'stomp error sent; closing');
    const headers: Array<[string, string]> = [
      ['message', message],
      ['content-type', 'text/plain'],
    ];
    const r = f?.headers.get('receipt');
    if (r !== undefined) headers.push(['receipt-id', r]);
    this.frame('ERROR', headers, details === undefined ? undefined : Buffer.from(details));
    this.state = 'closing';
    this.stopConsuming();
    // Paused, the socket reads only until its buffer fills: a client's close is still seen, a client
    // streaming on is no longer read.
    this.transport.pause();
    this.transport.end();
  }

  /** Handles one frame; returns a promise only when the frame's work is asynchronous. */
  private handle(f: StompFrame): Promise<void> | undefined {
    if (this.state === 'closing' || this.state === 'closed') return undefined;
    if (this.state === 'new') {
      if (f.command !== 'CONNECT' && f.command !== 'STOMP') throw new StompProtocolError(`Expected CONNECT or STOMP, got ${f.command}`);
      return this.connect(f);
    }
    switch (f.command) {
      case 'CONNECT':
      case 'STOMP':
        throw new StompProtocolError('Already connected');
      case 'SEND':
        this.send(f);
        return undefined;
      case 'SUBSCRIBE':
        return this.subscribe(f).then(() => this.receipt(f));
      case 'UNSUBSCRIBE':
        this.unsubscribe(f);
        break;
      case 'ACK':
      case 'NACK':
        this.settle(f);
        break;
      case 'BEGIN':
        this.begin(f);
        break;
      case 'COMMIT':
        return this.commit(f).then(() => this.receipt(f));
      case 'ABORT':
        this.abort(f);
        break;
      case 'DISCONNECT':
        return this.disconnect(f);
    }
    this.receipt(f);
    return undefined;
  }

  // ---- CONNECT -------------------------------------------------------------------------

  private async connect(f: StompFrame): Promise<void> {
    if (this.handshake.refused !== undefined) throw new StompProtocolError(this.handshake.refused);
    const offered = (f.headers.get('accept-version') ?? '1.0').split(',').map((v) => v.trim());
    const version = [...VERSIONS].reverse().find((v) => offered.includes(v));
    if (!version) {
      this.frame('ERROR', [
        ['version', VERSIONS.join(',')],
        ['content-type', 'text/plain'],
        ['message', `Supported protocol versions are ${VERSIONS.join(' ')}`],
      ]);
      this.state = 'closing';
      this.transport.end();
      return;
    }
    this.version = version;
    this.parser.version = version;
    this.subs = new Subscriptions(version);
    const [cx, cy] = parseHeartBeat(f.headers.get('heart-beat'));
    const login = f.headers.get('login');
    const principal = await this.adapter.security.authenticate(login, f.headers.get('passcode'), {
      certified: this.handshake.certified,
      from: { protocol: 'stomp', address: this.handshake.remoteAddress ?? '' },
    });
    const clientId = f.headers.get('client-id');
    this.ctx = { connectionId: this.id, principal, ...(clientId ? { clientId } : {}) };
    const min = this.settings.minHeartbeatMs;
    const sendEvery = cy > 0 ? Math.max(cy, min) : 0;
    const expectEvery = cx > 0 ? Math.max(cx, min) : 0;
    this.state = 'open';
    this.parser.limits = this.settings.limits;
    this.handshake.established();
    this.adapter.broker.connections.add({
      id: this.id,
      protocol: 'stomp',
      protocolVersion: version,
      transport: this.handshake.transport ?? 'tcp',
      remoteAddress: `${this.handshake.remoteAddress ?? ''}:${this.handshake.remotePort ?? 0}`,
      clientId,
      user: principal.username,
      principal,
      close: (reason) => this.fail(new StompProtocolError(reason)),
    });
    this.frame('CONNECTED', [
      ['version', version],
      ['heart-beat', `${sendEvery},${expectEvery}`],
      ['session', this.id],
      ['server', this.settings.serverName],
    ]);
    this.startHeartBeats(sendEvery, expectEvery);
    this.log.info({ version, user: principal.username, clientId, heartBeat: [sendEvery, expectEvery] }, 'stomp connection open');
  }

  private startHeartBeats(sendEvery: number, expectEvery: number): void {
    if (sendEvery > 0) {
      const t = setInterval(
        () => {
          if (Date.now() - this.lastWrite >= sendEvery * 0.9) this.write(EOL);
        },
        Math.max(10, Math.floor(sendEvery / 2)),
      );
      t.unref();
      this.timers.push(t);
    }
    if (expectEvery > 0) {
      const t = setInterval(
        () => {
          if (Date.now() - this.lastRead > expectEvery * 1.5) {
            this.log.info({ expectEveryMs: expectEvery }, 'stomp client missed its heart-beats; dropping it');
            this.transport.destroy();
            this.onClosed();
          }
        },
        Math.max(10, Math.floor(expectEvery / 4)),
      );
      t.unref();
      this.timers.push(t);
    }
  }

  // ---- SEND ----------------------------------------------------------------------------

  private destinations(f: StompFrame, forSubscribe: boolean): Destination[] {
    const d = f.headers.get('destination');
    if (d === undefined) throw new StompProtocolError(`${f.command} needs a destination header`);
    return parseDestinations(d, this.temps, forSubscribe);
  }

  private send(f: StompFrame): void {
    const stream = streamNameOf(f.headers.get('destination'));
    if (stream !== undefined) {
      if (f.headers.get('transaction') !== undefined) throw new StompProtocolError('A SEND to a stream cannot be part of a transaction');
      this.track(this.adapter.streams.publish(stream, { key: partitionKeyOf(f.headers), data: f.body }, this.ctx), f);
      return;
    }
    const now = Date.now();
    const inputs = this.destinations(f, false).map((d) => messageFromSend(d, f.headers, f.body, this.temps, now));
    const tx = f.headers.get('transaction');
    if (tx !== undefined) {
      const t = this.transaction(tx);
      for (const input of inputs) t.send(input);
      this.receipt(f);
      return;
    }
    this.track(
      inputs.length === 1
        ? this.adapter.broker.publish(inputs[0] as MessageInput, this.ctx)
        : this.adapter.broker.commit(composite(inputs), this.ctx),
      f,
    );
  }

  /** A SEND under way: its RECEIPT waits for it and every SEND before; a failure ends the connection. */
  private track(sent: Promise<unknown>, f: StompFrame): void {
    const p = this.publish(sent, f);
    const upTo = Promise.all([this.allSent, p]).then(([before, mine]) => before && mine);
    this.allSent = upTo;
    if (f.headers.get('receipt') !== undefined) {
      void upTo.then((stored) => {
        if (stored && this.state === 'open') this.receipt(f);
      });
    }
  }

  /**
   * Starts the publishes of one SEND; a failure ends the connection. Resolves true once stored. A
   * composite destination's messages are stored all or none, as one transaction: a part refused
   * (not authorized, full) leaves no message in the others.
   */
  private publish(sent: Promise<unknown>, f: StompFrame): Promise<boolean> {
    const p = sent.then(
      () => true,
      (err: unknown) => {
        this.sendError = err;
        this.fail(err, f);
        return false;
      },
    );
    this.gate.track(p, f.body.length);
    return p;
  }

  // ---- SUBSCRIBE / UNSUBSCRIBE -----------------------------------------------------------

  private async subscribe(f: StompFrame): Promise<void> {
    const h = f.headers;
    const id = h.get('id') ?? (this.version === '1.0' ? h.get('destination') : undefined);
    if (id === undefined) throw new StompProtocolError('SUBSCRIBE needs an id header');
    if (this.subs.get(id) || this.browsing.has(id))
      throw new StompProtocolError(`Subscription id "${id}" is already in use on this connection`);
    if (h.get('browser') === 'true') return this.startBrowse(f, id);
    const stream = streamNameOf(h.get('destination'));
    if (stream !== undefined) return this.subscribeStream(f, id, stream);
    const destinations = this.destinations(f, true);
    const ackMode = (h.get('ack') ?? 'auto') as AckMode;
    if (!['auto', 'client', 'client-individual'].includes(ackMode)) {
      throw new StompProtocolError(`Unknown ack mode "${ackMode}": use auto, client or client-individual`);
    }
    const prefetchText = h.get('activemq.prefetchSize');
    const prefetch = prefetchText === undefined ? this.settings.defaultPrefetch : Number(prefetchText);
    if (!Number.isInteger(prefetch) || prefetch < 1)
      throw new StompProtocolError(`activemq.prefetchSize must be a positive integer, got "${prefetchText}"`);
    // ActiveMQ still honours its historical misspelling, so clients in the field may send it.
    const durableName = h.get('activemq.subscriptionName') ?? h.get('activemq.subcriptionName');
    if (durableName !== undefined && this.ctx.clientId === undefined) {
      throw new StompProtocolError('A durable subscription (activemq.subscriptionName) needs a client-id header on CONNECT');
    }
    const sub: Subscription = { id, ackMode, consumers: [], unacked: new Map() };
    if (durableName !== undefined) sub.durableName = durableName;
    this.subs.add(sub);
    try {
      for (const destination of destinations) {
        const selector = stompSelector(h.get('selector') ?? h.get('activemq.selector'));
        const attached = await this.attach(sub, (onMessage) =>
          this.adapter.broker.subscribe(
            {
              destination,
              prefetch,
              exclusive: h.get('activemq.exclusive') === 'true',
              noLocal: h.get('activemq.noLocal') === 'true',
              ...(selector !== undefined && selector.trim() !== '' ? { selector } : {}),
              ...(durableName !== undefined && destination.kind === 'topic'
                ? { durable: { clientId: this.ctx.clientId as string, name: durableName } }
                : {}),
              onMessage,
              onClosed: (reason) => this.log.info({ subscription: id, reason }, 'stomp subscription ended by the broker'),
              // Policy slowConsumer: disconnect. STOMP cannot end one subscription from the server: ERROR, then close.
              onAborted: (reason) => this.fail(new StompProtocolError(`Subscription ${id}: ${reason}`)),
            },
            this.ctx,
          ),
        );
        if (!attached) return;
      }
    } catch (err) {
      this.subs.remove(id);
      for (const c of sub.consumers) c.close();
      throw err;
    }
  }

  /** A subscription to a stream: one consumer reading it from an offset (streams.ts). */
  private async subscribeStream(f: StompFrame, id: string, stream: string): Promise<void> {
    const h = f.headers;
    const ackMode = (h.get('ack') ?? 'auto') as AckMode;
    if (!['auto', 'client', 'client-individual'].includes(ackMode)) {
      throw new StompProtocolError(`Unknown ack mode "${ackMode}": use auto, client or client-individual`);
    }
    const { offset, prefetch, consumerName } = streamSubscribeHeaders(h, this.settings.defaultPrefetch);
    const sub: Subscription = { id, ackMode, consumers: [], unacked: new Map(), stream };
    this.subs.add(sub);
    try {
      await this.attach(sub, (onMessage) =>
        this.adapter.streams.subscribe(
          stream,
          {
            offset,
            prefetch,
            ...(consumerName !== undefined ? { consumerName } : {}),
            onMessage,
            onClosed: (reason) => this.fail(new StompProtocolError(`Subscription ${id}: ${reason}`)),
          },
          this.ctx,
        ),
      );
    } catch (err) {
      this.subs.remove(id);
      throw err;
    }
  }

  /**
   * Makes one of the subscription's consumers. Deliveries can come while it is being made, before the
   * consumer is known: those wait, then go in order. False when the connection closed meanwhile.
   */
  private async attach(sub: Subscription, make: (onMessage: (d: Delivery) => void) => Promise<Consumer>): Promise<boolean> {
    const holder: { consumer?: Consumer; early: Delivery[] } = { early: [] };
    const consumer = await make((d) => {
      if (holder.consumer) this.deliver(sub, holder.consumer, d);
      else holder.early.push(d);
    });
    holder.consumer = consumer;
    sub.consumers.push(consumer);
    if (this.state === 'closed') {
      consumer.close();
      return false;
    }
    for (const d of holder.early.splice(0)) this.deliver(sub, consumer, d);
    return true;
  }

  private deliver(sub: Subscription, consumer: Consumer, d: Delivery): void {
    // Not to a connection on its way out: the delivery stays unsettled and returns when it closes.
    if (this.state !== 'open') return;
    const auto = sub.ackMode === 'auto';
    const ackId = auto ? undefined : this.subs.track(sub, consumer, d.tag, d.message.id);
    const mapped = messageHeaders(d, sub.id, this.version === '1.2' ? ackId : undefined, isTemporary);
    const stream = sub.stream;
    const headers =
      stream === undefined
        ? mapped
        : mapped.map((e): readonly [string, string] => (e[0] === 'destination' ? ['destination', `${STREAM_PREFIX}${stream}`] : e));
    if (!auto) {
      this.frame('MESSAGE', headers, d.message.body);
      return;
    }
    this.frame('MESSAGE', headers, d.message.body, (err) => {
      if (!err && !consumer.closed) consumer.ack(d.tag);
    });
  }

  // ---- browsing (ActiveMQ's browser:true) -------------------------------------------------

  /** A queue browser: the queue's messages as a snapshot, removing nothing, then a `browser:end` MESSAGE. */
  private startBrowse(f: StompFrame, id: string): void {
    const destinations = this.destinations(f, true);
    const destination = destinations[0];
    if (destinations.length !== 1 || destination?.kind !== 'queue')
      throw new StompProtocolError('browser:true needs one queue destination');
    const selector = stompSelector(f.headers.get('selector') ?? f.headers.get('activemq.selector'));
    const browser = this.adapter.broker.browse({ destination, selector }, this.ctx);
    this.browsing.add(id);
    this.runBrowse(browser, id, destination).catch((err: unknown) => this.fail(err));
  }

  private async runBrowse(browser: QueueBrowser, id: string, destination: Destination): Promise<void> {
    for (;;) {
      const batch = await browser.next(BROWSE_PAGE);
      if (batch.length === 0 || !this.browsing.has(id) || this.state !== 'open') break;
      // A page at a time, each handed to the transport before the next is read: memory stays bounded.
      await new Promise<void>((resolve) => {
        batch.forEach((b, i) =>
          this.frame(
            'MESSAGE',
            messageHeaders(b, id, undefined, isTemporary),
            b.message.body,
            i === batch.length - 1 ? () => resolve() : undefined,
          ),
        );
      });
    }
    if (!this.browsing.delete(id) || this.state !== 'open') return;
    this.frame('MESSAGE', [
      ['subscription', id],
      ['browser', 'end'],
      ['destination', formatDestination(destination, isTemporary)],
      ['message-id', '0'],
    ]);
  }

  private unsubscribe(f: StompFrame): void {
    const h = f.headers;
    const id = h.get('id') ?? (this.version === '1.0' ? h.get('destination') : undefined);
    if (id !== undefined && this.browsing.delete(id)) return;
    const durableName = h.get('activemq.subscriptionName') ?? h.get('activemq.subcriptionName');
    const sub = id === undefined ? undefined : this.subs.remove(id);
    if (sub) for (const c of sub.consumers) c.close();
    if (durableName !== undefined) {
      if (this.ctx.clientId === undefined)
        throw new StompProtocolError('Removing a durable subscription needs a client-id header on CONNECT');
      this.adapter.broker.unsubscribeDurable(this.ctx.clientId, durableName);
    } else if (!sub) {
      throw new StompProtocolError(id === undefined ? 'UNSUBSCRIBE needs an id header' : `No subscription with id "${id}"`);
    }
  }

  // ---- ACK / NACK and transactions -------------------------------------------------------

  private settle(f: StompFrame): void {
    const target = this.subs.find(f.headers, f.command);
    const nack = f.command === 'NACK';
    const tx = f.headers.get('transaction');
    if (tx !== undefined) {
      const t = this.transaction(tx);
      for (const { consumer, tag } of this.subs.take(target)) {
        if (nack) t.defer(consumer, tag, () => consumer.release(tag));
        else t.ack(consumer, tag);
      }
      return;
    }
    this.apply(target, nack);
  }

  private apply(target: AckTarget, nack: boolean): void {
    for (const { consumer, tag } of this.subs.take(target)) {
      if (consumer.closed) continue;
      if (nack) consumer.release(tag);
      else consumer.ack(tag);
    }
  }

  private transaction(id: string): Transaction {
    const tx = this.transactions.get(id);
    if (!tx) throw new StompProtocolError(`No transaction "${id}" has begun on this connection`);
    return tx;
  }

  private begin(f: StompFrame): void {
    const id = f.headers.get('transaction');
    if (id === undefined) throw new StompProtocolError('BEGIN needs a transaction header');
    if (this.transactions.has(id)) throw new StompProtocolError(`Transaction "${id}" has already begun`);
    this.transactions.set(id, new Transaction(this.adapter.config.limits));
  }

  private async commit(f: StompFrame): Promise<void> {
    const id = f.headers.get('transaction');
    if (id === undefined) throw new StompProtocolError('COMMIT needs a transaction header');
    const tx = this.transaction(id);
    this.transactions.delete(id);
    // One atomic store batch: the sends and the acks, or (when it fails) none of them.
    await this.adapter.broker.commit(tx, this.ctx);
  }

  private abort(f: StompFrame): void {
    const id = f.headers.get('transaction');
    if (id === undefined) throw new StompProtocolError('ABORT needs a transaction header');
    const tx = this.transaction(id);
    this.transactions.delete(id);
    // What the transaction acknowledged goes back for redelivery, as a JMS rollback does.
    tx.rollback();
  }

  // ---- DISCONNECT ----------------------------------------------------------------------

  private async disconnect(f: StompFrame): Promise<void> {
    this.state = 'closing';
    this.stopConsuming();
    const stored = await this.allSent;
    const r = f.headers.get('receipt');
    if (!stored) {
      const why = this.sendError instanceof Error ? this.sendError.message : 'unknown error';
      this.frame('ERROR', [
        ['message', `A message sent before DISCONNECT was not stored: ${why}`],
        ['content-type', 'text/plain'],
      ]);
    } else if (r !== undefined) {
      this.frame('RECEIPT', [['receipt-id', r]]);
    }
    this.transport.end();
  }
}

function parseHeartBeat(text: string | undefined): [number, number] {
  if (text === undefined) return [0, 0];
  const m = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(text);
  if (!m) throw new StompProtocolError(`heart-beat must be two integers "cx,cy", got "${text.slice(0, 40)}"`);
  return [Number(m[1]), Number(m[2])];
}

/**
 * A STOMP selector as ActiveMQ's STOMP transport reads it: header values are strings, so strings
 * compared with numbers or booleans are converted (`convert_string_expressions:`), and
 * `weight > 5` matches the header `weight:10`.
 */
function stompSelector(text: string | undefined): string | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  return text.startsWith(CONVERT_STRING_EXPRESSIONS) ? text : `${CONVERT_STRING_EXPRESSIONS}${text}`;
}

/** The messages of one composite SEND, as a transaction of their own. */
function composite(inputs: MessageInput[]): Transaction {
  const tx = new Transaction();
  for (const input of inputs) tx.send(input);
  return tx;
}
