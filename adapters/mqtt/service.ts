// The MQTT service: one aedes broker used as the MQTT 3.1/3.1.1 engine (CONNECT, keep-alive, the
// QoS handshakes, SUBACK, wills on abnormal close), with its hooks, persistence and emitter pointed
// at the core, and the host of the MQTT 5 engine's connections (v5/). Every client publish (and
// will) enters the core before PUBACK or PUBREC; aedes' own fan-out is switched off (the emitter
// drops everything) and deliveries come from core consumers (session.ts). Both engines share the
// client id registry, so either version takes a session over from the other. Wills are store
// records: those left by a broker that died are published when the next one starts.
import type { Duplex } from 'node:stream';
import { Aedes } from 'aedes';
import type { Logger } from 'pino';
import type { AdapterContext } from '../adapter.ts';
import type { IConnectPacket } from 'mqtt-packet';
import type { ConnectionInfo } from '../../src/net/connection.ts';
import { BatchedWriter } from '../../src/net/batched-writer.ts';
import { ConnectionLog } from '../../src/connection-log.ts';
import { uuid } from '../../src/shared/ids.ts';
import { ConnectRefusal } from './connect-refusal.ts';
import type { PublishProperties } from './mapping.ts';
import { corePersistence, type PersistenceHost, type WillPacket } from './persistence.ts';
import { SessionExpiry } from './session-expiry.ts';
import { AedesClientHandle, type AedesClient } from './aedes-client.ts';
import { MqttSession, type SessionSettings } from './session.ts';
import type { SessionState } from './session-state.ts';
import { acceptMqtt5, type Mqtt5Connection, type Mqtt5Host, type Mqtt5Limits } from './v5/index.ts';
import { Wills } from './wills.ts';

export interface MqttSettings extends SessionSettings {
  connectTimeoutMs: number;
  /** Unused persistent sessions are discarded this long after their device left; 0 = never. */
  sessionExpiryMs: number;
  /** The clock persistent sessions age by (Date.now unless a test drives it). */
  now?: () => number;
  /** What the MQTT 5 engine announces in CONNACK and enforces. */
  v5: Mqtt5Limits;
}

/** An emitter that accepts aedes' calls and routes nothing: the core does the routing. */
const nullEmitter = {
  concurrency: 100,
  current: 0,
  on(_topic: string, _fn: unknown, cb?: () => void) {
    cb?.();
  },
  removeListener(_topic: string, _fn: unknown, cb?: () => void) {
    cb?.();
  },
  emit(_packet: unknown, cb?: () => void) {
    cb?.();
  },
  close(cb?: () => void) {
    cb?.();
  },
};

function noop(): void {}

interface PublishLike {
  cmd?: string;
  topic: string;
  payload: Buffer | string;
  qos: 0 | 1 | 2;
  retain: boolean;
  messageId?: number;
  /** MQTT 5 (the will's properties, for a will). */
  properties?: PublishProperties;
}

export class MqttService implements PersistenceHost, Mqtt5Host {
  private aedes: Aedes | undefined;
  private readonly sessions = new WeakMap<object, MqttSession>();
  /** What the listener said about each connection: a refusal, and whom to tell the handshake is done. */
  private readonly handshakes = new WeakMap<object, ConnectionInfo>();
  private readonly byClientId = new Map<string, MqttSession>();
  /** Clients that sent an empty client id. */
  private readonly anonymousIds = new WeakSet<object>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly expiry: SessionExpiry;
  private readonly connections5 = new Set<Mqtt5Connection>();
  /** Session state still being written for a client id whose connection just ended. */
  private readonly leaving = new Map<string, Promise<unknown>>();
  private readonly wills: Wills;

