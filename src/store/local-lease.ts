// The lease of a broker with no peer to share its data with (the memory store, or a store handed in
// by a test): always free to take, each taking a fresh epoch. `once` makes it a lease that, given
// up, is never taken again: a fixed store handle has one epoch, so once fenced it stays standby.
import type { AcquireResult, Lease } from './lease.ts';

export class LocalLease implements Lease {
  readonly description = 'this process';
  private held = false;
  private taken = false;

  constructor(
    private epoch: number,
    private readonly once = false,
  ) {}

  async acquire(): Promise<AcquireResult> {
    if (this.held || (this.once && this.taken)) return {};
    this.held = true;
    const epoch = this.once ? this.epoch : ++this.epoch;
    this.taken = true;
    return { epoch };
  }

  async renew(): Promise<boolean> {
    return this.held;
  }

  async release(): Promise<void> {
    this.held = false;
  }

  async close(): Promise<void> {
    this.held = false;
  }
}
