// One OpenWire connection (ActiveMQ's JMS client, NMS, CMS...): the WireFormatInfo exchange, then
// each command turned into broker-core calls in arrival order. A command that asks for a response
// gets a Response once its work is done (a persistent send: once stored), or an ExceptionResponse
// naming the Java exception the client raises. Bytes that are not OpenWire close the connection.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AdapterContext } from '../adapter.ts';
import { SendGate, type ByteTransport, type Handshake } from '../../src/net/byte-stream.ts';
import type { Delivery } from '../../src/core/consumer.ts';
import type { Destination } from '../../src/core/destination.ts';
import type { MessageInput } from '../../src/core/message.ts';
import type { ClientContext } from '../../src/core/principal.ts';
import type { QueueBrowser } from '../../src/core/queue-browser.ts';
import { SUB_PREFIX } from '../../src/core/subscriptions.ts';
import { Transaction } from '../../src/core/transaction.ts';
import { FramePump } from '../../src/net/frame-pump.ts';
import { ADVISORY_PREFIX, TEMP_QUEUE_ADVISORY, TEMP_TOPIC_ADVISORY, type TemporaryDestinationAdvisories } from './advisories.ts';
import { OpenWireCodec } from './codec.ts';
import {
  ACK,
  CMD,
  connectionError,
  DESTINATION_OP,
  exceptionResponse,
  isMagic,
  keepAlive,
  LAST_DELIVERED_UNKNOWN,
  response,
  TX,
  wireFormatInfo,
  type WireOffer,
} from './commands.ts';
import { OpenWireConsumer, type Dispatched } from './consumer.ts';
import { coreDestinations, isDestination, isTemporary, TEMP_QUEUE, TOPIC, type WireDestination } from './destinations.ts';
import { javaClassOf, OpenWireCodecError, OpenWireCommandError } from './errors.ts';
import { FrameReader } from './frame-reader.ts';
import {
  BROKER_ID,
  CONNECTION_ID,
  CONSUMER_ID,
  idKey,
  messageIdOf,
  PRODUCER_ID,
  SESSION_ID,
  XA_TRANSACTION_ID,
  type WireMessageId,
} from './ids.ts';
import type { Struct, WireThrowable } from './layout-types.ts';
import { accountedSize, isMessage, MESSAGE, messageFromWire, messageToWire } from './mapping.ts';
import { decodeMap } from './primitive-map.ts';

export interface OpenWireSettings {
  offer: WireOffer;
  /** The most a frame may carry before the connection is open (limits.maxHandshakeBytes). */
  handshakeBytes: number;
  brokerName: string;
  peerBrokerUrls: readonly string[];
  /** The temporary destinations of every OpenWire connection, announced to advisory consumers. */
  advisories: TemporaryDestinationAdvisories;
}

/** The oldest wire version whose layouts Junction has (ActiveMQ 5.4's clients and later). */
const MIN_VERSION = 9;
const BROWSE_PAGE = 100;

interface OpenWireTransaction {
  readonly tx: Transaction;
  /** Acks the transaction holds: applied at commit, handed back to their consumers at rollback. */
  readonly acks: Array<{ consumer: OpenWireConsumer; entries: Array<[number, Dispatched]> }>;
}

interface Session {
  readonly consumers: Set<string>;
  readonly producers: Set<string>;
}

export class OpenWireConnection {
  readonly id = randomUUID();
  private readonly codec = new OpenWireCodec();
  private readonly frames: FrameReader;
  private state: 'negotiating' | 'negotiated' | 'open' | 'closing' | 'closed' = 'negotiating';
  private ctx: ClientContext;
  private clientConnectionId = '';
  private readonly sessions = new Map<string, Session>();
  private readonly consumers = new Map<string, OpenWireConsumer>();
  private readonly producers = new Map<string, { windowSize: number }>();
  private readonly transactions = new Map<string, OpenWireTransaction>();
  /** Temporary destinations this connection created: their DestinationInfo, by advisory key. */
  private readonly temporaries = new Map<string, Struct>();
  private readonly browsing = new Set<string>();
  private dispatchSeq = 0;
  /** Sends not yet stored hold the reading of the socket past a bound. */
  private readonly gate: SendGate;
  private lastRead = Date.now();
  private lastWrite = Date.now();
  private timers: NodeJS.Timeout[] = [];
  private readonly log: Logger;
  private readonly pump = new FramePump<Struct>({
    handle: (c) => this.handle(c),
    failed: (err, c) => {
      if (err instanceof OpenWireCodecError) this.drop(err);
      else this.refuse(err, c);
      return this.state !== 'closing' && this.state !== 'closed';
    },
  });

