// The security audit trail: failed logins, authorization refusals and admin changes, each a
// structured log event saying who, what and from where, and each counted for /metrics. Refusals
// can come by the thousand (a device publishing where it may not, in a loop), so their log lines
// are rate-limited: at most REFUSALS_PER_SECOND a second, then one line saying how many went
// unlogged. Failed logins are rate-limited the same way; the counters count everything.
import type { Logger } from 'pino';

const LINES_PER_SECOND = 10;

/** Where an attempt came from: the protocol and the client's address. */
export interface AuditSource {
  readonly protocol: string;
  readonly address: string;
}

/** Log lines within a budget per second; the rest are counted and reported in the next line logged. */
class LineBudget {
  private windowStart = 0;
  private used = 0;
  private unlogged = 0;

  constructor(private readonly perSecond: number) {}

  /** Whether to log this one, and how many before it were not. */
  take(now: number): { log: boolean; unlogged: number } {
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.used = 0;
    }
    if (this.used >= this.perSecond) {
      this.unlogged++;
      return { log: false, unlogged: 0 };
    }
    this.used++;
    const unlogged = this.unlogged;
    this.unlogged = 0;
    return { log: true, unlogged };
  }
}

export class SecurityAudit {
  /** Failed logins by protocol. */
  readonly loginFailures = new Map<string, number>();
  /** Authorization refusals by permission (read, write, admin). */
  readonly refusals = new Map<string, number>();
  /** Logins held back because their address spent its failure budget. */
  throttledLogins = 0;
  /** Changes made through the admin API. */
  adminChanges = 0;
  private readonly loginLines = new LineBudget(LINES_PER_SECOND);
  private readonly refusalLines = new LineBudget(LINES_PER_SECOND);

  constructor(
    private readonly log: Logger | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  loginFailed(username: string | undefined, from: AuditSource | undefined, reason: string): void {
    const protocol = from?.protocol ?? 'unknown';
    this.loginFailures.set(protocol, (this.loginFailures.get(protocol) ?? 0) + 1);
    const line = this.loginLines.take(this.now());
    if (line.log)
      this.log?.warn({ audit: 'login-failed', user: username, protocol, from: from?.address, reason, ...unlogged(line) }, 'login failed');
  }

  loginThrottled(from: AuditSource, delayMs: number): void {
    this.throttledLogins++;
    const line = this.loginLines.take(this.now());
    if (line.log)
      this.log?.warn(
        { audit: 'login-throttled', protocol: from.protocol, from: from.address, delayMs, ...unlogged(line) },
        'login held back: too many failures from this address',
      );
  }

  refused(username: string, permission: string, destination: string, from: string | undefined): void {
    this.refusals.set(permission, (this.refusals.get(permission) ?? 0) + 1);
    const line = this.refusalLines.take(this.now());
    if (line.log)
      this.log?.warn({ audit: 'refused', user: username, permission, destination, from, ...unlogged(line) }, 'authorization refused');
  }

  adminChange(username: string, action: string, target: string | undefined, from: string, request?: unknown): void {
    this.adminChanges++;
    this.log?.info(
      { audit: 'admin-change', admin: username, action, target, from, ...(request !== undefined ? { request } : {}) },
      'admin change',
    );
  }
}

function unlogged(line: { unlogged: number }): { unloggedBefore?: number } {
  return line.unlogged > 0 ? { unloggedBefore: line.unlogged } : {};
}
