// The role of one broker process. It starts as a standby and checks the lease every `checkMs`;
// holding it, it becomes active (`activate` rebuilds the working state and opens the listeners) and
// renews it every `renewMs`. When a renewal says the lease is gone, when its own monotonic clock
// says the lease may have lapsed (no renewal got through in time), or when a store write is fenced,
// it fences itself: `deactivate('fenced')` closes listeners and connections at once and drops the
// working state, and it is a standby again. It never exits on its own; `stop` hands the lease over.
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Lease, LeaseHolder } from '../store/lease.ts';

export type Role = 'standby' | 'active';
export type Deactivation = 'graceful' | 'fenced';

export interface HaTimings {
  /** How long a lease lasts unless renewed. */
  leaseMs: number;
  renewMs: number;
  /** How often a standby checks whether it can take the lease. */
  checkMs: number;
}

export interface RoleKeeperOptions extends HaTimings {
  lease: Lease;
  log: Logger;
  /**
   * Builds the active broker for `epoch` and opens its listeners; a rejection returns to standby.
   * `highestSeen` is the highest epoch this process saw before (its own or a holder's; 0 for none).
   */
  activate(epoch: number, highestSeen: number): Promise<void>;
  /** Closes what `activate` opened (at once when fenced, after pending writes when graceful). */
  deactivate(how: Deactivation): Promise<void>;
}

type State = 'standby' | 'activating' | 'active' | 'fencing' | 'stopped';

export class RoleKeeper {
  /** The epoch of the last activation (0 before any). */
  epoch = 0;
  /** Wall-clock ms when the current role began. */
  since = Date.now();
  /** The lease's holder as this standby last saw it. */
  holder: LeaseHolder | undefined;
  /** The highest epoch seen so far, this broker's own or a holder's (epochs only grow while the data lasts). */
  private highestEpoch = 0;
  /** False while the lease cannot be checked or renewed. */
  lockReachable = true;
  private state: State = 'standby';
  /** Monotonic ms until which the lease is surely ours. */
  private validUntil = 0;
  private checkTimer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private lapseTimer: NodeJS.Timeout | undefined;
  private renewing = false;
  /** Activations and deactivations, one after the other. */
  private transition: Promise<void> = Promise.resolve();
  private readonly margin: number;

  constructor(private readonly opts: RoleKeeperOptions) {
    this.margin = Math.min(500, opts.leaseMs / 10);
  }

  get role(): Role {
    return this.state === 'active' ? 'active' : 'standby';
  }

  /** True while this broker may write: it holds the lease and its clock says the lease still runs. */
  leaseHeld(): boolean {
    return (this.state === 'activating' || this.state === 'active') && performance.now() < this.validUntil;
  }

  /** Resolves once the first decision is made: active, or standby beside a live holder. */
  private decided: () => void = () => {};
  private readonly firstDecision = new Promise<void>((resolve) => (this.decided = resolve));

  /**
   * Checks the lease (becoming active when it is free) and keeps checking as a standby; resolves
   * once the role is decided. A holder that looks gone gets its second check first, so a broker
   * restarting after its own crash comes up active rather than standby.
   */
  async start(): Promise<void> {
    void this.check();
    await this.firstDecision;
  }

  private scheduleCheck(): void {
    if (this.state !== 'standby' || this.checkTimer) return;
    this.checkTimer = setTimeout(() => {
      this.checkTimer = undefined;
      void this.check();
    }, this.opts.checkMs);
  }

  private async check(): Promise<void> {
    if (this.state !== 'standby') return;
    const t0 = performance.now();
    try {
      const got = await this.opts.lease.acquire();
      this.reachable(true);
      if (got.epoch !== undefined && this.state === 'standby') {
        await this.activate(got.epoch, t0);
        this.decided();
        return;
      }
      if (got.epoch !== undefined) await this.opts.lease.release();
      this.holder = got.holder;
      if (got.holder) this.highestEpoch = Math.max(this.highestEpoch, got.holder.epoch);
      if (!got.suspect) this.decided();
    } catch (err) {
      this.reachable(false, err);
      this.decided();
    } finally {
      this.scheduleCheck();
    }
  }