  constructor(
    private readonly transport: ByteTransport,
    private readonly adapter: AdapterContext,
    private settings: OpenWireSettings,
    log: Logger,
    private readonly handshake: Handshake = { established: () => {} },
  ) {
    this.log = log.child({ connection: this.id });
    this.gate = new SendGate(transport);
    this.frames = new FrameReader(Math.min(settings.handshakeBytes, settings.offer.maxFrameSize));
    this.ctx = { connectionId: this.id };
    this.send(wireFormatInfo(settings.offer));
  }

  /** Bytes from the client. */
  onData(chunk: Buffer): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.lastRead = Date.now();
    const commands: Struct[] = [];
    try {
      for (const payload of this.frames.push(chunk)) {
        const c = this.codec.decode(payload);
        if (!c) continue;
        // The exchange changes how everything after it is read, so it is applied at once.
        if (c.dataType === CMD.WIREFORMAT_INFO) this.negotiate(c);
        else commands.push(c);
      }
    } catch (err) {
      this.pump.push(commands);
      this.drop(err);
      return;
    }
    this.pump.push(commands);
  }

  onClosed(): void {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open' || this.state === 'closing';
    this.state = 'closed';
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const t of this.transactions.values()) this.rollback(t);
    this.transactions.clear();
    this.browsing.clear();
    for (const c of this.consumers.values()) c.close(LAST_DELIVERED_UNKNOWN);
    this.consumers.clear();
    for (const [key, info] of this.temporaries) this.settings.advisories.removed(key, { ...info, operationType: DESTINATION_OP.REMOVE });
    this.temporaries.clear();
    this.adapter.broker.connectionClosed(this.id);
    if (wasOpen) this.log.info({ user: this.ctx.principal?.username, clientId: this.ctx.clientId }, 'openwire connection closed');
  }

  private send(c: Struct, done?: (err?: Error | null) => void): void {
    if (this.state === 'closed') {
      done?.(new Error('connection closed'));
      return;
    }
    let bytes: Buffer;
    try {
      bytes = this.codec.encode(c);
    } catch (err) {
      this.log.error({ err, command: c.dataType }, 'openwire command could not be encoded');
      done?.(err as Error);
      return;
    }
    this.lastWrite = Date.now();
    this.transport.write(bytes, done);
  }

  /** A frame that cannot be read: the connection ends (nothing it had stored is lost). */
  private drop(err: unknown): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    const message = err instanceof Error ? err.message : String(err);
    this.log.info({ reason: message }, 'openwire connection dropped: unreadable frame');
    if (this.state === 'open') this.send(connectionError('java.io.IOException', message));
    this.close();
  }

  private close(): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.state = 'closing';
    this.transport.pause();
    this.transport.end();
  }

  /** A command refused: an ExceptionResponse when it wanted a response, else a ConnectionError. */
  private refuse(err: unknown, c: Struct): void {
    const message = err instanceof Error ? err.message : String(err);
    const javaClass = javaClassOf(err);
    if (!(err instanceof OpenWireCommandError) && !(err instanceof Error && 'code' in err)) {
      this.log.error({ err, command: c.dataType }, 'openwire command failed');
    } else {
      this.log.info({ reason: message, command: c.dataType }, 'openwire command refused');
    }
    if (c.responseRequired === true) this.send(exceptionResponse(c.commandId as number, javaClass, message));
    else this.send(connectionError(javaClass, message));
    if (c.dataType === CMD.CONNECTION_INFO) this.close();
  }

  private reply(c: Struct): void {
    if (c.responseRequired === true) this.send(response(c.commandId as number));
  }

  // ---- WireFormatInfo ------------------------------------------------------------------------

  private negotiate(info: Struct): void {
    if (this.state !== 'negotiating') throw new OpenWireCodecError('WireFormatInfo was already exchanged');
    if (!isMagic(info.magic)) throw new OpenWireCodecError('Not an OpenWire client: the WireFormatInfo magic is not "ActiveMQ"');
    const theirs = info.marshalledProperties ? decodeMap(info.marshalledProperties as Uint8Array) : new Map();
    const flag = (name: string): boolean => {
      const v = theirs.get(name);
      return v?.t === 'boolean' && v.v;
    };
    const num = (name: string): number | undefined => {
      const v = theirs.get(name);
      return v && (v.t === 'long' || v.t === 'int') ? v.v : undefined;
    };
    const o = this.settings.offer;
    const version = Math.min(o.version, info.version as number);
    if (version < MIN_VERSION)
      throw new OpenWireCodecError(`OpenWire version ${version} is not supported: Junction speaks versions ${MIN_VERSION} to ${o.version}`);
    const cacheSize = Math.min(o.cacheSize, num('CacheSize') ?? o.cacheSize) || o.cacheSize;
    this.codec.negotiated({
      version,
      tight: o.tight && flag('TightEncodingEnabled'),
      cache: o.cache && flag('CacheEnabled'),
      cacheSize,
      stackTrace: false,
    });
    if (flag('SizePrefixDisabled')) throw new OpenWireCodecError('SizePrefixDisabled is not supported on a stream transport');
    const maxFrame = minPositive(o.maxFrameSize, num('MaxFrameSize'));
    this.frames.maxFrameBytes = Math.min(maxFrame, this.settings.handshakeBytes);
    this.settings = { ...this.settings, offer: { ...o, maxFrameSize: maxFrame } };
    const inactivity = minPositive(o.maxInactivityDurationMs, num('MaxInactivityDuration'));
    const initialDelay = num('MaxInactivityDurationInitalDelay') ?? o.maxInactivityDurationInitialDelayMs;
    this.state = 'negotiated';
    if (inactivity > 0) this.watchInactivity(inactivity, initialDelay);
    this.log.debug(
      { version, tight: this.codec.settings.tight, cache: this.codec.settings.cache, inactivity },
      'openwire wire format negotiated',
    );
  }

  /** ActiveMQ's inactivity monitor: a KeepAliveInfo when nothing else went out; closed when nothing came in. */
  private watchInactivity(durationMs: number, initialDelayMs: number): void {
    const start = setTimeout(() => {
      const writeEvery = durationMs > 3 ? Math.floor(durationMs / 3) : durationMs;
      const w = setInterval(() => {
        if (Date.now() - this.lastWrite >= writeEvery * 0.9) this.send(keepAlive());
      }, writeEvery);
      w.unref();
      const r = setInterval(() => {
        if (Date.now() - this.lastRead > durationMs) {
          this.log.info({ maxInactivityDurationMs: durationMs }, 'openwire client was inactive too long; dropping it');
          this.transport.destroy();
          this.onClosed();
        }
      }, durationMs);
      r.unref();
      this.timers.push(w, r);
    }, initialDelayMs);
    start.unref();
    this.timers.push(start);
  }

  // ---- commands --------------------------------------------------------------------------

  private handle(c: Struct): Promise<void> | undefined {
    if (this.state === 'closing' || this.state === 'closed') return undefined;
    if (this.state === 'negotiating') throw new OpenWireCodecError(`Expected WireFormatInfo first, got command type ${c.dataType}`);
    if (this.state === 'negotiated' && c.dataType !== CMD.CONNECTION_INFO && c.dataType !== CMD.KEEP_ALIVE_INFO) {
      if (c.dataType === CMD.SHUTDOWN_INFO) {
        this.close();
        return undefined;
      }
      throw new OpenWireCommandError('Send ConnectionInfo before any other command', 'javax.jms.IllegalStateException');
    }
    if (isMessage(c)) {
      this.publish(c);
      return undefined;
    }
    switch (c.dataType) {
      case CMD.CONNECTION_INFO:
        return this.connect(c);
      case CMD.SESSION_INFO:
        this.sessions.set(idKey(c.sessionId as Struct), { consumers: new Set(), producers: new Set() });
        break;
      case CMD.PRODUCER_INFO:
        this.addProducer(c);
        break;
      case CMD.CONSUMER_INFO:
        // A browser is answered before its first dispatch (startBrowse); a consumer once attached.
        return this.addConsumer(c).then(() => {
          if (c.browser !== true) this.reply(c);
        });
      case CMD.MESSAGE_ACK:
        this.ack(c);
        break;
      case CMD.MESSAGE_PULL:
        this.pull(c);
        break;
      case CMD.TRANSACTION_INFO:
        return this.transaction(c);
      case CMD.DESTINATION_INFO:
        this.destinationInfo(c);
        break;
      case CMD.REMOVE_INFO:
        this.remove(c);
        break;
      case CMD.REMOVE_SUBSCRIPTION_INFO:
        this.removeSubscription(c);
        break;
      case CMD.KEEP_ALIVE_INFO:
        if (c.responseRequired === true) this.send(keepAlive());
        return undefined;
      case CMD.SHUTDOWN_INFO:
        this.log.debug('openwire client shut down');
        this.close();
        return undefined;
      default:
        // ConnectionControl, ConsumerControl, FlushCommand, ControlCommand...: nothing to do here.
        break;
    }
    this.reply(c);
    return undefined;
  }

  // ---- ConnectionInfo --------------------------------------------------------------------

  private async connect(c: Struct): Promise<void> {
    if (this.state === 'open')
      throw new OpenWireCommandError('This connection has already sent its ConnectionInfo', 'javax.jms.IllegalStateException');
    if (this.handshake.refused !== undefined)
      throw new OpenWireCommandError(this.handshake.refused, 'javax.jms.ResourceAllocationException');
    const principal = await this.adapter.security.authenticate(
      (c.userName as string | null) ?? undefined,
      (c.password as string | null) ?? undefined,
      {
        certified: this.handshake.certified,
        from: { protocol: 'openwire', address: this.handshake.remoteAddress ?? '' },
      },
    );
    const clientId = (c.clientId as string | null) ?? undefined;
    if (clientId !== undefined) {
      const holder = this.adapter.broker.connections.list().find((r) => r.clientId === clientId && r.id !== this.id);
      if (holder) {
        throw new OpenWireCommandError(
          `Broker: ${this.settings.brokerName} - Client: ${clientId} already connected from ${holder.remoteAddress}`,
          'javax.jms.InvalidClientIDException',
        );
      }
    }
    this.ctx = { connectionId: this.id, principal, ...(clientId !== undefined ? { clientId } : {}) };
    this.clientConnectionId = String((c.connectionId as Struct | null)?.value ?? '');
    this.state = 'open';
    this.frames.maxFrameBytes = this.settings.offer.maxFrameSize;
    this.handshake.established();
    this.adapter.broker.connections.add({
      id: this.id,
      protocol: 'openwire',
      protocolVersion: String(this.codec.settings.version),
      transport: this.handshake.transport ?? 'tcp',
      remoteAddress: `${this.handshake.remoteAddress ?? ''}:${this.handshake.remotePort ?? 0}`,
      clientId,
      user: principal.username,
      principal,
      sessions: () => this.sessions.size,
      close: (reason) => {
        this.send(connectionError('javax.jms.JMSException', reason));
        this.close();
      },
    });
    this.reply(c);
    this.send(this.brokerInfo());
    if (this.settings.peerBrokerUrls.length > 0) {
      this.send({
        dataType: CMD.CONNECTION_CONTROL,
        commandId: 0,
        responseRequired: false,
        connectedBrokers: this.settings.peerBrokerUrls.join(','),
        reconnectTo: null,
        token: null,
      });
    }
    this.log.info(
      { user: principal.username, clientId, version: this.codec.settings.version, tight: this.codec.settings.tight },
      'openwire connection open',
    );
  }

  private brokerInfo(): Struct {
    return {
      dataType: CMD.BROKER_INFO,
      commandId: 0,
      responseRequired: false,
      brokerId: { dataType: BROKER_ID, value: this.settings.brokerName },
      brokerURL: null,
      peerBrokerInfos: null,
      brokerName: this.settings.brokerName,
      slaveBroker: false,
      masterBroker: false,
      faultTolerantConfiguration: false,
      duplexConnection: false,
      networkConnection: false,
      connectionId: 0,
      brokerUploadUrl: null,
      networkProperties: null,
    };
  }

  // ---- producers and sends ---------------------------------------------------------------

  private addProducer(c: Struct): void {
    const key = idKey(c.producerId as Struct);
    this.producers.set(key, { windowSize: c.windowSize as number });
    this.session(c.producerId as Struct)?.producers.add(key);
  }

  private session(id: Struct): Session | undefined {
    const w = id as { connectionId?: string; sessionId?: number };
    return this.sessions.get(`${w.connectionId}:${w.sessionId}`);
  }

  private publish(msg: Struct): void {
    const dest = msg.destination as WireDestination | null;
    if (!dest || !isDestination(dest))
      throw new OpenWireCommandError('A message needs a destination', 'javax.jms.InvalidDestinationException');
    const now = Date.now();
    const inputs = coreDestinations(dest, false).map((d) => messageFromWire(msg, d, now, this.settings.offer.maxFrameSize));
    const txId = msg.transactionId as Struct | null;
    if (txId) {
      const t = this.openTransaction(txId);
      for (const input of inputs) t.tx.send(input);
      this.reply(msg);
      return;
    }
    const sent: Promise<unknown> =
      inputs.length === 1
        ? this.adapter.broker.publish(inputs[0] as MessageInput, this.ctx)
        : this.adapter.broker.commit(composite(inputs), this.ctx);
    const size = accountedSize(msg);
    const producer = this.producers.get(idKey(msg.producerId as Struct));
    const p = sent.then(
      () => {
        if (msg.responseRequired === true) this.send(response(msg.commandId as number));
        else if (producer && producer.windowSize > 0) {
          this.send({ dataType: CMD.PRODUCER_ACK, commandId: 0, responseRequired: false, producerId: msg.producerId as Struct, size });
        }
      },
      (err: unknown) => this.refuse(err, msg),
    );
    this.gate.track(p, size);
  }

  // ---- consumers ---------------------------------------------------------------------------

  private async addConsumer(c: Struct): Promise<void> {
    const id = c.consumerId as Struct;
    const key = idKey(id);
    if (this.consumers.has(key) || this.browsing.has(key))
      throw new OpenWireCommandError(`Consumer ${key} already exists`, 'javax.jms.IllegalStateException');
    const dest = c.destination as WireDestination | null;
    if (!dest || !isDestination(dest))
      throw new OpenWireCommandError('A consumer needs a destination', 'javax.jms.InvalidDestinationException');
    const destinations = coreDestinations(dest, true);
    const selector = (c.selector as string | null) ?? undefined;
    if (c.browser === true) return this.startBrowse(c, key, destinations, selector);
    const subscriptionName = (c.subscriptionName as string | null) ?? undefined;
    if (subscriptionName !== undefined && this.ctx.clientId === undefined) {
      throw new OpenWireCommandError('A durable subscriber needs a client ID on its connection', 'javax.jms.IllegalStateException');
    }
    const prefetch = Math.max(0, c.prefetchSize as number);
    const oc = new OpenWireConsumer(id, key, idKey(sessionOf(id)), c, prefetch);
    this.consumers.set(key, oc);
    this.sessions.get(oc.sessionKey)?.consumers.add(key);
    try {
      for (const destination of destinations) {
        if (destination.kind === 'topic' && destination.name.startsWith(ADVISORY_PREFIX)) {
          // Advisories are the adapter's: the temporary-destination ones are told here, the others never come.
          const watched = destination.name;
          if (watched === TEMP_QUEUE_ADVISORY || watched === TEMP_TOPIC_ADVISORY) {
            oc.unwatch.push(this.settings.advisories.watch((topic, info) => topic === watched && this.advise(oc, topic, info)));
          }
          continue;
        }
        const early: Delivery[] = [];
        let ready = false;
        const consumer = await this.adapter.broker.subscribe(
          {
            destination,
            creditMode: 'explicit',
            prefetch,
            exclusive: c.exclusive === true,
            noLocal: c.noLocal === true,
            ...(selector !== undefined && selector.trim() !== '' ? { selector } : {}),
            ...(subscriptionName !== undefined && destination.kind === 'topic'
              ? { durable: { clientId: this.ctx.clientId as string, name: subscriptionName } }
              : {}),
            onMessage: (d) => {
              if (ready) this.dispatch(oc, consumer, d);
              else early.push(d);
            },
            onClosed: (reason) => this.log.info({ consumer: key, reason }, 'openwire consumer ended by the broker'),
            onAborted: (reason) => {
              this.send({
                dataType: CMD.CONSUMER_CONTROL,
                commandId: 0,
                responseRequired: false,
                destination: null,
                close: true,
                consumerId: id,
                prefetch: 0,
                flush: false,
                start: false,
                stop: false,
              });
              this.log.info({ consumer: key, reason }, 'openwire consumer aborted by the broker');
            },
          },
          this.ctx,
        );
        oc.cores.push(consumer);
        ready = true;
        if (this.state === 'closed' || !this.consumers.has(key)) {
          consumer.close();
          return;
        }
        for (const d of early) this.dispatch(oc, consumer, d);
      }
    } catch (err) {
      this.consumers.delete(key);
      oc.close(LAST_DELIVERED_UNKNOWN);
      throw err;
    }
  }

  private dispatch(oc: OpenWireConsumer, consumer: OpenWireConsumer['cores'][number], d: Delivery): void {
    if (this.state !== 'open') return;
    const seq = ++this.dispatchSeq;
    oc.track(seq, consumer, d);
    if (oc.pullTimer) {
      clearTimeout(oc.pullTimer);
      oc.pullTimer = undefined;
    }
    oc.pulling = false;
    const queue = consumer.queueName;
    const message = messageToWire(d, {
      brokerSequenceId: seq,
      redeliveryCounter: d.deliveryCount,
      ...(queue.startsWith(SUB_PREFIX) ? {} : { queue }),
    });
    this.send({
      dataType: CMD.MESSAGE_DISPATCH,
      commandId: 0,
      responseRequired: false,
      consumerId: oc.id,
      destination: (oc.info.destination as Struct | null) ?? null,
      message,
      redeliveryCounter: d.deliveryCount,
    });
  }

  /** A consumer with prefetch 0 asks for one message, waiting at most `timeout` ms (0: until one comes; -1: none). */
  private pull(c: Struct): void {
    const oc = this.consumers.get(idKey(c.consumerId as Struct));
    if (!oc || oc.prefetch !== 0) return;
    const timeout = c.timeout as number;
    if (oc.pullTimer) clearTimeout(oc.pullTimer);
    oc.pullTimer = undefined;
    if (!oc.pulling) {
      oc.pulling = true;
      for (const core of oc.cores) {
        core.addCredit(1);
        if (!oc.pulling) break;
      }
    }
    if (!oc.pulling || timeout === 0) return;
    oc.pullTimer = setTimeout(
      () => {
        oc.pullTimer = undefined;
        if (!oc.pulling || this.state !== 'open') return;
        oc.pulling = false;
        for (const core of oc.cores) core.withdrawCredit();
        this.send({
          dataType: CMD.MESSAGE_DISPATCH,
          commandId: 0,
          responseRequired: false,
          consumerId: oc.id,
          destination: (oc.info.destination as Struct | null) ?? null,
          message: null,
          redeliveryCounter: 0,
        });
      },
      Math.max(0, timeout),
    );
  }

  private startBrowse(c: Struct, key: string, destinations: Destination[], selector: string | undefined): void {
    const destination = destinations[0];
    if (destinations.length !== 1 || destination?.kind !== 'queue')
      throw new OpenWireCommandError('A queue browser needs one queue', 'javax.jms.InvalidDestinationException');
    const browser = this.adapter.broker.browse({ destination, selector }, this.ctx);
    this.browsing.add(key);
    this.reply(c);
    this.runBrowse(browser, key, c).catch((err: unknown) => {
      this.browsing.delete(key);
      this.refuse(err, { ...c, responseRequired: false });
    });
  }

  private async runBrowse(browser: QueueBrowser, key: string, c: Struct): Promise<void> {
    const dispatch = (message: Struct | null, done?: () => void): void =>
      this.send(
        {
          dataType: CMD.MESSAGE_DISPATCH,
          commandId: 0,
          responseRequired: false,
          consumerId: c.consumerId as Struct,
          destination: c.destination as Struct,
          message,
          redeliveryCounter: 0,
        },
        done,
      );
    for (;;) {
      const batch = await browser.next(BROWSE_PAGE);
      if (batch.length === 0 || !this.browsing.has(key) || this.state !== 'open') break;
      await new Promise<void>((resolve) => {
        batch.forEach((b, i) =>
          dispatch(
            messageToWire(b, { brokerSequenceId: ++this.dispatchSeq, redeliveryCounter: b.deliveryCount }),
            i === batch.length - 1 ? resolve : undefined,
          ),
        );
      });
    }
    // The end of a browse is a dispatch without a message.
    if (this.browsing.has(key) && this.state === 'open') dispatch(null);
  }

  // ---- acknowledgements ------------------------------------------------------------------

  private ack(c: Struct): void {
    const oc = this.consumers.get(idKey(c.consumerId as Struct));
    if (!oc) return; // a browser's, or a consumer already closed: its deliveries went back to their queues
    const last = (c.lastMessageId as WireMessageId | null)?.brokerSequenceId;
    if (last === undefined) return;
    const type = c.ackType as number;
    if (type === ACK.DELIVERED) {
      oc.deliveredUpTo(last);
      return;
    }
    const first = (c.firstMessageId as WireMessageId | null)?.brokerSequenceId;
    const entries =
      type === ACK.INDIVIDUAL ? oc.upTo(last, last) : oc.upTo(last, type === ACK.POISON || type === ACK.REDELIVERED ? first : undefined);
    if (entries.length === 0) return;
    switch (type) {
      case ACK.REDELIVERED:
        // The client redelivers these itself (a rolled-back session); they stay dispatched to it.
        return;
      case ACK.POISON: {
        const cause = c.poisonCause as WireThrowable | null;
        const reason = cause ? `${cause.className}: ${cause.message ?? ''}` : 'poison ack from the client';
        oc.take(entries);
        for (const [, d] of entries) if (d.consumer.holds(d.tag)) d.consumer.reject(d.tag, reason);
        return;
      }
      default: {
        const txId = c.transactionId as Struct | null;
        oc.take(entries);
        if (txId && type !== ACK.EXPIRED) {
          this.openTransaction(txId).acks.push({ consumer: oc, entries });
          for (const [, d] of entries) if (d.consumer.holds(d.tag)) d.consumer.holdForTransaction(d.tag);
          return;
        }
        for (const [, d] of entries) if (d.consumer.holds(d.tag)) d.consumer.ack(d.tag);
      }
    }
  }

  // ---- transactions ----------------------------------------------------------------------

  private openTransaction(id: Struct): OpenWireTransaction {
    if (id.dataType === XA_TRANSACTION_ID) {
      throw new OpenWireCommandError(
        'XA transactions are not supported by Junction: use local (session) transactions',
        'javax.jms.JMSException',
      );
    }
    const key = idKey(id);
    let t = this.transactions.get(key);
    if (!t) {
      t = { tx: new Transaction(this.adapter.config.limits), acks: [] };
      this.transactions.set(key, t);
    }
    return t;
  }

  private async transaction(c: Struct): Promise<void> {
    const id = c.transactionId as Struct;
    const type = c.type as number;
    if (id?.dataType === XA_TRANSACTION_ID) {
      if (type === TX.RECOVER) {
        this.send({
          dataType: CMD.DATA_ARRAY_RESPONSE,
          commandId: 0,
          responseRequired: false,
          correlationId: c.commandId as number,
          data: [],
        });
        return;
      }
      throw new OpenWireCommandError(
        'XA transactions are not supported by Junction: use local (session) transactions',
        'javax.jms.JMSException',
      );
    }
    const key = idKey(id);
    switch (type) {
      case TX.BEGIN:
        this.openTransaction(id);
        break;
      case TX.COMMIT_ONE_PHASE:
      case TX.COMMIT_TWO_PHASE: {
        const t = this.transactions.get(key);
        this.transactions.delete(key);
        if (t) {
          for (const { entries } of t.acks) for (const [, d] of entries) if (d.consumer.holds(d.tag)) t.tx.ack(d.consumer, d.tag);
          try {
            await this.adapter.broker.commit(t.tx, this.ctx);
          } catch (err) {
            // Not stored: the client is told, and what the transaction acknowledged is its to redeliver.
            this.rollback(t);
            throw new OpenWireCommandError(
              `Transaction rolled back: ${err instanceof Error ? err.message : String(err)}`,
              'javax.jms.TransactionRolledBackException',
            );
          }
        }
        break;
      }
      case TX.ROLLBACK: {
        const t = this.transactions.get(key);
        this.transactions.delete(key);
        if (t) this.rollback(t);
        break;
      }
      default:
        // PREPARE, END and FORGET of a local transaction: nothing to do until it commits.
        break;
    }
    this.reply(c);
  }

  /** A rollback: the sends are forgotten; the deliveries it acknowledged stay with their consumer, which redelivers them. */
  private rollback(t: OpenWireTransaction): void {
    for (const { consumer, entries } of t.acks) {
      if (this.consumers.get(consumer.key) === consumer) consumer.restore(entries);
      else for (const [, d] of entries) if (d.consumer.holds(d.tag)) d.consumer.release(d.tag);
    }
    t.tx.rollback();
  }

  // ---- destinations, removals ------------------------------------------------------------

  /** A temporary queue or topic created or deleted (other DestinationInfo changes nothing: destinations exist on use). */
  private destinationInfo(c: Struct): void {
    const dest = c.destination as WireDestination | null;
    if (!dest || !isDestination(dest) || !isTemporary(dest)) return;
    const [core] = coreDestinations(dest, false);
    if (!core) return;
    const key = `${core.kind}://${core.name}`;
    const advisory = dest.dataType === TEMP_QUEUE ? TEMP_QUEUE_ADVISORY : TEMP_TOPIC_ADVISORY;
    if ((c.operationType as number) === DESTINATION_OP.ADD) {
      if (this.temporaries.has(key)) return;
      if (core.kind === 'queue') this.adapter.broker.createTemporaryQueue(this.ctx, core.name);
      const info = { ...c, commandId: 0, responseRequired: false };
      this.temporaries.set(key, info);
      this.settings.advisories.added(key, advisory, info);
    } else if ((c.operationType as number) === DESTINATION_OP.REMOVE && this.temporaries.delete(key)) {
      if (core.kind === 'queue') this.adapter.broker.deleteTemporaryQueue(core.name, this.ctx);
      this.settings.advisories.removed(key, { ...c, commandId: 0, responseRequired: false });
    }
  }

  /** Tells an advisory consumer of a temporary destination created or deleted. */
  private advise(oc: OpenWireConsumer, topic: string, info: Struct): void {
    if (this.state !== 'open') return;
    const seq = ++this.dispatchSeq;
    const destination: Struct = { dataType: TOPIC, physicalName: topic };
    const messageId = messageIdOf(`ID:${this.settings.brokerName}-advisory:0:0:${seq}`, seq);
    const message: Struct = {
      dataType: MESSAGE,
      producerId: messageId.producerId,
      destination,
      messageId,
      persistent: false,
      priority: 4,
      timestamp: Date.now(),
      type: 'Advisory',
      dataStructure: info,
    };
    this.send({
      dataType: CMD.MESSAGE_DISPATCH,
      commandId: 0,
      responseRequired: false,
      consumerId: oc.id,
      destination,
      message,
      redeliveryCounter: 0,
    });
  }

  private remove(c: Struct): void {
    const id = c.objectId as Struct | null;
    if (!id) return;
    const key = idKey(id);
    switch (id.dataType) {
      case CONSUMER_ID: {
        if (this.browsing.delete(key)) return;
        const oc = this.consumers.get(key);
        if (!oc) return;
        this.consumers.delete(key);
        this.sessions.get(oc.sessionKey)?.consumers.delete(key);
        oc.close(c.lastDeliveredSequenceId as number);
        return;
      }
      case PRODUCER_ID:
        this.producers.delete(key);
        return;
      case SESSION_ID: {
        const s = this.sessions.get(key);
        this.sessions.delete(key);
        if (!s) return;
        for (const k of s.consumers) {
          this.consumers.get(k)?.close(c.lastDeliveredSequenceId as number);
          this.consumers.delete(k);
        }
        for (const k of s.producers) this.producers.delete(k);
        return;
      }
      case CONNECTION_ID:
        // The client closes: its ShutdownInfo follows. Its consumers stop now.
        for (const oc of this.consumers.values()) oc.close(c.lastDeliveredSequenceId as number);
        this.consumers.clear();
        return;
    }
  }

  private removeSubscription(c: Struct): void {
    const clientId = (c.clientId as string | null) ?? this.ctx.clientId;
    const name = c.subcriptionName as string | null;
    if (!clientId || !name)
      throw new OpenWireCommandError(
        'Removing a durable subscription needs its client ID and name',
        'javax.jms.InvalidDestinationException',
      );
    this.adapter.broker.unsubscribeDurable(clientId, name);
  }
}

function minPositive(ours: number, theirs: number | undefined): number {
  if (theirs === undefined || theirs <= 0) return ours;
  if (ours <= 0) return theirs;
  return Math.min(ours, theirs);
}

function sessionOf(consumerId: Struct): Struct {
  const w = consumerId as { connectionId?: string; sessionId?: number };
  return { dataType: SESSION_ID, connectionId: w.connectionId ?? '', value: w.sessionId ?? 0 };
}

/** The messages of one composite send, as a transaction of their own (stored all or none). */
function composite(inputs: MessageInput[]): Transaction {
  const tx = new Transaction();
  for (const input of inputs) tx.send(input);
  return tx;
}
