// MQTT wills as store records (`mqtt-will:<client id>`), for both engines. A will is written
// before CONNACK; it is deleted after DISCONNECT (MQTT 5: reason 0x00), published when the
// connection ends any other way, and published by the next broker when the one holding its
// connection died. MQTT 5's Will Delay Interval (§3.1.3.2.2) holds a will back: a client that
// connects again in time cancels it. The record stays until the will is published, so a broker that
// stops with wills waiting leaves them to the next, which waits the delay again from its start.
import type { Logger } from 'pino';
import type { Broker } from '../../src/core/broker.ts';
import type { PublishProperties } from './mapping.ts';
import type { WillPacket } from './persistence.ts';
import type { MqttSession } from './session.ts';
import { WILL_PREFIX, willRecord, type StoredWill } from './session-state.ts';
import type { LineLogger } from '../../src/connection-log.ts';

/** What the wills need of an MQTT 5 connection that ended. */
export interface EndedConnection {
  readonly id: string;
  readonly will:
    { topic: string; payload: Buffer | string; qos?: 0 | 1 | 2; retain?: boolean; properties?: PublishProperties } | null | undefined;
  readonly log: LineLogger;
  /** DISCONNECT with 0x00 came: the will is discarded. */
  readonly normalDisconnect: boolean;
  /** Seconds the will waits after an abnormal end. */
  readonly willDelay: number;
}

export interface WillsHost {
  readonly broker: Broker;
  readonly log: Logger;
  /** The engine's broker id, kept with each will. */
  brokerId(): string;
  /** The session of the connection now holding `clientId`, if any. */
  live(clientId: string): MqttSession | undefined;
  /** A session without a connection, to publish the will of a client that is gone. */
  detachedSession(clientId: string): MqttSession;
  /** Work the service waits for when it closes. */
  track<T>(p: Promise<T>): Promise<T>;
}

export class Wills {
  /** Clients whose will could not be published: its record stays for the next start. */
  private readonly kept = new Set<string>();
  private readonly delayed = new Map<string, NodeJS.Timeout>();

  constructor(private readonly host: WillsHost) {}

  async put(session: MqttSession, will: WillPacket, delaySeconds = 0): Promise<void> {
    const stored: StoredWill = {
      topic: will.topic,
      payload: Buffer.from(will.payload).toString('base64'),
      qos: will.qos,
      retain: will.retain,
      brokerId: this.host.brokerId(),
    };
    if (will.properties) stored.properties = storedProperties(will.properties);
    if (delaySeconds > 0) stored.delaySeconds = delaySeconds;
    if (session.principal) stored.username = session.principal.username;
    await this.host.broker.putSession(willRecord(session.client.id, stored, Date.now()));
  }

  async get(clientId: string): Promise<WillPacket | undefined> {
    const rec = await this.host.broker.getSession(WILL_PREFIX + clientId);
    return rec ? fromStoredWill(rec.data as unknown as StoredWill) : undefined;
  }

  async delete(clientId: string): Promise<void> {
    if (this.kept.delete(clientId)) return;
    // A connection that took over this client id has stored its own will by now; keep it.
    const live = this.host.live(clientId);
    if (live && !live.client.closed && live.client.will) return;
    await this.host.broker.deleteSession(WILL_PREFIX + clientId);
  }

  /** A will whose publish failed: its record is not deleted, and the next start publishes it. */
  keep(clientId: string): void {
    this.kept.add(clientId);
  }

  /** The client connected again: a will still waiting out its delay is not published. */
  async cancelDelayed(clientId: string): Promise<void> {
    const t = this.delayed.get(clientId);
    if (!t) return;
    clearTimeout(t);
    this.delayed.delete(clientId);
    await this.host.broker.deleteSession(WILL_PREFIX + clientId);
  }

