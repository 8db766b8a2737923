// One MQTT connection's side of the core: its subscriptions as core subscriptions (transient for
// a clean session, durable for a persistent one, shared for $share/G/F), delivery of core messages
// through the protocol engine's client (aedes for 3.1/3.1.1, v5/connection.ts for MQTT 5) with
// packet ids allocated here, settlement on PUBACK / PUBREC / PUBCOMP, and the publishes it sends
// into the core. The engines keep the wire protocol; this keeps the state.
import { createMessage, type Message } from '../../src/core/message.ts';
import type { Broker } from '../../src/core/broker.ts';
import type { Consumer, Delivery } from '../../src/core/consumer.ts';
import { JunctionError } from '../../src/shared/errors.ts';
import type { ClientContext, Principal } from '../../src/core/principal.ts';
import type { SubscriptionLimits } from '../../src/core/records.ts';
import {
  messageQos,
  publishedRetained,
  toCoreMessage,
  toPublishPacket,
  type InboundPublish,
  type OutboundPublish,
  type V5Delivery,
} from './mapping.ts';
import { Overlaps } from './overlaps.ts';
import { NEVER_EXPIRES, SESSION_PREFIX, SessionState, clampQos, type SubscriptionOptions } from './session-state.ts';
import { filterToCore, topicBytesFromCore, type MqttFilter } from './topics.ts';
import type { BatchedWriter, WriteTarget } from '../../src/net/batched-writer.ts';
import type { LineLogger } from '../../src/connection-log.ts';
import { publishHeader, SharedHeaders } from './publish-encoder.ts';

/** Every MQTT 3.1.1 connection's QoS 0 deliveries of one message share one header. */
const sharedHeaders = new SharedHeaders();

/** A connection as the session sees it: an aedes 1.2 Client (some of these are not in its typings) or an MQTT 5 connection. */
export interface ClientHandle {
  readonly id: string;
  /** The protocol level of its CONNECT (5 = MQTT 5). */
  readonly version?: number | null;
  readonly clean: boolean;
  readonly closed: boolean;
  readonly will: unknown;
  /** A QoS 0 PUBLISH, forgotten once sent; `written` is told `n` once it is written and the client may take more. */
  deliver(packet: OutboundPublish, written?: WriteTarget, n?: number): void;
  /** A QoS 1 or 2 PUBLISH the engine keeps in flight until the client acknowledges it. */
  deliverTracked(packet: OutboundPublish): void;
  close(cb?: () => void): void;
  /** Ends the connection saying why where the protocol can (MQTT 5 DISCONNECT); MQTT 3.1.1 just closes. */
  end(why: ConnectionEnd, text: string): void;
}

/** Why the broker ends a client's connection. */
export type ConnectionEnd = 'slow-consumer' | 'not-authorized' | 'administrator' | 'shutting-down' | 'session-taken-over';

/** Why a subscription was refused: the filter, or a core error code (not-authorized, resource-limit...). */
export interface SubscribeRefusal {
  refused: 'invalid-filter' | string;
  reason: string;
}

/** MQTT 5 Retain Handling: 0 send retained messages, 1 only for a new subscription, 2 never. */
export type RetainHandling = 0 | 1 | 2;

export interface SessionSettings {
  maxInflight: number;
  maxInboundQoS2: number;
  limits: SubscriptionLimits;
}

export class MqttProtocolError extends JunctionError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('protocol', message, context);
  }
}

interface Link {
  readonly filter: MqttFilter;
  options: SubscriptionOptions;
  consumer: Consumer | undefined;
  /**
   * Deliveries held until the SUBACK (or, for a restored session, the CONNACK) is out and the core
   * consumer is known: the core may deliver a durable queue's backlog before `subscribe` returns.
   */
  backlog: Delivery[] | undefined;
  /** The SUBACK (or CONNACK) is out: the backlog goes as soon as the consumer is known. */
  released: boolean;
  /** Whether SUBACK sends the retained messages (MQTT 5 Retain Handling; always for 3.1.1). */
  sendRetained: boolean;
  /** This link as a group of one: what a delivery for it alone goes out for, without an allocation per message. */
  readonly alone: this[];
  /** Settles a QoS 0 delivery once its bytes are written (no closure per message). */
  readonly settler: WriteTarget;
}

