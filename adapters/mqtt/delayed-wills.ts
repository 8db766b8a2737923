// MQTT 5 Will Delay Interval (§3.1.3.2.2): a will waits this long after its connection ended
// abnormally, and is not published if the client connects again meanwhile. The will's store
// record stays until it is published, so a broker that stops with wills waiting leaves them to the
// next one, which waits the delay again before publishing (the client gets its time to come back).
import type { Logger } from 'pino';

export class DelayedWills {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly log: Logger) {}

  /** Runs `publish` after `delaySeconds` unless `cancel(clientId)` comes first. */
  schedule(clientId: string, delaySeconds: number, publish: () => Promise<void>): void {
    this.cancel(clientId);
    const t = setTimeout(
      () => {
        this.timers.delete(clientId);
        publish().catch((err: unknown) =>
          this.log.warn({ err, clientId }, 'could not publish a delayed will; keeping it for the next start'),
        );
      },
      Math.min(delaySeconds * 1000, 2 ** 31 - 1),
    );
    t.unref();
    this.timers.set(clientId, t);
    this.log.info({ clientId, delaySeconds }, 'mqtt will delayed');
  }

  /** The client is back: its waiting will is not published. True when one was waiting. */
  cancel(clientId: string): boolean {
    const t = this.timers.get(clientId);
    if (!t) return false;
    clearTimeout(t);
    this.timers.delete(clientId);
    return true;
  }

  /** Shutdown: the wills stay in the store for the next broker. */
  stop(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