  /** An MQTT 5 connection ended: its will is discarded (DISCONNECT 0x00), published, or delayed. */
  ended5(conn: EndedConnection, session: MqttSession): void {
    const will = conn.will;
    if (!will) return;
    const log = conn.log;
    const back = this.host.live(conn.id);
    // DISCONNECT 0x00, or a delayed will whose client is already back (it took the session over).
    if (conn.normalDisconnect || (conn.willDelay > 0 && back !== undefined && back !== session)) {
      void this.host.track(this.delete(conn.id)).catch((err: unknown) => log.warn({ err, clientId: conn.id }, 'could not delete a will'));
      return;
    }
    const payload = typeof will.payload === 'string' ? Buffer.from(will.payload) : will.payload;
    const packet: WillPacket = {
      topic: will.topic,
      payload,
      qos: will.qos ?? 0,
      retain: will.retain ?? false,
      properties: will.properties,
    };
    const publish = async (): Promise<void> => {
      try {
        await session.publish(packet, undefined);
      } catch (err) {
        this.keep(conn.id);
        throw err;
      }
      await this.delete(conn.id);
      log.info({ clientId: conn.id, topic: will.topic }, 'mqtt will published');
    };
    if (conn.willDelay > 0) this.schedule(conn.id, conn.willDelay, publish);
    else
      void this.host
        .track(publish())
        .catch((err: unknown) => log.warn({ err, clientId: conn.id }, 'will not published (kept for the next start)'));
  }

  /** Wills stored by a broker that is gone: their connections ended without DISCONNECT. */
  async publishOrphaned(): Promise<void> {
    const broker = this.host.broker;
    for (const rec of await broker.listSessions(WILL_PREFIX)) {
      const clientId = rec.id.slice(WILL_PREFIX.length);
      const will = rec.data as unknown as StoredWill;
      const publish = async (): Promise<void> => {
        await this.host.detachedSession(clientId).publish(fromStoredWill(will), undefined);
        await broker.deleteSession(rec.id);
        this.host.log.info({ clientId, topic: will.topic }, 'published the will of a client whose broker stopped');
      };
      if ((will.delaySeconds ?? 0) > 0) {
        this.schedule(clientId, will.delaySeconds ?? 0, publish);
        continue;
      }
      try {
        await publish();
      } catch (err) {
        this.host.log.warn({ err, clientId, topic: will.topic }, 'could not publish a stored will; keeping it');
      }
    }
  }

  /** Shutdown: delayed wills stay in the store for the next broker. */
  stop(): void {
    for (const t of this.delayed.values()) clearTimeout(t);
    this.delayed.clear();
  }

  private schedule(clientId: string, delaySeconds: number, publish: () => Promise<void>): void {
    clearTimeout(this.delayed.get(clientId));
    const t = setTimeout(
      () => {
        this.delayed.delete(clientId);
        // Connected again meanwhile (cancelDelayed missed it): that connection's will is the one in force.
        if (this.host.live(clientId)) return;
        this.host
          .track(publish())
          .catch((err: unknown) =>
            this.host.log.warn({ err, clientId }, 'could not publish a delayed will; keeping it for the next start'),
          );
      },
      Math.min(delaySeconds * 1000, 2 ** 31 - 1),
    );
    t.unref();
    this.delayed.set(clientId, t);
    this.host.log.info({ clientId, delaySeconds }, 'mqtt will delayed');
  }
}

function fromStoredWill(w: StoredWill): WillPacket {
  const will: WillPacket = { topic: w.topic, payload: Buffer.from(w.payload, 'base64'), qos: w.qos, retain: w.retain };
  if (w.properties) {
    const { correlationData, ...rest } = w.properties as PublishProperties & { correlationData?: string };
    will.properties = { ...rest, ...(correlationData !== undefined ? { correlationData: Buffer.from(correlationData, 'base64') } : {}) };
  }
  return will;
}

/** Will properties as JSON can hold them: correlation data (bytes) as base64. */
function storedProperties(p: PublishProperties): Record<string, unknown> {
  const { correlationData, ...rest } = p;
  return { ...rest, ...(correlationData !== undefined ? { correlationData: Buffer.from(correlationData).toString('base64') } : {}) };
}
