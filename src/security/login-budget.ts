// A failure budget per client address, against password guessing on any protocol: within a
// window, an address may fail to log in `budget` times; past that, each further attempt from it
// is answered only after a delay that grows with the failures (capped), whatever its outcome.
// A whole fleet behind one NAT address is slowed, never locked out.

export interface LoginBudgetSettings {
  /** Failures an address may have within the window before its attempts are held back; 0 = no budget. */
  readonly failures: number;
  readonly windowMs: number;
  /** The hold added per failure past the budget, and its ceiling. */
  readonly stepMs: number;
  readonly maxDelayMs: number;
}

/** Addresses remembered at most: the oldest window is forgotten first (a flood of addresses stays bounded). */
const MAX_ADDRESSES = 100_000;

export class LoginBudget {
  private readonly failuresByAddress = new Map<string, { since: number; count: number }>();

  constructor(
    private readonly s: LoginBudgetSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /** How long to hold an attempt from `address` before answering it (0: at once). */
  delayFor(address: string): number {
    const f = this.current(address);
    if (!f || this.s.failures === 0 || f.count < this.s.failures) return 0;
    return Math.min(this.s.maxDelayMs, (f.count - this.s.failures + 1) * this.s.stepMs);
  }

  failed(address: string): void {
    if (this.s.failures === 0) return;
    const f = this.current(address);
    if (f) {
      f.count++;
      return;
    }
    if (this.failuresByAddress.size >= MAX_ADDRESSES) {
      const oldest = this.failuresByAddress.keys().next().value;
      if (oldest !== undefined) this.failuresByAddress.delete(oldest);
    }
    this.failuresByAddress.set(address, { since: this.now(), count: 1 });
  }

  private current(address: string): { since: number; count: number } | undefined {
    const f = this.failuresByAddress.get(address);
    if (f && this.now() - f.since >= this.s.windowMs) {
      this.failuresByAddress.delete(address);
      return undefined;
    }
    return f;
  }
}