interface Inflight {
  readonly qos: 1 | 2;
  /** Undefined for a retained message sent on subscribe (nothing to settle in the core). */
  readonly consumer: Consumer | undefined;
  readonly tag: number;
}

export class MqttSession {
  state: SessionState;
  principal: Principal | undefined;
  /** True once CONNACK is out; deliveries wait for it. */
  ready = false;
  closed = false;
  private readonly links = new Map<string, Link>();
  private readonly overlaps = new Overlaps(this.links);
  private readonly inflight = new Map<number, Inflight>();
  private nextPacketId = 1;
  /** Serializes sends that first write session state, so deliveries keep their order. */
  private tail: Promise<void> | undefined;
  /**
   * MQTT 3.1/3.1.1 (aedes) connections: PUBLISHes go straight to the socket, batched per turn,
   * with headers encoded here (publish-encoder.ts) rather than through aedes' deliver path, which
   * costs a setImmediate, a packet copy and closures per message. Undefined for MQTT 5.
   */
  writer: BatchedWriter | undefined;
  private lastCtx: ClientContext | undefined;

  constructor(
    readonly client: ClientHandle,
    readonly connectionId: string,
    private readonly broker: Broker,
    private readonly settings: SessionSettings,
    readonly log: LineLogger,
  ) {
    this.state = new SessionState('', false);
  }

  /** Who acts, as the core sees it: made again only when the client id or principal changed. */
  get ctx(): ClientContext {
    const last = this.lastCtx;
    if (last && last.clientId === this.client.id && last.principal === this.principal) return last;
    const c: { connectionId: string; clientId: string; principal?: Principal } = {
      connectionId: this.connectionId,
      clientId: this.client.id,
    };
    if (this.principal) c.principal = this.principal;
    this.lastCtx = c;
    return c;
  }

  get persistent(): boolean {
    return this.state.persistent;
  }

  // ---- session start ---------------------------------------------------------------------

  /** CONNECT with clean session = 0: resumes the stored session (or `inherited`, on takeover). */
  async resume(inherited: SessionState | undefined): Promise<void> {
    this.state = inherited?.persistent
      ? inherited
      : SessionState.fromRecord(this.client.id, await this.broker.getSession(SESSION_PREFIX + this.client.id));
  }

  /** The stored subscriptions aedes restores (each passes through subscribe() again). */
  storedSubscriptions(): Array<{ topic: string; qos: 0 | 1 | 2 }> {
    return [...this.state.subscriptions].map(([topic, o]) => ({ topic, qos: o.qos }));
  }

  /**
   * MQTT 5 CONNECT: Clean Start discards a stored session; otherwise the stored one (or
   * `inherited`, on takeover) goes on unless its expiry passed. The session is persistent while
   * its expiry interval is above 0, and a resumed one lives until its connection ends. Returns the
   * CONNACK Session Present flag. Subscriptions are restored by the caller (restoreSubscriptions).
   */
  async open5(cleanStart: boolean, expirySeconds: number, inherited: SessionState | undefined, now: number): Promise<boolean> {
    let stored: SessionState | undefined = inherited?.persistent ? inherited : undefined;
    if (!stored) {
      const rec = await this.broker.getSession(SESSION_PREFIX + this.client.id);
      if (rec && rec.expiresAt > 0 && rec.expiresAt <= now) {
        await MqttSession.discard(this.broker, this.client.id, SessionState.fromRecord(this.client.id, rec));
        this.log.info({ clientId: this.client.id, idleSince: rec.updatedAt }, 'mqtt session expired: starting a new one');
      } else if (rec) {
        stored = SessionState.fromRecord(this.client.id, rec);
      }
    }
    if (cleanStart && stored) {
      await MqttSession.discard(this.broker, this.client.id, stored);
      this.log.info({ clientId: this.client.id, subscriptions: stored.subscriptions.size }, 'clean start: discarded the stored session');
    }
    const present = !cleanStart && stored !== undefined;
    this.state = present && stored ? stored : new SessionState(this.client.id, expirySeconds > 0);
    this.state.expirySeconds = expirySeconds;
    if (this.persistent) await this.saveState();
    return present;
  }

