// The byte stream under a connection of a protocol that parses its own frames (STOMP, OpenWire),
// made from the stream a listener hands over (a socket, or a WebSocket's messages); what such a
// connection is told of its handshake; and the gate that stops reading a client whose publishes
// are not yet stored past a bound, so that holding its publishes holds the client.
import type { Duplex } from 'node:stream';

/** How long a client may keep its side open after the broker closed its own. */
const CLOSE_GRACE_MS = 5000;

export interface ByteTransport {
  /** `done` learns whether the bytes were handed to the network (an error: they were not). */
  write(data: Buffer, done?: (err?: Error | null) => void): void;
  /** Closes after what was written has gone out; the stream is dropped if the client lingers. */
  end(): void;
  /** Drops the connection now. */
  destroy(): void;
  pause(): void;
  resume(): void;
}

export function byteTransport(stream: Duplex): ByteTransport {
  return {
    write: (data, done) => void stream.write(data, done),
    end: () => {
      stream.end();
      setTimeout(() => stream.destroy(), CLOSE_GRACE_MS).unref();
    },
    destroy: () => stream.destroy(),
    pause: () => stream.pause(),
    resume: () => stream.resume(),
  };
}

/** What the listener tells a connection of its handshake (ConnectionInfo). */
export interface Handshake {
  /** Over a connection limit: the protocol's handshake is answered with a refusal saying this. */
  readonly refused?: string;
  /** Who the client's verified TLS certificate names (tls.identityFrom): no password needed. */
  readonly certified?: string;
  /** The peer, for the broker's connection list. */
  readonly transport?: string;
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  established(): void;
}

/** Publishes not yet stored (or held by the memory alarm) past which the connection stops reading. */
const MAX_PENDING_SENDS = 1000;
/** Their bodies' bytes past which it stops reading too (so large frames cannot pile up by the thousand). */
const MAX_PENDING_SEND_BYTES = 16 * 1024 * 1024;

export class SendGate {
  private pending = 0;
  private bytes = 0;
  private paused = false;

  constructor(private readonly transport: Pick<ByteTransport, 'pause' | 'resume'>) {}

  /** Counts a publish until `settled` settles; reading stops past the bounds and resumes below half of them. */
  track(settled: Promise<unknown>, bytes: number): void {
    this.pending++;
    this.bytes += bytes;
    if ((this.pending >= MAX_PENDING_SENDS || this.bytes >= MAX_PENDING_SEND_BYTES) && !this.paused) {
      this.paused = true;
      this.transport.pause();
    }
    const done = (): void => {
      this.pending--;
      this.bytes -= bytes;
      if (this.paused && this.pending < MAX_PENDING_SENDS / 2 && this.bytes < MAX_PENDING_SEND_BYTES / 2) {
        this.paused = false;
        this.transport.resume();
      }
    };
    settled.then(done, done);
  }
}
