// One MQTT 5 connection: the engine Junction runs for protocol level 5 (aedes 1.2 speaks 3.1 and
// 3.1.1 only, and aedes 2's beta refuses what Junction needs; docs/decisions.md). mqtt-packet
// parses and encodes; this file owns the byte stream, keep-alive, the order packets are handled
// in, and flow control both ways. Each packet type has its handler file beside this one (connect,
// publish, acks, subscribe, disconnect), over the same MqttSession the 3.1.1 engine uses.
//
// Inbound flow control: up to `receiveMaximum` PUBLISH packets are in the core at once; past that
// the connection stops reading (TCP back-pressure) instead of disconnecting with 0x93, because
// common clients (mqtt.js) do not count the broker's Receive Maximum. PUBACKs and PUBRECs go out
// in the order their PUBLISHes came, whatever order the core finishes them in.
// Outbound: no more QoS 1 and 2 PUBLISHes in flight than the client's Receive Maximum (the rest
// wait here, bounded by the subscriptions' prefetch), and no packet over its Maximum Packet Size.
import type { Duplex } from 'node:stream';
import mqttPacket, { type IConnectPacket, type IPublishPacket, type Packet } from 'mqtt-packet';
import { BatchedWriter, type WriteTarget } from '../../../src/net/batched-writer.ts';
import type { ConnectionInfo } from '../../../src/net/connection.ts';
import { FramePump } from '../../../src/net/frame-pump.ts';
import type { LineLogger } from '../../../src/connection-log.ts';
import type { OutboundPublish } from '../mapping.ts';
import { PacketSizeGuard } from '../packet-size.ts';
import { PropertyBudgetError, limitProperties } from './properties.ts';
import type { ClientHandle, ConnectionEnd, MqttSession } from '../session.ts';
import { RC } from './reason-codes.ts';
import { TopicAliases } from './topic-aliases.ts';
import { keepUserPropertyOrder, reorderEncodedPublish } from '../user-properties.ts';

export interface Mqtt5Limits {
  /** PUBLISH packets from one client the core works on at once (CONNACK Receive Maximum). */
  receiveMaximum: number;
  /** Inbound topic aliases per connection (CONNACK Topic Alias Maximum; 0 = none). */
  topicAliasMaximum: number;
  /** Largest packet a client may send (CONNACK Maximum Packet Size). */
  maxPacketBytes: number;
  /** Largest CONNECT, sent before authentication (limits.maxHandshakeBytes). */
  maxConnectBytes: number;
  /** One property section's bytes, and its User Properties (mqtt.maxPropertyBytes, mqtt.maxUserProperties). */
  maxPropertyBytes: number;
  maxUserProperties: number;
  /** Longest keep-alive a client may ask for, also imposed on 0 (CONNACK Server Keep Alive); 0 = the client's. */
  maxKeepAliveSeconds: number;
  /** Longest session expiry a client may ask for (CONNACK Session Expiry Interval when lowered); 0 = no cap. */
  maxSessionExpirySeconds: number;
}

/** What the connection needs from the MQTT service. */
export interface Mqtt5Host {
  readonly limits: Mqtt5Limits;
  /** Authenticates, takes the client id over, loads the session and stores the will; throws ConnectRefusal. */
  open(conn: Mqtt5Connection, packet: IConnectPacket, expirySeconds: number): Promise<{ session: MqttSession; present: boolean }>;
  /** CONNACK is out: the connection is listed and counts as established. */
  opened(conn: Mqtt5Connection): void;
  /** DISCONNECT came: the session is let go at once (its expiry recorded), before the socket closes. */
  leaving5(conn: Mqtt5Connection): void;
  /** The network connection is gone: the will, the session's expiry. */
  ended(conn: Mqtt5Connection): void;
  /** A PUBLISH the client could not take (over its Maximum Packet Size), dropped as the specification says. */
  oversized(conn: Mqtt5Connection, topic: string, bytes: number): void;
}

/** A PUBACK or PUBREC owed to the client, sent in the order the PUBLISHes came. */
export interface AckSlot {
  packet: Packet | undefined;
  ready: boolean;
}

type Handler = (conn: Mqtt5Connection, packet: Packet) => void | Promise<void>;

/** The DISCONNECT reason code for each way the session layer ends a connection. */
const END_CODES: Record<ConnectionEnd, number> = {
  'slow-consumer': RC.quotaExceeded,
  'not-authorized': RC.notAuthorized,
  administrator: RC.administrativeAction,
  'shutting-down': RC.serverShuttingDown,
  'session-taken-over': RC.sessionTakenOver,
};