  constructor(
    private readonly ctx: AdapterContext,
    private readonly settings: MqttSettings,
    private readonly log: Logger,
  ) {
    this.expiry = new SessionExpiry(ctx.broker, settings.sessionExpiryMs, (id) => this.byClientId.has(id), log, settings.now);
    this.wills = new Wills({
      broker: ctx.broker,
      log,
      brokerId: () => this.aedes?.id ?? '',
      live: (clientId) => this.byClientId.get(clientId),
      detachedSession: (clientId) =>
        new MqttSession(
          { id: clientId, clean: true, closed: true, will: null, deliver: noop, deliverTracked: noop, close: noop, end: noop },
          `will:${clientId}`,
          ctx.broker,
          settings,
          log,
        ),
      track: (p) => this.track(p),
    });
  }

  get limits(): Mqtt5Limits {
    return this.settings.v5;
  }

  async start(): Promise<void> {
    const aedes = await Aedes.createBroker({
      mq: nullEmitter,
      persistence: corePersistence(this),
      connectTimeout: this.settings.connectTimeoutMs,
      // The hooks return at once and call back when their core work is done.
      preConnect: (client, packet, cb) => {
        if (!packet.clientId) this.anonymousIds.add(client);
        cb(null, true);
      },
      authenticate: (client, username, password, cb) => {
        this.track(this.authenticate(client as unknown as AedesClient, username, password)).then(
          () => cb(null, true),
          (err: unknown) => cb(err as ConnectRefusal, false),
        );
      },
      authorizeSubscribe: (client, sub, cb) => {
        const session = this.sessionOf(client);
        if (!session) return cb(new Error('MQTT connection has no session'), null);
        this.track(session.subscribe(sub.topic, sub.qos)).then(
          (qos) => cb(null, qos === false ? null : { ...sub, qos }),
          (err: unknown) => cb(err as Error, null),
        );
      },
      authorizePublish: (client, packet, cb) => {
        let p: Promise<void> | undefined;
        try {
          p = this.authorizePublish(client, packet as unknown as PublishLike);
        } catch (err) {
          cb(err as Error);
          return;
        }
        if (!p) {
          cb(null);
          return;
        }
        // Wills are published as connections close, shutdown included: close() waits for them.
        (packet.cmd === 'publish' ? p : this.track(p)).then(
          () => cb(null),
          (err: unknown) => cb(err as Error),
        );
      },
    });
    aedes.on('clientReady', (client) => {
      const s = this.sessionOf(client);
      if (!s) return;
      s.connected();
      const info = this.handshakes.get(client);
      // Needed only until CONNACK: a fleet of idle devices keeps none.
      this.handshakes.delete(client);
      this.register(s, info);
    });
    aedes.on('subscribe', (subs, client) => {
      this.sessionOf(client)?.subscribed(subs.filter((s) => (s.qos as number) !== 128).map((s) => s.topic));
    });
    aedes.on('unsubscribe', (filters, client) => {
      const s = this.sessionOf(client);
      if (s) void this.track(s.unsubscribe(filters)).catch((err: unknown) => s.log.warn({ err }, 'unsubscribe failed'));
    });
    aedes.on('clientError', (client, err) => {
      this.sessionOf(client)?.log.info({ clientId: client.id, reason: err.message }, 'mqtt connection closed on error');
    });
    aedes.on('connectionError', (client, err) => {
      this.sessionOf(client)?.log.info({ reason: err.message }, 'mqtt connection closed before CONNECT completed');
    });
    aedes.on('keepaliveTimeout', (client) => {
      this.sessionOf(client)?.log.info({ clientId: client.id }, 'mqtt keep-alive expired (1.5 x the client keep-alive without a packet)');
    });
    this.aedes = aedes;
    await this.wills.publishOrphaned();
    this.expiry.start();
  }