  /** MQTT 5: the resumed session's subscriptions, attached again before CONNACK. */
  async restoreSubscriptions(): Promise<void> {
    for (const [raw, o] of [...this.state.subscriptions]) {
      const outcome = await this.subscribeWith(raw, o, 2);
      if (typeof outcome !== 'number') {
        this.log.warn({ clientId: this.client.id, filter: raw, reason: outcome.reason }, 'could not restore a subscription');
      }
    }
  }

  /** MQTT 5 DISCONNECT may change the expiry interval (not from 0: the caller refuses that). */
  setExpiry(seconds: number): void {
    this.state.expirySeconds = seconds;
  }

  /** Whether the session has a subscription on exactly this filter (UNSUBACK 0x11 when not). */
  hasSubscription(raw: string): boolean {
    return this.links.has(raw) || this.state.subscriptions.has(raw);
  }

  /** CONNECT with clean session = 1: whatever a previous persistent session left is discarded. */
  async startClean(): Promise<void> {
    this.state = new SessionState(this.client.id, false);
    const stored = await this.broker.getSession(SESSION_PREFIX + this.client.id);
    if (!stored) return;
    const old = SessionState.fromRecord(this.client.id, stored);
    for (const filter of old.subscriptions.keys()) this.dropDurable(filter);
    await this.broker.deleteSession(SESSION_PREFIX + this.client.id);
    this.log.info(
      { clientId: this.client.id, subscriptions: old.subscriptions.size },
      'clean session: discarded the stored persistent session',
    );
  }

  /** CONNACK is out: restored subscriptions may deliver now. */
  connected(): void {
    this.ready = true;
    for (const link of this.links.values()) this.flush(link);
  }

  // ---- subscriptions ---------------------------------------------------------------------

  /** MQTT 3.1.1: creates or updates the core subscription for one filter; false means SUBACK 0x80. */
  async subscribe(raw: string, requested: number): Promise<false | 0 | 1 | 2> {
    // A session an MQTT 5 client made keeps its options when a 3.1.1 client resumes it.
    const stored = this.state.subscriptions.get(raw);
    const outcome = await this.subscribeWith(raw, { ...stored, qos: clampQos(requested) }, 0);
    return typeof outcome === 'number' ? outcome : false;
  }

