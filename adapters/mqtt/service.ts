// The MQTT service: one aedes broker used as the protocol engine (CONNECT, keep-alive, the QoS
// handshakes, SUBACK, wills on abnormal close), with its hooks, persistence and emitter pointed at
// the core. Every client publish (and will) enters the core in authorizePublish, before aedes
// sends PUBACK or PUBREC; aedes' own fan-out is switched off (the emitter drops everything) and
// deliveries come from core consumers (session.ts). Wills are store records: those left by a
// broker that died are published when the next one starts.
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { Aedes } from 'aedes';
import type { Logger } from 'pino';
import type { AdapterContext } from '../adapter.ts';
import type { ConnectionInfo } from '../../src/net/connection.ts';
import { corePersistence, type PersistenceHost, type WillPacket } from './persistence.ts';
import { SessionExpiry } from './session-expiry.ts';
import { MqttSession, type AedesClient, type SessionSettings } from './session.ts';
import { WILL_PREFIX, willRecord, type SessionState, type StoredWill } from './session-state.ts';

export interface MqttSettings extends SessionSettings {
  connectTimeoutMs: number;
  /** Unused persistent sessions are discarded this long after their device left; 0 = never. */
  sessionExpiryMs: number;
  /** The clock persistent sessions age by (Date.now unless a test drives it). */
  now?: () => number;
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

interface PublishLike {
  cmd?: string;
  topic: string;
  payload: Buffer | string;
  qos: 0 | 1 | 2;
  retain: boolean;
  messageId?: number;
}

class ConnackError extends Error {
  constructor(
    message: string,
    readonly returnCode: 2 | 3 | 4 | 5,
  ) {
    super(message);
  }
}

export class MqttService implements PersistenceHost {
  private aedes: Aedes | undefined;
  private readonly sessions = new WeakMap<object, MqttSession>();
  /** What the listener said about each connection: a refusal, and whom to tell the handshake is done. */
  private readonly handshakes = new WeakMap<object, ConnectionInfo>();
  private readonly byClientId = new Map<string, MqttSession>();
  /** Clients whose will could not be published: their will record stays for the next start. */
  private readonly keepWills = new Set<string>();
  /** Clients that sent an empty client id. */
  private readonly anonymousIds = new WeakSet<object>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly expiry: SessionExpiry;

  constructor(
    private readonly ctx: AdapterContext,
    private readonly settings: MqttSettings,
    private readonly log: Logger,
  ) {
    this.expiry = new SessionExpiry(ctx.broker, settings.sessionExpiryMs, (id) => this.byClientId.has(id), log, settings.now);
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
          (err: unknown) => cb(err as ConnackError, false),
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
        const p = this.authorizePublish(client as unknown as AedesClient | null, packet as unknown as PublishLike);
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
      const info = this.handshakes.get(client as unknown as AedesClient);
      info?.established();
      this.ctx.broker.connections.add({
        id: s.connectionId,
        protocol: 'mqtt',
        transport: info?.transport ?? 'tcp',
        remoteAddress: info ? `${info.remoteAddress}:${info.remotePort}` : '',
        clientId: client.id,
        user: s.principal?.username,
        // MQTT 3.1.1 has no server-side goodbye: the connection just closes (the will is published).
        close: () => s.client.close(),
      });
      s.log.info({ clientId: client.id, clean: client.clean, user: s.principal?.username }, 'mqtt client connected');
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
    await this.publishOrphanedWills();
    this.expiry.start();
  }

  /** Attaches one connection (TCP, TLS, or a WebSocket stream) to aedes and the core. */
  accept(stream: Duplex, info: ConnectionInfo): void {
    if (!this.aedes) throw new Error('MQTT service is not started');
    const client = this.aedes.handle(stream as Parameters<Aedes['handle']>[0], info.request) as unknown as AedesClient;
    const log = this.log.child({ remote: `${info.remoteAddress}:${info.remotePort}`, transport: info.transport });
    const session = new MqttSession(client, randomUUID(), this.ctx.broker, this.settings, log);
    this.sessions.set(client, session);
    this.handshakes.set(client, info);
    stream.once('close', () => {
      const wasConnected = session.principal !== undefined;
      const owner = this.byClientId.get(client.id) === session;
      session.close();
      if (owner) {
        this.byClientId.delete(client.id);
        void this.track(session.disconnected(this.settings.sessionExpiryMs, (this.settings.now ?? Date.now)())).catch((err: unknown) =>
          log.warn({ err, clientId: client.id }, 'could not record the disconnect time of a persistent session'),
        );
      }
      if (wasConnected) log.info({ clientId: client.id }, 'mqtt client disconnected');
    });
  }