  private reachable(yes: boolean, err?: unknown): void {
    if (yes && !this.lockReachable) this.opts.log.info({ lease: this.opts.lease.description }, 'lease lock reachable again');
    if (!yes && this.lockReachable) this.opts.log.warn({ err, lease: this.opts.lease.description }, 'lease lock unreachable');
    this.lockReachable = yes;
  }

  private activate(epoch: number, t0: number): Promise<void> {
    this.state = 'activating';
    const highestSeen = this.highestEpoch;
    this.highestEpoch = Math.max(this.highestEpoch, epoch);
    this.epoch = epoch;
    this.holder = undefined;
    this.validUntil = t0 + this.opts.leaseMs - this.margin;
    this.armLapse();
    this.renewTimer = setInterval(() => void this.renew(), this.opts.renewMs);
    this.opts.log.info({ epoch }, 'lease taken: becoming active');
    this.transition = this.transition.then(async () => {
      try {
        if (this.opts.lease.replicated && !(await this.opts.lease.replicated())) {
          throw new Error('the lease did not reach the replicas store.redis.minReplicasToAck asks for');
        }
        await this.opts.activate(epoch, highestSeen);
      } catch (err) {
        this.opts.log.error({ err, epoch }, 'could not become active');
        this.fence('activation failed');
        return;
      }
      if (this.state !== 'activating') return;
      this.state = 'active';
      this.since = Date.now();
    });
    return this.transition;
  }

  private armLapse(): void {
    if (this.lapseTimer) clearTimeout(this.lapseTimer);
    this.lapseTimer = setTimeout(
      () => this.fence(`no lease renewal got through for ${this.opts.leaseMs - this.margin} ms: the lease may have lapsed`),
      Math.max(0, this.validUntil - performance.now()),
    );
  }

  private async renew(): Promise<void> {
    if (this.renewing || (this.state !== 'activating' && this.state !== 'active')) return;
    // A process stopped past its lease (SIGSTOP) fences itself before asking Redis anything.
    if (performance.now() >= this.validUntil) {
      this.fence('the lease lapsed while this process was not running');
      return;
    }
    this.renewing = true;
    const t0 = performance.now();
    try {
      const ours = await this.opts.lease.renew();
      this.reachable(true);
      if (this.state !== 'activating' && this.state !== 'active') return;
      if (!ours) {
        this.fence('the lease is no longer ours: another broker took it over');
        return;
      }
      this.validUntil = t0 + this.opts.leaseMs - this.margin;
      this.armLapse();
    } catch (err) {
      this.reachable(false, err);
    } finally {
      this.renewing = false;
    }
  }

  /** Steps down at once (idempotent): listeners and connections closed, back to standby. */
  fence(reason: string, err?: unknown): void {
    if (this.state !== 'activating' && this.state !== 'active') return;
    this.state = 'fencing';
    this.validUntil = 0;
    this.clearActiveTimers();
    this.opts.log.error({ epoch: this.epoch, reason, err }, 'fencing: closing every listener and connection, returning to standby');
    this.transition = this.transition.then(async () => {
      await this.opts.deactivate('fenced').catch((e: unknown) => this.opts.log.error({ err: e }, 'fencing did not close cleanly'));
      await this.opts.lease.release().catch(() => {});
      if (this.state !== 'fencing') return;
      this.state = 'standby';
      this.since = Date.now();
      this.opts.log.info({ epoch: this.epoch }, 'standby: waiting for the lease');
      this.scheduleCheck();
    });
  }

  private clearActiveTimers(): void {
    if (this.renewTimer) clearInterval(this.renewTimer);
    if (this.lapseTimer) clearTimeout(this.lapseTimer);
    this.renewTimer = this.lapseTimer = undefined;
  }

  /** Stops serving (gracefully, pending writes first), gives the lease up for a standby to take, closes the lock. */
  async stop(): Promise<void> {
    this.decided();
    const was = this.state;
    this.state = 'stopped';
    if (this.checkTimer) clearTimeout(this.checkTimer);
    this.checkTimer = undefined;
    await this.transition;
    if (was === 'activating' || was === 'active') {
      // Renewals go on while pending writes finish, so the lease cannot lapse under them.
      this.state = 'active';
      await this.opts.deactivate('graceful');
      this.state = 'stopped';
      this.clearActiveTimers();
      await this.opts.lease.release().catch(() => {});
    } else {
      this.clearActiveTimers();
    }
    await this.opts.lease.close();
  }
}
