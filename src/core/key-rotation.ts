// `junction keys rotate` on the active broker: one background pass at a time that seals every
// stored value anew with the keyring's first key while clients keep working, with its progress for
// the admin API. A failover ends it with this broker; running it again on the new active broker
// picks up what is left (values already sealed with the active key are passed over).
import type { Logger } from 'pino';
import { ConfigError } from '../shared/errors.ts';
import type { ResealProgress, ResealReport, Store } from '../store/store.ts';

export interface RotationStatus {
  state: 'idle' | 'running' | 'done' | 'failed';
  startedAt?: number;
  finishedAt?: number;
  progress?: ResealProgress;
  /** What the finished pass found: values still needing an older key, keys retired. */
  report?: ResealReport;
  error?: string;
}

export class KeyRotation {
  private status: RotationStatus = { state: 'idle' };

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  get current(): RotationStatus {
    return structuredClone(this.status);
  }

  /** Starts a pass unless one runs; answers at once with where it stands. */
  start(): RotationStatus {
    const reseal = this.store.reseal?.bind(this.store);
    if (!reseal) throw new ConfigError(`The ${this.store.kind} store keeps nothing at rest: there is nothing to rotate`);
    if (this.status.state === 'running') return this.current;
    this.status = { state: 'running', startedAt: Date.now() };
    this.log.info('key rotation started: sealing every stored value with the active key');
    reseal((p) => {
      this.status.progress = p;
    }).then(
      (report) => {
        this.status = { ...this.status, state: 'done', finishedAt: Date.now(), progress: report, report };
        this.log.info(
          { ...report },
          report.remaining === 0 ? 'key rotation done' : 'key rotation done, but values still need an older key',
        );
      },
      (err: unknown) => {
        this.status = { ...this.status, state: 'failed', finishedAt: Date.now(), error: (err as Error).message };
        this.log.error({ err }, 'key rotation failed: run it again once the broker is active and its store reachable');
      },
    );
    return this.current;
  }
}