  /** Creates or updates the core subscription for one filter, with MQTT 5's options. */
  async subscribeWith(raw: string, requested: SubscriptionOptions, retainHandling: RetainHandling): Promise<0 | 1 | 2 | SubscribeRefusal> {
    if (this.closed) return { refused: 'closed', reason: 'the connection is closing' };
    const options: SubscriptionOptions = { ...requested, qos: clampQos(requested.qos) };
    let filter: MqttFilter;
    try {
      filter = filterToCore(raw);
    } catch (err) {
      this.log.info({ clientId: this.client.id, filter: raw, reason: (err as Error).message }, 'subscription refused');
      return { refused: 'invalid-filter', reason: (err as Error).message };
    }
    let existing = this.links.get(raw);
    if (existing && Boolean(existing.options.noLocal) !== Boolean(options.noLocal)) {
      // No Local changes what the core routes to the subscription: it is made anew (as JMS does).
      await this.unsubscribe([raw]);
      existing = undefined;
    }
    const qos = options.qos;
    if (existing) {
      existing.options = options;
      existing.sendRetained = retainHandling === 0;
    } else {
      const alone: Link[] = [];
      const settler: WriteTarget = { written: (tag) => link.consumer && this.settle(link.consumer, tag) };
      const link: Link = {
        filter,
        options,
        consumer: undefined,
        backlog: [],
        released: false,
        sendRetained: retainHandling !== 2,
        alone,
        settler,
      };
      alone.push(link);
      const noLocal = options.noLocal ? { noLocal: true } : {};
      this.links.set(raw, link);
      this.overlaps.changed();
      try {
        link.consumer = await this.broker.subscribe(
          {
            destination: { kind: 'topic', name: filter.pattern },
            prefetch: this.settings.maxInflight,
            limits: this.settings.limits,
            ...noLocal,
            ...(filter.group !== undefined
              ? { shared: { name: filter.group, durable: this.persistent } }
              : this.persistent
                ? { durable: { clientId: this.client.id, name: raw } }
                : {}),
            onMessage: (d) => this.onDelivery(link, d),
            onClosed: (reason) => {
              if (this.links.get(raw) === link) this.links.delete(raw);
              this.overlaps.changed();
              this.log.info({ clientId: this.client.id, filter: raw, reason }, 'subscription ended by the broker');
            },
            // A slow consumer under `mqtt.slowConsumer: disconnect`, or rights revoked at run time: MQTT
            // cannot end one subscription, so the connection closes; a persistent session keeps queuing
            // within mqtt.maxQueuedMessages (what its user may no longer read, it is not given).
            onAborted: (reason, cause) => {
              if (cause === 'slow-consumer') {
                this.log.warn({ clientId: this.client.id, filter: raw, reason }, 'slow consumer disconnected (mqtt.slowConsumer)');
              } else this.log.info({ clientId: this.client.id, filter: raw, reason }, 'subscription no longer authorized: disconnected');
              this.client.end(cause, reason);
            },
          },
          this.ctx,
        );
      } catch (err) {
        this.links.delete(raw);
        this.overlaps.changed();
        this.log.info({ clientId: this.client.id, filter: raw, reason: (err as Error).message }, 'subscription refused');
        return { refused: err instanceof JunctionError ? err.code : 'error', reason: (err as Error).message };
      }
      if (this.closed) {
        link.consumer.close();
        return { refused: 'closed', reason: 'the connection is closing' };
      }
      if (link.released) this.flush(link);
    }
    if (this.persistent && !sameOptions(this.state.subscriptions.get(raw), options)) {
      this.state.subscriptions.set(raw, options);
      await this.saveState();
    }
    return qos;
  }

  /** SUBACK is out for these filters: send retained messages, then what arrived meanwhile. */
  subscribed(filters: readonly string[]): void {
    for (const raw of filters) {
      const link = this.links.get(raw);
      if (!link) continue;
      if (link.filter.group === undefined && link.sendRetained) this.sendRetained(link);
      this.flush(link);
    }
  }

  async unsubscribe(filters: readonly string[]): Promise<void> {
    let changed = false;
    for (const raw of filters) {
      const link = this.links.get(raw);
      if (link) {
        this.links.delete(raw);
        this.overlaps.changed();
        link.consumer?.close();
      }
      if (this.persistent && this.state.subscriptions.delete(raw)) {
        changed = true;
        if (!raw.startsWith('$share/')) this.dropDurable(raw);
      }
    }
    if (changed) await this.saveState();
  }

  private dropDurable(raw: string): void {
    try {
      this.broker.unsubscribeDurable(this.client.id, raw);
    } catch (err) {
      this.log.debug({ clientId: this.client.id, filter: raw, reason: (err as Error).message }, 'no durable subscription to remove');
    }
  }

  // ---- delivery --------------------------------------------------------------------------

  private onDelivery(link: Link, d: Delivery): void {
    if (link.backlog) link.backlog.push(d);
    else this.send(link, d);
  }

  private flush(link: Link): void {
    if (!this.ready || !link.backlog) return;
    link.released = true;
    if (!link.consumer) return;
    const held = link.backlog;
    link.backlog = undefined;
    for (const d of held) this.send(link, d);
  }