export class Mqtt5Connection implements ClientHandle {
  readonly version = 5;
  id = '';
  clean = true;
  closed = false;
  will: IConnectPacket['will'] | null = null;
  session: MqttSession | undefined;
  /** CONNACK is out. */
  open = false;
  /** What the client announced in CONNECT. */
  readonly peer = { receiveMaximum: 65535, maximumPacketSize: 0, problemInformation: true, topicAliasMaximum: 0 };
  /** Topic aliases both ways. */
  private readonly aliases = new TopicAliases();
  /** The session's expiry interval in seconds, as granted in CONNACK (DISCONNECT may change it). */
  sessionExpiry = 0;
  /** Seconds the will waits after an abnormal end, already bounded by the session expiry. */
  willDelay = 0;
  /** DISCONNECT with 0x00 came: the will is discarded. */
  normalDisconnect = false;
  /** PUBLISH packets in the core for this connection. */
  private inboundPending = 0;
  private readonly acks: AckSlot[] = [];
  /** Packets in order; CONNECT, PUBREL and the like hold those behind them, a PUBLISH past Receive Maximum waits. */
  private readonly pump: FramePump<Packet>;
  private readonly parser = mqttPacket.parser({ protocolVersion: 5 });
  private readonly guard: PacketSizeGuard;
  /** Everything written in one turn leaves in one write. */
  private readonly writer: BatchedWriter;
  /** Packet ids of QoS 1 and 2 PUBLISHes (and PUBRELs) in flight to the client. */
  private readonly outbound = new Set<number>();
  private readonly held: OutboundPublish[] = [];
  private keepAlive: NodeJS.Timeout | undefined;
  /** The connection is closing: nothing more is read. */
  private ending = false;
  /** Resolved once the network connection is closed. */
  readonly gone: Promise<void>;
  private markGone: () => void = () => {};

  constructor(
    readonly stream: Duplex,
    readonly info: ConnectionInfo,
    readonly host: Mqtt5Host,
    private readonly handlers: Readonly<Partial<Record<Packet['cmd'], Handler>>>,
    readonly log: LineLogger,
  ) {
    this.gone = new Promise((resolve) => (this.markGone = resolve));
    const l = host.limits;
    this.writer = new BatchedWriter(stream);
    this.guard = new PacketSizeGuard(l.maxPacketBytes, Math.min(l.maxPacketBytes, l.maxConnectBytes));
    keepUserPropertyOrder(this.parser);
    limitProperties(this.parser, l.maxPropertyBytes, l.maxUserProperties);
    this.pump = new FramePump<Packet>(
      {
        handle: (p) => this.handle(p),
        failed: (err) => {
          this.fail(err);
          return false;
        },
        ready: (p) => p.cmd !== 'publish' || this.inboundPending < l.receiveMaximum,
      },
      stream,
    );
    this.parser.on('packet', (p: Packet) => this.pump.add(p));
    this.parser.on('error', (err: Error) =>
      err instanceof PropertyBudgetError
        ? this.protocolError(RC.implementationSpecific, err.message)
        : this.protocolError(RC.malformedPacket, `malformed packet: ${err.message}`),
    );
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('error', (err: Error) => log.debug({ err }, 'mqtt 5 connection error'));
    stream.once('close', () => this.onClose());
    stream.resume();
  }

  private onData(chunk: Buffer): void {
    if (this.ending) return;
    this.keepAlive?.refresh();
    const over = this.guard.feed(chunk);
    try {
      this.parser.parse(over ? chunk.subarray(0, over.at) : chunk);
    } catch (err) {
      // mqtt-packet reports most bad input as an 'error' event, but a few paths throw.
      this.protocolError(RC.malformedPacket, `malformed packet: ${(err as Error).message}`);
      return;
    }
    if (over) {
      const setting = over.limit === this.host.limits.maxPacketBytes ? 'mqtt.maxPacketBytes' : 'limits.maxHandshakeBytes';
      this.log.info({ clientId: this.id, size: over.size, limit: over.limit }, `mqtt packet over ${setting}`);
      this.pump.clear();
      this.protocolError(RC.packetTooLarge, `packet of ${over.size} bytes is over the maximum packet size (${over.limit}, ${setting})`);
      return;
    }
    this.pump.run();
  }

