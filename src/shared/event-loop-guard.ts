// Watches the event loop for stalls: a timer that should fire every CHECK_MS notes how late it
// fires, and a stall past the threshold is logged once with its length and counted (a broker whose
// loop stalls for half its lease risks losing the lease and failing over). The distribution of
// delays is prom-client's own `nodejs_eventloop_lag_*`; this adds the event a person can find in
// the log, and the count of them.
import type { Logger } from 'pino';

const CHECK_MS = 100;

export class EventLoopGuard {
  /** Stalls past the threshold so far. */
  stalls = 0;
  /** The longest stall seen, in ms. */
  longestMs = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    /** A stall at least this long is logged and counted. */
    private readonly thresholdMs: number,
    /** The lease a stall puts at risk, named in the log line. */
    private readonly leaseMs: number,
  ) {}

  start(): void {
    let last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      const late = now - last - CHECK_MS;
      last = now;
      if (late < this.thresholdMs) return;
      this.stalls++;
      this.longestMs = Math.max(this.longestMs, late);
      this.log.warn(
        { stalledMs: Math.round(late), leaseMs: this.leaseMs, stalls: this.stalls },
        late * 2 >= this.leaseMs
          ? 'event loop stalled for half the lease or more: the lease may lapse'
          : 'event loop stalled: every connection waited',
      );
    }, CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