  private send(link: Link, d: Delivery): void {
    const consumer = link.consumer;
    if (!consumer || consumer.closed) return;
    const m = d.message;
    // [MQTT-4.7.2-1] a filter starting with a wildcard does not match topics starting with $.
    if (link.filter.leadingWildcard && m.destination.name.startsWith('$')) {
      this.settle(consumer, d.tag);
      return;
    }
    // MQTT 5: one copy for all the overlapping subscriptions it matches (overlaps.ts).
    const group = this.client.version === 5 ? this.overlaps.group(link, m.id, m.destination.name) : link.alone;
    if (group === 'skip') {
      this.settle(consumer, d.tag);
      return;
    }
    const granted = group.length === 1 ? link.options.qos : Math.max(...group.map((l) => l.options.qos));
    const qos = Math.min(granted, messageQos(m)) as 0 | 1 | 2;
    if (qos === 0 && this.writer) {
      const topic = topicBytesFromCore(m.destination.name);
      this.writer.write(sharedHeaders.qos0(m, topic, m.body.byteLength, this.retainFlag(group, m)), m.body, link.settler, d.tag);
      return;
    }
    if (qos === 0) {
      this.client.deliver(toPublishPacket(m, 0, this.retainFlag(group, m), false, undefined, this.v5(group, d)), link.settler, d.tag);
      return;
    }
    if (qos === 2 && this.persistent) {
      this.chain(() => this.sendQoS2Persistent(group, consumer, d));
      return;
    }
    if (this.tail) {
      this.chain(async () => this.write(group, consumer, d, qos, this.allocate(), d.redelivered));
      return;
    }
    this.write(group, consumer, d, qos, this.allocate(), d.redelivered);
  }

  /** A QoS 2 send to a persistent session: its packet id is stored first, so a resend after a
   *  reconnect or restart reuses it and the device can recognise the duplicate. */
  private async sendQoS2Persistent(group: Link[], consumer: Consumer, d: Delivery): Promise<void> {
    const known = this.state.outboundFor(d.message.id);
    if (known?.[1].released) {
      // PUBREC came before; only the settlement was lost. The device has it.
      this.settle(consumer, d.tag);
      return;
    }
    let id = known?.[0];
    if (id === undefined) {
      id = this.allocate();
      this.state.outbound.set(id, { messageId: d.message.id, released: false });
      await this.saveState();
    }
    if (consumer.closed || this.closed) return;
    this.write(group, consumer, d, 2, id, d.redelivered || known !== undefined);
  }

  /** Sends a QoS 1 or 2 delivery for the subscriptions in `group` (one, or MQTT 5 overlapping ones). */
  private write(group: Link[], consumer: Consumer, d: Delivery, qos: 1 | 2, id: number, dup: boolean): void {
    if (consumer.closed || this.closed) return;
    this.inflight.set(id, { qos, consumer, tag: d.tag });
    if (this.writer) {
      const m = d.message;
      this.writer.write(
        publishHeader(topicBytesFromCore(m.destination.name), m.body.byteLength, qos, this.retainFlag(group, m), dup, id),
        m.body,
      );
      return;
    }
    this.client.deliverTracked(toPublishPacket(d.message, qos, this.retainFlag(group, d.message), dup, id, this.v5(group, d)));
  }

  /** MQTT 5 Retain As Published keeps the publisher's retain flag on live deliveries; otherwise it is 0. */
  private retainFlag(group: Link[], m: Message): boolean {
    return group.some((l) => l.options.retainAsPublished === true) && publishedRetained(m);
  }