  /** One packet, in order: CONNECT comes once, first; the rest only after it (they may arrive before CONNACK and wait). */
  private handle(p: Packet): void | Promise<void> {
    const handler = this.open !== (p.cmd === 'connect') ? this.handlers[p.cmd] : undefined;
    if (!handler) return this.protocolError(RC.protocolError, `unexpected ${p.cmd.toUpperCase()} packet`);
    return handler(this, p);
  }

  // ---- inbound PUBLISH bookkeeping ---------------------------------------------------------

  /** A slot for the acknowledgement of a PUBLISH now entering the core; fill it with `acknowledge`. */
  reserveAck(): AckSlot {
    const slot: AckSlot = { packet: undefined, ready: false };
    this.acks.push(slot);
    return slot;
  }

  acknowledge(slot: AckSlot, packet: Packet | undefined): void {
    slot.packet = packet;
    slot.ready = true;
    while (this.acks.length > 0 && (this.acks[0] as AckSlot).ready) {
      const s = this.acks.shift() as AckSlot;
      if (s.packet) this.send(s.packet);
    }
  }

  /** A PUBLISH enters the core: Receive Maximum counts it until publishDone. */
  publishEntered(): void {
    this.inboundPending++;
  }

  /** A PUBLISH left the core (stored, refused or failed): the next may enter. */
  publishDone(): void {
    this.inboundPending--;
    this.pump.run();
  }

  /** The topic an inbound PUBLISH goes to once its Topic Alias is applied (and learnt), or a protocol error [code, text]. */
  inboundTopic(packet: IPublishPacket): string | [number, string] {
    const alias = packet.properties?.topicAlias;
    if (alias === undefined)
      return packet.topic === '' ? [RC.protocolError, 'a PUBLISH needs a topic name or a topic alias'] : packet.topic;
    const max = this.host.limits.topicAliasMaximum;
    if (alias === 0 || alias > max) return [RC.topicAliasInvalid, `topic alias ${alias} is outside the maximum of ${max}`];
    if (packet.topic !== '') {
      this.aliases.inbound.set(alias, packet.topic);
      return packet.topic;
    }
    return this.aliases.inbound.get(alias) ?? [RC.protocolError, `topic alias ${alias} was never given a topic`];
  }

  // ---- opening -----------------------------------------------------------------------------

  /** CONNACK accepted the client: keep-alive runs, the session may deliver, PUBRELs owed go out. */
  opened(keepAliveSeconds: number): void {
    this.open = true;
    if (keepAliveSeconds > 0) {
      this.keepAlive = setTimeout(() => {
        this.log.info(
          { clientId: this.id, keepAlive: keepAliveSeconds },
          'mqtt keep-alive expired (1.5 x the keep-alive without a packet)',
        );
        this.disconnect(RC.keepAliveTimeout, `no packet within 1.5 x the keep-alive of ${keepAliveSeconds} s`);
      }, keepAliveSeconds * 1500);
      this.keepAlive.unref();
    }
    this.host.opened(this);
    const session = this.session as MqttSession;
    session.connected();
    for (const r of session.pendingReleases()) {
      this.outbound.add(r.messageId);
      this.send({ cmd: 'pubrel', messageId: r.messageId, reasonCode: 0 });
    }
  }

  /** Answers CONNECT with a refusal and closes. */
  refuse(reasonCode: number, reason: string): void {
    this.log.info({ clientId: this.id || undefined, reasonCode, reason }, 'mqtt 5 connection refused');
    this.send({ cmd: 'connack', sessionPresent: false, reasonCode, properties: { reasonString: reason } });
    this.closeStream();
  }

  // ---- outbound ----------------------------------------------------------------------------

  /** Writes a packet; false when it is over the client's Maximum Packet Size (it is not sent). */
  send(packet: Packet): boolean {
    if (this.closed || this.stream.destroyed) return false;
    if (!this.peer.problemInformation && packet.cmd !== 'publish' && packet.cmd !== 'connack' && packet.cmd !== 'disconnect') {
      stripProblemInformation(packet);
    }
    let aliasSet: (() => void) | undefined;
    if (packet.cmd === 'publish' && this.peer.topicAliasMaximum > 0)
      [packet, aliasSet] = this.aliases.outbound(packet as OutboundPublish, this.peer.topicAliasMaximum);
    if (!this.write(packet)) return false;
    aliasSet?.();
    return true;
  }

