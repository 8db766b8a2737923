// The logger of one connection, which costs almost nothing until it writes: pino's child() makes a
// logger with bound level methods and a hidden class of its own, some 2 KB kept per connection, and
// a fleet of idle devices would keep one each. This keeps the parent and where the connection comes
// from, and adds them to each line it writes (the same fields a child would add).
import type { Logger } from 'pino';

/** What a connection's code logs through: an object of fields, then the message. */
export interface LineLogger {
  debug(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

export interface LogOrigin {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly transport: string;
}

export class ConnectionLog implements LineLogger {
  constructor(
    private readonly parent: Logger,
    private readonly origin: LogOrigin,
  ) {}

  debug(fields: object, msg: string): void {
    if (this.parent.isLevelEnabled('debug')) this.parent.debug(this.with(fields), msg);
  }

  info(fields: object, msg: string): void {
    if (this.parent.isLevelEnabled('info')) this.parent.info(this.with(fields), msg);
  }

  warn(fields: object, msg: string): void {
    this.parent.warn(this.with(fields), msg);
  }

  error(fields: object, msg: string): void {
    this.parent.error(this.with(fields), msg);
  }

  private with(fields: object): object {
    const o = this.origin;
    return { remote: `${o.remoteAddress}:${o.remotePort}`, transport: o.transport, ...fields };
  }
}
