// The logger of one connection, which costs almost nothing until it writes: pino's child() makes a
// logger with bound level methods and a hidden class of its own, some 2 KB kept per connection, and
// a fleet of idle devices would keep one each. This keeps the parent and where the connection comes
// from (one string), and adds them to each line it writes (the same fields a child would add).
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
  /** Where the connection comes from, as each line shows it (the origin object itself is not kept). */
  private readonly remote: string;
  private readonly transport: string;

  constructor(
    private readonly parent: Logger,
    origin: LogOrigin,
  ) {
    this.remote = `${origin.remoteAddress}:${origin.remotePort}`;
    this.transport = origin.transport;
  }

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
    return { remote: this.remote, transport: this.transport, ...fields };
  }
}
