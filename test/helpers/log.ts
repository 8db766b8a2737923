// A logger whose lines a test can read, and await: for what the broker does that no client sees
// (a session expiring, a store falling back), its log line is the event.
import { pino, type Logger } from 'pino';

export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

export class CapturedLog {
  readonly lines: LogLine[] = [];
  readonly log: Logger;
  private waiters: Array<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];

  constructor(level: pino.Level = 'info') {
    this.log = pino({ level }, { write: (l: string) => this.add(JSON.parse(l) as LogLine) });
  }

  /** The first line (logged so far or later) that `match` accepts. */
  waitFor(match: (l: LogLine) => boolean): Promise<LogLine> {
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  private add(line: LogLine): void {
    this.lines.push(line);
    this.waiters = this.waiters.filter((w) => {
      if (!w.match(line)) return true;
      w.resolve(line);
      return false;
    });
  }
}