  async close(): Promise<void> {
    const aedes = this.aedes;
    if (!aedes) return;
    await this.expiry.stop();
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

  async putWill(session: MqttSession, will: WillPacket): Promise<void> {
    const stored: StoredWill = {
      topic: will.topic,
      payload: Buffer.from(will.payload).toString('base64'),
      qos: will.qos,
      retain: will.retain,
      brokerId: this.aedes?.id ?? '',
    };
    if (session.principal) stored.username = session.principal.username;
    await this.ctx.broker.putSession(willRecord(session.client.id, stored, Date.now()));
  }

  async getWill(clientId: string): Promise<WillPacket | undefined> {
    const rec = await this.ctx.broker.getSession(WILL_PREFIX + clientId);
    return rec ? fromStoredWill(rec.data as unknown as StoredWill) : undefined;
  }

  async delWill(clientId: string): Promise<void> {
    if (this.keepWills.delete(clientId)) return;
    // A connection that took over this client id has stored its own will by now; keep it.
    const live = this.byClientId.get(clientId);
    if (live && !live.client.closed && live.client.will) return;
    await this.ctx.broker.deleteSession(WILL_PREFIX + clientId);
  }

  // ---- hooks -----------------------------------------------------------------------------

  private async authenticate(client: AedesClient, username: string | undefined, password: Buffer | undefined): Promise<void> {
    const session = this.sessionOf(client);
    if (!session) throw new ConnackError('connection has no session', 5);
    const refused = this.handshakes.get(client)?.refused;
    if (refused !== undefined) throw new ConnackError(refused, 3); // 3: server unavailable
    if (this.anonymousIds.has(client) && !client.clean) {
      throw new ConnackError('a persistent session (clean session = 0) needs a client id', 2);
    }
    try {
      session.principal = await this.ctx.security.authenticate(username || undefined, password?.toString('utf8'));
    } catch (err) {
      session.log.info({ clientId: client.id, user: username, reason: (err as Error).message }, 'mqtt connection refused');
      throw new ConnackError((err as Error).message, username ? 4 : 5);
    }
    // [MQTT-3.1.4-2] a second connection with the same client id takes the session over.
    const previous = this.byClientId.get(client.id);
    let inherited: SessionState | undefined;
    if (previous && previous !== session) {
      inherited = previous.state;
      previous.close();
      previous.log.info({ clientId: client.id }, 'mqtt session taken over by a new connection');
    }
    this.byClientId.set(client.id, session);
    // The session is loaded here, where a failure can still be answered with a CONNACK code.
    try {
      if (client.clean) await session.startClean();
      else await session.resume(inherited);
    } catch (err) {
      session.log.warn({ clientId: client.id, reason: (err as Error).message }, 'mqtt connection refused: session state unavailable');
      throw new ConnackError(`session state unavailable: ${(err as Error).message}`, 3);
    }
  }

  private async authorizePublish(client: AedesClient | null, packet: PublishLike): Promise<void> {
    const session = client ? this.sessionOf(client) : undefined;
    if (!client || !session) throw new Error('publish without a connection');
    const isWill = packet.cmd !== 'publish';
    try {
      if (packet.topic.startsWith('$')) throw new Error(`topics starting with $ are reserved: "${packet.topic}"`);
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      await session.publish(
        { topic: packet.topic, payload, qos: packet.qos, retain: packet.retain },
        isWill ? undefined : packet.messageId,
      );
    } catch (err) {
      if (isWill) this.keepWills.add(client.id);
      session.log.warn(
        { clientId: client.id, topic: packet.topic, qos: packet.qos, will: isWill, reason: (err as Error).message },
        isWill ? 'will not published (kept for the next start)' : 'publish refused: closing the connection',
      );
      throw err;
    }
  }

  /** Wills stored by a broker that is gone: their connections ended without DISCONNECT. */
  private async publishOrphanedWills(): Promise<void> {
    const broker = this.ctx.broker;
    const records = await broker.listSessions(WILL_PREFIX);
    for (const rec of records) {
      const clientId = rec.id.slice(WILL_PREFIX.length);
      const will = rec.data as unknown as StoredWill;
      try {
        const session = new MqttSession(
          { id: clientId, clean: true, closed: true, will: null, deliver0: () => {}, deliverQoS: () => {}, close: () => {} },
          `will:${clientId}`,
          broker,
          this.settings,
          this.log,
        );
        await session.publish(fromStoredWill(will), undefined);
        await broker.deleteSession(rec.id);
        this.log.info({ clientId, topic: will.topic }, 'published the will of a client whose broker stopped');
      } catch (err) {
        this.log.warn({ err, clientId, topic: will.topic }, 'could not publish a stored will; keeping it');
      }
    }
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

function fromStoredWill(w: StoredWill): WillPacket {
  return { topic: w.topic, payload: Buffer.from(w.payload, 'base64'), qos: w.qos, retain: w.retain };
}