  private write(packet: Packet): boolean {
    this.writer.hold();
    const max = this.peer.maximumPacketSize;
    const order = (packet as OutboundPublish).userPropertyOrder;
    if (max === 0 && order === undefined) {
      mqttPacket.writeToStream(packet, this.stream, { protocolVersion: 5 });
      return true;
    }
    let bytes = mqttPacket.generate(packet, { protocolVersion: 5 });
    if (order) bytes = reorderEncodedPublish(bytes, order);
    if (max === 0) {
      this.stream.write(bytes);
      return true;
    }
    if (bytes.length > max && packet.cmd !== 'publish') {
      // §3.x: the reason string and user properties are what may be left out to fit.
      stripProblemInformation(packet);
      bytes = mqttPacket.generate(packet, { protocolVersion: 5 });
    }
    if (bytes.length > max) return false;
    this.stream.write(bytes);
    return true;
  }

  deliver(packet: OutboundPublish, written?: WriteTarget, n = 0): void {
    if (!this.send(packet as Packet)) this.host.oversized(this, packet.topic, packet.payload.length);
    if (written) this.writer.tellAfter(written, n);
  }

  deliverTracked(packet: OutboundPublish): void {
    if (this.outbound.size >= this.peer.receiveMaximum) this.held.push(packet);
    else this.sendQoS(packet);
  }

  private sendQoS(packet: OutboundPublish): void {
    const id = packet.messageId as number;
    if (this.send(packet as Packet)) {
      this.outbound.add(id);
      return;
    }
    if (this.closed) return;
    // §3.1.2.11.4: a packet the client would not accept is dropped as if it had been delivered.
    this.host.oversized(this, packet.topic, packet.payload.length);
    void this.session?.acknowledged(id);
  }

  /** The connection is closing or closed: nothing more is read or sent. */
  get closing(): boolean {
    return this.ending;
  }

  /** True while a QoS 1 or 2 PUBLISH (or PUBREL) with packet id `id` waits for the client. */
  isOutbound(id: number): boolean {
    return this.outbound.has(id);
  }

  /** PUBACK, PUBCOMP or a refusing PUBREC came for `id`: its place in the client's window frees. */
  outboundDone(id: number): void {
    if (!this.outbound.delete(id)) return;
    while (this.held.length > 0 && this.outbound.size < this.peer.receiveMaximum && !this.closed) {
      this.sendQoS(this.held.shift() as OutboundPublish);
    }
  }

  // ---- closing -----------------------------------------------------------------------------

  /** The session layer ends the connection: DISCONNECT with the reason code that says why. */
  end(why: ConnectionEnd, text: string): void {
    this.disconnect(END_CODES[why], text);
  }

  /** DISCONNECT with `reasonCode`, then close (the will is published unless the client said goodbye). */
  disconnect(reasonCode: number, reason: string): void {
    if (this.ending) return;
    if (this.open) this.send({ cmd: 'disconnect', reasonCode, properties: { reasonString: reason } });
    this.closeStream();
  }

  /** A protocol violation: DISCONNECT (CONNACK before CONNECT completed) with `reasonCode`, then close. */
  protocolError(reasonCode: number, reason: string): void {
    if (this.ending) return;
    this.log.info({ clientId: this.id || undefined, reasonCode, reason }, 'mqtt 5 protocol error: closing the connection');
    if (this.open) this.disconnect(reasonCode, reason);
    else this.refuse(reasonCode, reason);
  }

  close(cb?: () => void): void {
    if (cb) this.stream.once('close', cb);
    this.closeStream();
  }

  private closeStream(): void {
    this.ending = true;
    this.pump.stop();
    // Paused, the socket reads only until its buffer fills: a client's close is still seen, a client
    // streaming on is no longer read. The socket closes within a second.
    this.stream.pause();
    this.stream.end();
    // A peer that does not close its side is not waited for.
    setTimeout(() => this.stream.destroy(), 1000).unref();
  }

  private fail(err: unknown): void {
    this.log.warn({ err, clientId: this.id }, 'mqtt 5 packet handling failed: closing the connection');
    this.disconnect(RC.unspecified, (err as Error).message);
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.ending = true;
    clearTimeout(this.keepAlive);
    this.pump.stop();
    this.held.length = 0;
    this.markGone();
    this.host.ended(this);
  }
}

function stripProblemInformation(packet: Packet): void {
  const props = (packet as { properties?: { reasonString?: string; userProperties?: unknown } }).properties;
  if (!props) return;
  delete props.reasonString;
  delete props.userProperties;
}