  /** Lists a connection whose CONNACK is out, and tells the listener its handshake is done. */
  private register(s: MqttSession, info: ConnectionInfo | undefined): void {
    info?.established();
    const client = s.client;
    this.ctx.broker.connections.add({
      id: s.connectionId,
      protocol: 'mqtt',
      protocolVersion: client.version === 5 ? '5' : client.version === 3 ? '3.1' : '3.1.1',
      transport: info?.transport ?? 'tcp',
      remoteAddress: info ? `${info.remoteAddress}:${info.remotePort}` : '',
      clientId: client.id,
      user: s.principal?.username,
      principal: s.principal,
      // MQTT 5 hears DISCONNECT 0x98; 3.1.1 has no server-side goodbye: the connection just closes (the will is published).
      close: () => client.end('administrator', 'closed by an administrator'),
    });
    s.log.info(
      { clientId: client.id, clean: client.clean, version: client.version ?? 4, user: s.principal?.username },
      'mqtt client connected',
    );
  }

  /** Attaches an MQTT 5 connection (its CONNECT says level 5) to the MQTT 5 engine. */
  accept5(stream: Duplex, info: ConnectionInfo): void {
    const log = new ConnectionLog(this.log, info);
    this.connections5.add(acceptMqtt5(stream, info, this, log));
  }

  /** Attaches one connection (TCP, TLS, or a WebSocket stream) to aedes and the core. */
  accept(stream: Duplex, info: ConnectionInfo): void {
    if (!this.aedes) throw new Error('MQTT service is not started');
    const raw = this.aedes.handle(stream as Parameters<Aedes['handle']>[0], info.request) as unknown as AedesClient;
    const client = new AedesClientHandle(raw);
    const log = new ConnectionLog(this.log, info);
    const session = new MqttSession(client, uuid(), this.ctx.broker, this.settings, log);
    session.writer = new BatchedWriter(stream);
    // What aedes answers to one read (PUBACKs, SUBACKs) leaves in one write at the end of the turn.
    stream.prependListener('readable', () => session.writer?.hold());
    this.sessions.set(raw, session);
    this.handshakes.set(raw, info);
    stream.once('close', () => {
      const wasConnected = session.principal !== undefined;
      const owner = this.byClientId.get(client.id) === session;
      session.close();
      if (owner) {
        this.byClientId.delete(client.id);
        this.leave(
          client.id,
          session
            .disconnected(this.settings.sessionExpiryMs, (this.settings.now ?? Date.now)())
            .catch((err: unknown) =>
              log.warn({ err, clientId: client.id }, 'could not record the disconnect time of a persistent session'),
            ),
        );
      }
      if (wasConnected) log.info({ clientId: client.id }, 'mqtt client disconnected');
    });
  }

  /** MQTT 5 clients hear that the broker is going (0x8B) before their connections drop; 3.1.1 has no such packet. */
  async goodbye(): Promise<void> {
    const closed = [...this.connections5].map((c) => c.gone);
    for (const c of this.connections5) c.end('shutting-down', 'the broker is shutting down or stepping down');
    await Promise.race([Promise.all(closed), new Promise((r) => setTimeout(r, 1000).unref())]);
  }

  async close(): Promise<void> {
    const aedes = this.aedes;
    if (!aedes) return;
    await this.expiry.stop();
    this.wills.stop();
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    // Wills and acknowledgements in progress reach the core before it closes.
    await Promise.race([Promise.allSettled([...this.pending]), new Promise((r) => setTimeout(r, 5000).unref())]);
    this.aedes = undefined;
  }

  // ---- PersistenceHost -------------------------------------------------------------------

  sessionOf(client: unknown): MqttSession | undefined {
    return typeof client === 'object' && client !== null ? this.sessions.get(client) : undefined;
  }

  sessionById(clientId: string): MqttSession | undefined {
    return this.byClientId.get(clientId);
  }

  putWill(session: MqttSession, will: WillPacket, delaySeconds = 0): Promise<void> {
    return this.wills.put(session, will, delaySeconds);
  }

  getWill(clientId: string): Promise<WillPacket | undefined> {
    return this.wills.get(clientId);
  }

  delWill(clientId: string): Promise<void> {
    return this.wills.delete(clientId);
  }

