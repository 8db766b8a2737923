// Admission of new client connections: how many each listener has open (limits.maxConnections)
// and how many come from one address across all listeners (limits.maxConnectionsPerAddress). A
// connection over either limit is still handed to its protocol handler, marked refused, so the
// client hears its protocol's own error (STOMP ERROR, MQTT CONNACK "server unavailable", AMQP close
// with amqp:resource-limit-exceeded) rather than a bare reset; it is not counted. A refusal says
// which limit it met, so the listener can first make room by dropping a handshake still pending.

export interface ConnectionLimitSettings {
  maxConnections: number;
  maxConnectionsPerAddress: number;
}

/** A counted connection: `release` when it closes. */
export interface Admitted {
  refused?: undefined;
  release(): void;
}

export interface Refused {
  refused: string;
  limit: 'listener' | 'address';
}

export class ConnectionLimits {
  private readonly perListener = new Map<string, number>();
  private readonly perAddress = new Map<string, number>();

  constructor(private readonly s: ConnectionLimitSettings) {}

  /** Counts a new connection on `listener` from `address`, or says why it is over a limit. */
  admit(listener: string, address: string): Admitted | Refused {
    const onListener = this.perListener.get(listener) ?? 0;
    const fromAddress = this.perAddress.get(address) ?? 0;
    if (this.s.maxConnections > 0 && onListener >= this.s.maxConnections) {
      return {
        refused: `Connection limit reached: ${this.s.maxConnections} connections on this listener (limits.maxConnections)`,
        limit: 'listener',
      };
    }
    if (this.s.maxConnectionsPerAddress > 0 && fromAddress >= this.s.maxConnectionsPerAddress) {
      return {
        refused: `Connection limit reached: ${this.s.maxConnectionsPerAddress} connections from ${address} (limits.maxConnectionsPerAddress)`,
        limit: 'address',
      };
    }
    this.perListener.set(listener, onListener + 1);
    this.perAddress.set(address, fromAddress + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.decrement(this.perListener, listener);
        this.decrement(this.perAddress, address);
      },
    };
  }

  private decrement(m: Map<string, number>, key: string): void {
    const n = (m.get(key) ?? 1) - 1;
    if (n <= 0) m.delete(key);
    else m.set(key, n);
  }
}
