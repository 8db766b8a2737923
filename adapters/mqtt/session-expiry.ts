// Expiry of abandoned persistent sessions (mqtt.sessionExpirySeconds; 0 keeps them forever, as
// MQTT 3.1.1 and Mosquitto's default do). A session starts to age when its device disconnects; a
// sweep discards those past their time whose device is not connected, with their durable
// subscriptions and queued messages. A session whose broker died never had its disconnect
// written: the first sweep that finds it unconnected starts its clock. Time is read from an
// injected clock (Date.now in the broker), the one the disconnect time was written with.
import type { Logger } from 'pino';
import type { Broker } from '../../src/core/broker.ts';
import { MqttSession } from './session.ts';
import { SESSION_PREFIX, SessionState } from './session-state.ts';

export class SessionExpiry {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly broker: Broker,
    private readonly expiryMs: number,
    private readonly isConnected: (clientId: string) => boolean,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    if (this.expiryMs <= 0) return;
    const every = Math.min(60_000, Math.max(100, Math.floor(this.expiryMs / 4)));
    this.timer = setInterval(() => {
      this.running ??= this.sweep()
        .catch((err: unknown) => this.log.warn({ err }, 'mqtt session expiry sweep failed; retrying on the next one'))
        .finally(() => (this.running = undefined));
    }, every);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass over the stored sessions (the timer runs it; tests call it after moving their clock). */
  async sweep(): Promise<void> {
    const now = this.now();
    for (const rec of await this.broker.listSessions(SESSION_PREFIX)) {
      const clientId = rec.id.slice(SESSION_PREFIX.length);
      if (this.isConnected(clientId)) continue;
      const state = SessionState.fromRecord(clientId, rec);
      if (rec.expiresAt === 0) {
        await this.broker.putSession(state.toRecord(now, now + this.expiryMs));
      } else if (rec.expiresAt <= now) {
        await MqttSession.discard(this.broker, clientId, state);
        this.log.info({ clientId, subscriptions: state.subscriptions.size, idleSince: rec.updatedAt }, 'mqtt persistent session expired');
      }
    }
  }
}
