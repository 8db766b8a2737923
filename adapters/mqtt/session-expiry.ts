// Expiry of persistent sessions nobody uses. MQTT 3.1.1 sessions follow mqtt.sessionExpirySeconds
// (0 keeps them forever, as MQTT 3.1.1 and Mosquitto's default do); an MQTT 5 session follows the
// Session Expiry Interval its client asked for, kept in its record. A session starts to age when its
// device disconnects: a timer on this broker ends it on time, and a sweep discards those past
// their time whose device is not connected, with their durable subscriptions and queued messages.
// A session whose broker died never had its disconnect written: the first sweep that finds it
// unconnected starts its clock. A client that comes back finds an expired session gone either way
// (MqttSession.open5 checks the time). Time is read from an injected clock (Date.now in the
// broker), the one the disconnect time was written with.
import type { Logger } from 'pino';
import type { Broker } from '../../src/core/broker.ts';
import { MqttSession } from './session.ts';
import { NEVER_EXPIRES, SESSION_PREFIX, SessionState, recordExpirySeconds } from './session-state.ts';

/** How often the sweep runs when only MQTT 5 sessions can expire (timers end most of them; it runs once at start too). */
const SWEEP_MS = 3600_000;
/** Longer expiries than this are left to the sweep rather than a timer each. */
const TIMER_LIMIT_MS = 24 * 3600_000;

export class SessionExpiry {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly broker: Broker,
    private readonly expiryMs: number,
    private readonly isConnected: (clientId: string) => boolean,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    const every = this.expiryMs > 0 ? Math.min(60_000, Math.max(100, Math.floor(this.expiryMs / 4))) : SWEEP_MS;
    const run = (): void => {
      this.running ??= this.sweep()
        .catch((err: unknown) => this.log.warn({ err }, 'mqtt session expiry sweep failed; retrying on the next one'))
        .finally(() => (this.running = undefined));
    };
    this.timer = setInterval(run, every);
    this.timer.unref();
    if (this.expiryMs <= 0) run();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await this.running;
  }

  /** An MQTT 5 session left this broker: it ends when its interval has passed, unless its client is back. */
  expireLater(clientId: string, state: SessionState, now: number): void {
    const seconds = state.expirySeconds;
    if (!state.persistent || seconds === undefined || seconds === 0 || seconds === NEVER_EXPIRES) return;
    this.expireAt(clientId, now + seconds * 1000, now);
  }

  private expireAt(clientId: string, at: number, now: number): void {
    const ms = at - now;
    if (ms > TIMER_LIMIT_MS) return;
    this.cancel(clientId);
    const t = setTimeout(
      () => {
        this.timers.delete(clientId);
        this.expireOne(clientId, at).catch((err: unknown) =>
          this.log.warn({ err, clientId }, 'mqtt session expiry failed; the sweep retries'),
        );
      },
      Math.max(0, ms),
    );
    t.unref();
    this.timers.set(clientId, t);
  }

  /** The client connected again. */
  cancel(clientId: string): void {
    const t = this.timers.get(clientId);
    if (t) clearTimeout(t);
    this.timers.delete(clientId);
  }

  private async expireOne(clientId: string, due: number): Promise<void> {
    if (this.isConnected(clientId)) return;
    const rec = await this.broker.getSession(SESSION_PREFIX + clientId);
    if (!rec || rec.expiresAt === 0 || rec.expiresAt > Math.max(due, this.now())) return;
    const state = SessionState.fromRecord(clientId, rec);
    await MqttSession.discard(this.broker, clientId, state);
    this.log.info({ clientId, subscriptions: state.subscriptions.size, idleSince: rec.updatedAt }, 'mqtt session expired');
  }

  /** One pass over the stored sessions (the timer runs it; tests call it after moving their clock). */
  async sweep(): Promise<void> {
    const now = this.now();
    for (const rec of await this.broker.listSessions(SESSION_PREFIX)) {
      const clientId = rec.id.slice(SESSION_PREFIX.length);
      if (this.isConnected(clientId)) continue;
      const own = recordExpirySeconds(rec);
      if (own === NEVER_EXPIRES) continue;
      const ms = own !== undefined ? own * 1000 : this.expiryMs;
      if (own === undefined && ms <= 0) continue;
      const state = SessionState.fromRecord(clientId, rec);
      if (rec.expiresAt === 0 && ms > 0) {
        await this.broker.putSession(state.toRecord(now, now + ms));
        if (own !== undefined) this.expireAt(clientId, now + ms, now);
      } else if (rec.expiresAt > now) {
        if (own !== undefined) this.expireAt(clientId, rec.expiresAt, now);
      } else {
        await MqttSession.discard(this.broker, clientId, state);
        this.log.info({ clientId, subscriptions: state.subscriptions.size, idleSince: rec.updatedAt }, 'mqtt persistent session expired');
      }
    }
  }
}