  // ---- hooks -----------------------------------------------------------------------------

  private async authenticate(client: AedesClient, username: string | undefined, password: Buffer | undefined): Promise<void> {
    const session = this.sessionOf(client);
    if (!session) throw new ConnectRefusal('connection has no session', 'not-authorized');
    if (this.anonymousIds.has(client) && !client.clean) {
      throw new ConnectRefusal('a persistent session (clean session = 0) needs a client id', 'client-id');
    }
    await this.openSession(session, username, password, this.handshakes.get(client), (inherited) =>
      client.clean ? session.startClean() : session.resume(inherited),
    );
  }

  /**
   * CONNECT, for either engine: the listener's refusal, the credentials, the takeover of a session
   * another connection holds, and `load` (the session's state), where a failure can still be
   * answered with a CONNACK code. Throws ConnectRefusal.
   */
  private async openSession<T>(
    session: MqttSession,
    username: string | undefined,
    password: Buffer | undefined,
    info: ConnectionInfo | undefined,
    load: (inherited: SessionState | undefined) => Promise<T>,
  ): Promise<T> {
    const client = session.client;
    if (info?.refused !== undefined) throw new ConnectRefusal(info.refused, 'over-limit');
    try {
      session.principal = await this.ctx.security.authenticate(username || undefined, password?.toString('utf8'), {
        certified: info?.certified,
        from: info ? { protocol: 'mqtt', address: info.remoteAddress } : undefined,
      });
    } catch (err) {
      session.log.info({ clientId: client.id, user: username, reason: (err as Error).message }, 'mqtt connection refused');
      throw new ConnectRefusal((err as Error).message, username ? 'bad-credentials' : 'not-authorized');
    }
    // [MQTT-3.1.4-2] a second connection with the same client id takes the session over.
    const previous = this.byClientId.get(client.id);
    let inherited: SessionState | undefined;
    if (previous && previous !== session) {
      inherited = previous.state;
      previous.close();
      // aedes closes its own clients; a connection of the other engine is closed here.
      if (previous.client.version === 5 || client.version === 5)
        previous.client.end('session-taken-over', 'another connection took the session over');
      previous.log.info({ clientId: client.id }, 'mqtt session taken over by a new connection');
    }
    this.byClientId.set(client.id, session);
    this.expiry.cancel(client.id);
    try {
      // The same client's last connection may still be writing its session (its expiry, or its end).
      await this.leaving.get(client.id);
      // The client is back before its delayed will was due: that will is not published.
      await this.wills.cancelDelayed(client.id);
      return await load(inherited);
    } catch (err) {
      session.log.warn({ clientId: client.id, reason: (err as Error).message }, 'mqtt connection refused: session state unavailable');
      throw new ConnectRefusal(`session state unavailable: ${(err as Error).message}`, 'unavailable');
    }
  }

  // ---- the MQTT 5 engine's host ------------------------------------------------------------

  async open(conn: Mqtt5Connection, packet: IConnectPacket, expirySeconds: number): Promise<{ session: MqttSession; present: boolean }> {
    const session = new MqttSession(conn, uuid(), this.ctx.broker, this.settings, conn.log);
    this.sessions.set(conn, session);
    conn.session = session;
    const now = (this.settings.now ?? Date.now)();
    const present = await this.openSession(session, packet.username, packet.password, conn.info, (inherited) =>
      session.open5(packet.clean ?? true, expirySeconds, inherited, now),
    );
    try {
      await session.restoreSubscriptions();
      const will = packet.will;
      if (will) {
        const payload = typeof will.payload === 'string' ? Buffer.from(will.payload) : will.payload;
        await this.putWill(
          session,
          { topic: will.topic, payload, qos: will.qos ?? 0, retain: will.retain ?? false, properties: will.properties },
          conn.willDelay,
        );
      }
    } catch (err) {
      session.close();
      if (this.byClientId.get(conn.id) === session) this.byClientId.delete(conn.id);
      throw err;
    }
    if (conn.closing) {
      // Gone before CONNACK: the session is let go as at any end, and its will was never in force.
      this.release(conn, session);
      if (packet.will) await this.delWill(conn.id);
    }
    return { session, present };
  }

