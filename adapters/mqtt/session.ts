// One MQTT connection's side of the core: its subscriptions as core subscriptions (transient for
// a clean session, durable for a persistent one, shared for $share/G/F), delivery of core messages
// through aedes' client with packet ids allocated here, settlement on PUBACK / PUBREC / PUBCOMP,
// and the publishes it sends into the core. aedes keeps the wire protocol; this keeps the state.
import { createMessage } from '../../src/core/message.ts';
import type { Broker } from '../../src/core/broker.ts';
import type { Consumer, Delivery } from '../../src/core/consumer.ts';
import { JunctionError } from '../../src/shared/errors.ts';
import type { ClientContext, Principal } from '../../src/core/principal.ts';
import type { SubscriptionLimits } from '../../src/store/store.ts';
import type { Logger } from 'pino';
import { messageQos, toCoreMessage, toPublishPacket, type InboundPublish, type OutboundPublish } from './mapping.ts';
import { SESSION_PREFIX, SessionState, clampQos } from './session-state.ts';
import { filterToCore, type MqttFilter } from './topics.ts';

/** The parts of an aedes 1.2 Client this adapter uses (some are not in aedes' typings). */
export interface AedesClient {
  readonly id: string;
  readonly clean: boolean;
  readonly closed: boolean;
  readonly will: unknown;
  deliver0(packet: OutboundPublish, cb: () => void): void;
  deliverQoS(packet: OutboundPublish, cb: () => void): void;
  close(cb?: () => void): void;
}

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
  qos: 0 | 1 | 2;
  consumer: Consumer | undefined;
  /** Deliveries held until the SUBACK (or, for a restored session, the CONNACK) is out. */
  backlog: Delivery[] | undefined;
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
  private readonly inflight = new Map<number, Inflight>();
  private nextPacketId = 1;
  /** Serializes sends that first write session state, so deliveries keep their order. */
  private tail: Promise<void> | undefined;

  constructor(
    readonly client: AedesClient,
    readonly connectionId: string,
    private readonly broker: Broker,
    private readonly settings: SessionSettings,
    readonly log: Logger,
  ) {
    this.state = new SessionState('', false);
  }

  get ctx(): ClientContext {
    const c: { connectionId: string; clientId: string; principal?: Principal } = {
      connectionId: this.connectionId,
      clientId: this.client.id,
    };
    if (this.principal) c.principal = this.principal;
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
    return [...this.state.subscriptions].map(([topic, qos]) => ({ topic, qos }));
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

  /** Creates or updates the core subscription for one filter; false means SUBACK 0x80. */
  async subscribe(raw: string, requested: number): Promise<false | 0 | 1 | 2> {
    if (this.closed) return false;
    const qos = clampQos(requested);
    let filter: MqttFilter;
    try {
      filter = filterToCore(raw);
    } catch (err) {
      this.log.info({ clientId: this.client.id, filter: raw, reason: (err as Error).message }, 'subscription refused');
      return false;
    }
    const existing = this.links.get(raw);
    if (existing) {
      existing.qos = qos;
    } else {
      const link: Link = { filter, qos, consumer: undefined, backlog: [] };
      this.links.set(raw, link);
      try {
        link.consumer = await this.broker.subscribe(
          {
            destination: { kind: 'topic', name: filter.pattern },
            prefetch: this.settings.maxInflight,
            limits: this.settings.limits,
            ...(filter.group !== undefined
              ? { shared: { name: filter.group, durable: this.persistent } }
              : this.persistent
                ? { durable: { clientId: this.client.id, name: raw } }
                : {}),
            onMessage: (d) => this.onDelivery(link, d),
            onClosed: (reason) => {
              if (this.links.get(raw) === link) this.links.delete(raw);
              this.log.info({ clientId: this.client.id, filter: raw, reason }, 'subscription ended by the broker');
            },
          },
          this.ctx,
        );
      } catch (err) {
        this.links.delete(raw);
        this.log.info({ clientId: this.client.id, filter: raw, reason: (err as Error).message }, 'subscription refused');
        return false;
      }
      if (this.closed) {
        link.consumer.close();
        return false;
      }
    }
    if (this.persistent && this.state.subscriptions.get(raw) !== qos) {
      this.state.subscriptions.set(raw, qos);
      await this.saveState();
    }
    return qos;
  }

  /** SUBACK is out for these filters: send retained messages, then what arrived meanwhile. */
  subscribed(filters: readonly string[]): void {
    for (const raw of filters) {
      const link = this.links.get(raw);
      if (!link) continue;
      if (link.filter.group === undefined) this.sendRetained(link);
      this.flush(link);
    }
  }

  async unsubscribe(filters: readonly string[]): Promise<void> {
    let changed = false;
    for (const raw of filters) {
      const link = this.links.get(raw);
      if (link) {
        this.links.delete(raw);
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
    const qos = Math.min(link.qos, messageQos(m)) as 0 | 1 | 2;
    if (qos === 0) {
      this.client.deliver0(toPublishPacket(m, 0, false, false), () => this.settle(consumer, d.tag));
      return;
    }
    if (qos === 2 && this.persistent) {
      this.chain(() => this.sendQoS2Persistent(consumer, d));
      return;
    }
    if (this.tail) {
      this.chain(async () => this.write(consumer, d, qos, this.allocate(), d.redelivered));
      return;
    }
    this.write(consumer, d, qos, this.allocate(), d.redelivered);
  }

  /** A QoS 2 send to a persistent session: its packet id is stored first, so a resend after a
   *  reconnect or restart reuses it and the device can recognise the duplicate. */
  private async sendQoS2Persistent(consumer: Consumer, d: Delivery): Promise<void> {
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
    this.write(consumer, d, 2, id, d.redelivered || known !== undefined);
  }

  private write(consumer: Consumer, d: Delivery, qos: 1 | 2, id: number, dup: boolean): void {
    if (consumer.closed || this.closed) return;
    this.inflight.set(id, { qos, consumer, tag: d.tag });
    this.client.deliverQoS(toPublishPacket(d.message, qos, false, dup, id), noop);
  }

  private sendRetained(link: Link): void {
    for (const m of this.broker.retainedFor(link.filter.pattern)) {
      if (link.filter.leadingWildcard && m.destination.name.startsWith('$')) continue;
      const qos = Math.min(link.qos, messageQos(m)) as 0 | 1 | 2;
      if (qos === 0) {
        this.client.deliver0(toPublishPacket(m, 0, true, false), noop);
      } else {
        const id = this.allocate();
        this.inflight.set(id, { qos, consumer: undefined, tag: 0 });
        this.client.deliverQoS(toPublishPacket(m, qos, true, false, id), noop);
      }
    }
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

  /** PUBACK (QoS 1) or PUBCOMP (QoS 2). */
  async acknowledged(id: number): Promise<void> {
    if (this.closed) return;
    const e = this.inflight.get(id);
    if (e) {
      this.inflight.delete(id);
      if (e.consumer) this.settle(e.consumer, e.tag);
    }
    if (this.persistent && this.state.outbound.delete(id)) await this.saveState();
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
   * A PUBLISH (or the will) into the core, finished before aedes sends PUBACK / PUBREC. A QoS 2
   * packet id already stored is a retransmission: it is not published again.
   */
  async publish(p: InboundPublish, messageId: number | undefined): Promise<void> {
    const input = toCoreMessage(p);
    if (p.qos === 2 && messageId !== undefined) {
      if (this.state.incoming.has(messageId)) return;
      if (this.state.incoming.size >= this.settings.maxInboundQoS2) {
        throw new MqttProtocolError(`${this.settings.maxInboundQoS2} QoS 2 messages are already waiting for PUBREL`, {
          clientId: this.client.id,
        });
      }
      this.state.incoming.add(messageId);
      try {
        await this.broker.publish(input, this.ctx, this.persistent ? { session: this.state.toRecord(Date.now()) } : {});
      } catch (err) {
        this.state.incoming.delete(messageId);
        throw err;
      }
    } else {
      await this.broker.publish(input, this.ctx);
    }
    if (p.retain) {
      const retained = p.payload.length === 0 ? null : createMessage({ ...input, persistent: true }, this.principal?.username, Date.now());
      await this.broker.retain(input.destination.name, retained);
    }
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

  /** The device left: its persistent session starts to age (when sessions expire at all). */
  async disconnected(expiryMs: number, now: number): Promise<void> {
    if (!this.persistent || expiryMs <= 0) return;
    await this.broker.putSession(this.state.toRecord(now, now + expiryMs));
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

function noop(): void {}