  private sendRetained(link: Link): void {
    for (const m of this.broker.retainedFor(link.filter.pattern, this.ctx)) {
      if (link.filter.leadingWildcard && m.destination.name.startsWith('$')) continue;
      if (m.expiresAt > 0 && m.expiresAt <= Date.now()) continue;
      const qos = Math.min(link.options.qos, messageQos(m)) as 0 | 1 | 2;
      const id = qos === 0 ? 0 : this.allocate();
      if (qos !== 0) this.inflight.set(id, { qos, consumer: undefined, tag: 0 });
      if (this.writer) {
        this.writer.write(publishHeader(topicBytesFromCore(m.destination.name), m.body.byteLength, qos, true, false, id), m.body);
      } else if (qos === 0) {
        this.client.deliver(toPublishPacket(m, 0, true, false, undefined, this.v5(link.alone)));
      } else {
        this.client.deliverTracked(toPublishPacket(m, qos, true, false, id, this.v5(link.alone)));
      }
    }
  }

  /** What an MQTT 5 subscriber's PUBLISH needs beyond the message (undefined for MQTT 3.1.1). */
  private v5(group: Link[], d?: Delivery): V5Delivery | undefined {
    if (this.client.version !== 5) return undefined;
    const v: V5Delivery = { now: Date.now(), annotations: d?.annotations };
    if (group.length === 1) {
      const id = (group[0] as Link).options.identifier;
      if (id !== undefined) v.subscriptionIdentifiers = [id];
      return v;
    }
    const ids = group.flatMap((l) => (l.options.identifier !== undefined ? [l.options.identifier] : []));
    if (ids.length > 0) v.subscriptionIdentifiers = ids;
    return v;
  }

  private chain(step: () => Promise<void>): void {
    const run = (this.tail ?? Promise.resolve()).then(step).catch((err: unknown) => {
      this.log.warn({ err, clientId: this.client.id }, 'could not store session state before a QoS 2 delivery; closing the connection');
      this.client.close();
    });
    this.tail = run;
    void run.then(() => {
      if (this.tail === run) this.tail = undefined;
    });
  }

  private allocate(): number {
    for (let i = 0; i < 65535; i++) {
      const id = this.nextPacketId;
      this.nextPacketId = id >= 65535 ? 1 : id + 1;
      if (!this.inflight.has(id) && !this.state.outbound.has(id)) return id;
    }
    throw new MqttProtocolError('every MQTT packet id is in use', { clientId: this.client.id });
  }

  private settle(consumer: Consumer, tag: number): void {
    if (consumer.closed || !consumer.inflight.has(tag)) return;
    consumer.ack(tag);
  }

  /** PUBACK (QoS 1) or PUBCOMP (QoS 2); a promise only while a persistent session's state is written. */
  acknowledged(id: number): Promise<void> | undefined {
    if (this.closed) return undefined;
    const e = this.inflight.get(id);
    if (e) {
      this.inflight.delete(id);
      if (e.consumer) this.settle(e.consumer, e.tag);
    }
    if (this.persistent && this.state.outbound.delete(id)) return this.saveState();
    return undefined;
  }

  /** PUBREC on a persistent session: the device has the message; remember that, then settle. */
  async received(id: number): Promise<void> {
    if (this.closed) return;
    const o = this.state.outbound.get(id);
    if (o && !o.released) {
      o.released = true;
      await this.saveState();
    }
    const e = this.inflight.get(id);
    if (e) {
      this.inflight.delete(id);
      if (e.consumer) this.settle(e.consumer, e.tag);
    }
  }

  /** PUBREL packets owed to the device after a reconnect. */
  pendingReleases(): Array<{ cmd: 'pubrel'; messageId: number }> {
    if (!this.persistent) return [];
    return [...this.state.outbound].filter(([, o]) => o.released).map(([messageId]) => ({ cmd: 'pubrel' as const, messageId }));
  }

  // ---- publishing ------------------------------------------------------------------------

  /**
   * A PUBLISH (or the will) into the core, finished before PUBACK / PUBREC go out; returns how many
   * queues it reached. A QoS 2 packet id already stored is a retransmission: it is not published
   * again (undefined).
   */
  async publish(p: InboundPublish, messageId: number | undefined): Promise<number | undefined> {
    return this.publishNow(p, messageId);
  }