  opened(conn: Mqtt5Connection): void {
    if (conn.session) this.register(conn.session, conn.info);
  }

  oversized(conn: Mqtt5Connection, topic: string, bytes: number): void {
    conn.log.warn(
      { clientId: conn.id, topic, payloadBytes: bytes, clientMaximum: conn.peer.maximumPacketSize },
      'message dropped for this client: over the Maximum Packet Size it announced (MQTT 5 §3.1.2.11.4)',
    );
    this.ctx.broker.connections.droppedTooLarge('mqtt');
  }

  ended(conn: Mqtt5Connection): void {
    this.connections5.delete(conn);
    const session = conn.session;
    if (!session) return;
    this.release(conn, session);
    if (conn.open) conn.log.info({ clientId: conn.id, normal: conn.normalDisconnect }, 'mqtt client disconnected');
    if (conn.open) this.wills.ended5(conn, session);
  }

  /** The client said DISCONNECT: its session is let go now, before a reconnect can race the socket's close. */
  leaving5(conn: Mqtt5Connection): void {
    if (conn.session) this.release(conn, conn.session);
  }

  /** The session ends on this connection: consumers detach, and a persistent one records its expiry. */
  private release(conn: Mqtt5Connection, session: MqttSession): void {
    const owner = this.byClientId.get(conn.id) === session;
    session.close();
    if (owner) {
      this.byClientId.delete(conn.id);
      const now = (this.settings.now ?? Date.now)();
      this.leave(
        conn.id,
        session
          .disconnected(this.settings.sessionExpiryMs, now)
          .then(() => this.expiry.expireLater(conn.id, session.state, now))
          .catch((err: unknown) => conn.log.warn({ err, clientId: conn.id }, 'could not record the disconnect of a session')),
      );
    }
  }

  /** A PUBLISH or will into the core: undefined when it is in already, else a promise of it; a refusal throws or rejects. */
  private authorizePublish(client: object | null, packet: PublishLike): Promise<void> | undefined {
    const session = client ? this.sessionOf(client) : undefined;
    if (!client || !session) throw new Error('publish without a connection');
    const isWill = packet.cmd !== 'publish';
    let r: number | undefined | Promise<number | undefined>;
    try {
      if (packet.topic.startsWith('$')) throw new Error(`topics starting with $ are reserved: "${packet.topic}"`);
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      r = session.publishNow(
        { topic: packet.topic, payload, qos: packet.qos, retain: packet.retain, properties: packet.properties },
        isWill ? undefined : packet.messageId,
      );
    } catch (err) {
      return this.publishRefused(session, packet, isWill, err);
    }
    return r instanceof Promise ? r.then(noop, (err: unknown) => this.publishRefused(session, packet, isWill, err)) : undefined;
  }

  private publishRefused(session: MqttSession, packet: PublishLike, isWill: boolean, err: unknown): never {
    const clientId = session.client.id;
    if (isWill) this.wills.keep(clientId);
    session.log.warn(
      { clientId, topic: packet.topic, qos: packet.qos, will: isWill, reason: (err as Error).message },
      isWill ? 'will not published (kept for the next start)' : 'publish refused: closing the connection',
    );
    throw err;
  }

  /** Tracks what a departing connection still writes, so a reconnect of the same client id waits for it. */
  private leave(clientId: string, work: Promise<unknown>): void {
    const p = this.track(work);
    this.leaving.set(clientId, p);
    void p.finally(() => {
      if (this.leaving.get(clientId) === p) this.leaving.delete(clientId);
    });
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    const done = (): void => {
      this.pending.delete(p);
    };
    p.then(done, done);
    return p;
  }
}