  /**
   * publish() without a promise when the core needs none (QoS 0, or nothing to store): the count
   * comes back at once, else as a promise; a refusal throws, or rejects the promise.
   */
  publishNow(p: InboundPublish, messageId: number | undefined): number | undefined | Promise<number | undefined> {
    if (p.retain || (p.qos === 2 && messageId !== undefined)) return this.publishStored(p, messageId);
    const r = this.broker.publishNow(toCoreMessage(p, Date.now()), this.ctx);
    return r instanceof Promise ? r.then(routedOf) : r.routed;
  }

  /** A retained message, or a QoS 2 PUBLISH whose packet id is stored with it. */
  private async publishStored(p: InboundPublish, messageId: number | undefined): Promise<number | undefined> {
    const input = toCoreMessage(p, Date.now());
    let routed: number;
    if (p.qos === 2 && messageId !== undefined) {
      if (this.state.incoming.has(messageId)) return undefined;
      if (this.state.incoming.size >= this.settings.maxInboundQoS2) {
        throw new MqttProtocolError(`${this.settings.maxInboundQoS2} QoS 2 messages are already waiting for PUBREL`, {
          clientId: this.client.id,
        });
      }
      this.state.incoming.add(messageId);
      try {
        ({ routed } = await this.broker.publish(input, this.ctx, this.persistent ? { session: this.state.toRecord(Date.now()) } : {}));
      } catch (err) {
        this.state.incoming.delete(messageId);
        throw err;
      }
    } else {
      ({ routed } = await this.broker.publish(input, this.ctx));
    }
    if (p.retain) {
      const retained = p.payload.length === 0 ? null : createMessage({ ...input, persistent: true }, this.principal?.username, Date.now());
      await this.broker.retain(input.destination.name, retained);
    }
    return routed;
  }

  hasIncoming(id: number): boolean {
    return this.state.incoming.has(id);
  }

  /** PUBREL: the QoS 2 exchange for `id` is over. */
  async released(id: number): Promise<void> {
    if (this.closed || !this.state.incoming.delete(id)) return;
    if (this.persistent) await this.saveState();
  }

  // ---- end -------------------------------------------------------------------------------

  /** The connection is gone (or taken over): consumers detach and unsettled messages go back. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const link of this.links.values()) link.consumer?.close();
    this.links.clear();
    this.inflight.clear();
    this.broker.connectionClosed(this.connectionId);
  }

  /**
   * The device left: its persistent session starts to age (when sessions expire at all). An MQTT 5
   * session ages by its own interval, and one whose interval is 0 ends now.
   */
  async disconnected(expiryMs: number, now: number): Promise<void> {
    if (!this.persistent) return;
    const own = this.state.expirySeconds;
    if (own === 0) {
      await MqttSession.discard(this.broker, this.client.id, this.state);
      return;
    }
    if (own === NEVER_EXPIRES) {
      await this.broker.putSession(this.state.toRecord(now));
      return;
    }
    const ms = own !== undefined ? own * 1000 : expiryMs;
    if (ms <= 0) return;
    await this.broker.putSession(this.state.toRecord(now, now + ms));
  }

  /** Removes a stored persistent session and its durable subscriptions (session expiry). */
  static async discard(broker: Broker, clientId: string, stored: SessionState): Promise<void> {
    for (const filter of stored.subscriptions.keys()) {
      if (filter.startsWith('$share/')) continue;
      try {
        broker.unsubscribeDurable(clientId, filter);
      } catch {
        // Already gone.
      }
    }
    await broker.deleteSession(SESSION_PREFIX + clientId);
  }

  private saveState(): Promise<void> {
    return this.broker.putSession(this.state.toRecord(Date.now()));
  }
}

function routedOf(r: { routed: number }): number {
  return r.routed;
}

function sameOptions(a: SubscriptionOptions | undefined, b: SubscriptionOptions): boolean {
  return (
    a !== undefined &&
    a.qos === b.qos &&
    Boolean(a.noLocal) === Boolean(b.noLocal) &&
    Boolean(a.retainAsPublished) === Boolean(b.retainAsPublished) &&
    a.identifier === b.identifier
  );
}
