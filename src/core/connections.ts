// The client connections of a broker, as an operator sees them: who (protocol, client id, user,
// address), since when, what they consume, how many messages they sent and received, and a way to
// close one. Adapters register a connection once its handshake is done; the broker counts
// messages in (publish) and out (deliveries) against it, and drops it at `connectionClosed`.
import type { Destination } from './destination.ts';
import type { Principal } from './principal.ts';

export interface ConnectionRecord {
  readonly id: string;
  readonly protocol: string;
  /** The version the client speaks (MQTT 3.1.1 or 5, STOMP 1.2...). */
  readonly protocolVersion: string | undefined;
  readonly transport: string;
  readonly remoteAddress: string;
  readonly clientId: string | undefined;
  readonly user: string | undefined;
  readonly connectedAt: number;
  messagesIn: number;
  messagesOut: number;
  /** Destinations it published to (ProducerCount counts its producers). */
  /** Made at the first publish (most devices of a fleet never publish to more than a topic or two). */
  publishedTo: Set<string> | undefined;
  /** The destination of its last publish (counted in publishedTo already). */
  lastPublished: { kind: string; name: string } | undefined;
  /** Its consumers, with the destination each reads (closed ones are dropped as they are seen). */
  readonly consumers: ConsumerEntry[];
  /** Who signed in (kept up to date when users change at run time). */
  readonly principal: Principal | undefined;
  /** How many sessions it has open, for protocols with sessions (OpenWire, AMQP). */
  readonly sessions: (() => number) | undefined;
}

export interface ConsumerEntry {
  /** `queue://name` or `topic://name`. */
  readonly destination: string;
  /** The same, as the core reads it (a topic subscription's filter may hold wildcards). */
  readonly target: Destination;
  readonly clientId?: string | undefined;
  closed(): boolean;
  /** Ends it as the protocol can (the link, the subscription, else the connection), telling the client why. */
  end(reason: string): void;
}

export interface ConnectionRegistration {
  id: string;
  protocol: string;
  protocolVersion?: string | undefined;
  transport: string;
  remoteAddress: string;
  clientId?: string | undefined;
  user?: string | undefined;
  principal?: Principal | undefined;
  /** How many sessions it has open, for protocols with sessions. */
  sessions?: () => number;
  /** Closes the connection (the adapter sends its protocol's goodbye where it has one). */
  close(reason: string): void;
}

export class Connections {
  private readonly records = new Map<string, ConnectionRecord>();
  private readonly closers = new Map<string, (reason: string) => void>();
  /** Connected producers per destination label. */
  private readonly producers = new Map<string, number>();
  /** Messages in and out since start, per protocol (closed connections included). */
  readonly totals = new Map<string, { in: number; out: number }>();
  /** Deliveries dropped since start because they were larger than the client accepts, per protocol. */
  readonly tooLarge = new Map<string, number>();
  /**
   * Requests of request/response protocols (the AWS APIs) since start, by `protocol operation` and
   * by `protocol operation error-code` for those that failed.
   */
  readonly requests = new Map<string, number>();
  readonly requestErrors = new Map<string, number>();
  /** Requests held open waiting for messages now (SQS long polls), per protocol. */
  readonly waiting = new Map<string, number>();
  /** What adapters count besides requests (SNS deliveries: delivered, filtered, dropped...), by `protocol event`. */
  readonly events = new Map<string, number>();

  add(r: ConnectionRegistration): void {
    this.remove(r.id);
    this.records.set(r.id, {
      id: r.id,
      protocol: r.protocol,
      protocolVersion: r.protocolVersion,
      transport: r.transport,
      remoteAddress: r.remoteAddress,
      clientId: r.clientId,
      user: r.user,
      principal: r.principal,
      connectedAt: Date.now(),
      messagesIn: 0,
      messagesOut: 0,
      publishedTo: undefined,
      lastPublished: undefined,
      consumers: [],
      sessions: r.sessions,
    });
    this.closers.set(r.id, r.close);
  }

  get(id: string): ConnectionRecord | undefined {
    return this.records.get(id);
  }

  list(): ConnectionRecord[] {
    return [...this.records.values()];
  }

  get size(): number {
    return this.records.size;
  }

  /** A publish from connection `id` to `dest` (internal publishers have no record: nothing to count). */
  published(id: string, dest: { kind: string; name: string }): void {
    const r = this.records.get(id);
    if (!r) return;
    r.messagesIn++;
    this.total(r.protocol).in++;
    // A device publishes to the same topic again and again: that one skips the label and the set.
    if (r.lastPublished !== undefined && r.lastPublished.name === dest.name && r.lastPublished.kind === dest.kind) return;
    r.lastPublished = { kind: dest.kind, name: dest.name };
    const destination = `${dest.kind}://${dest.name}`;
    if (r.publishedTo?.has(destination)) return;
    (r.publishedTo ??= new Set()).add(destination);
    this.producers.set(destination, (this.producers.get(destination) ?? 0) + 1);
  }

  /** The destinations connection `id` consumes from now. */
  subscriptions(id: string): string[] {
    const r = this.records.get(id);
    if (!r) return [];
    const open = r.consumers.filter((c) => !c.closed());
    r.consumers.splice(0, r.consumers.length, ...open);
    return open.map((c) => c.destination);
  }

  /** A delivery to a consumer of connection record `r`. */
  delivered(r: ConnectionRecord): void {
    r.messagesOut++;
    this.total(r.protocol).out++;
  }

  /** A delivery dropped because the client announced a smaller maximum size (MQTT 5 Maximum Packet Size). */
  droppedTooLarge(protocol: string): void {
    this.tooLarge.set(protocol, (this.tooLarge.get(protocol) ?? 0) + 1);
  }

  /** A request of `protocol` (the AWS APIs: `sqs` ...) answered, with its error code when it failed. */
  request(protocol: string, operation: string, error?: string): void {
    const key = `${protocol} ${operation}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    if (error !== undefined) this.requestErrors.set(`${key} ${error}`, (this.requestErrors.get(`${key} ${error}`) ?? 0) + 1);
  }

  /** One more `event` of `protocol` (an SNS delivery delivered, filtered, failed, dropped...). */
  event(protocol: string, event: string): void {
    const key = `${protocol} ${event}`;
    this.events.set(key, (this.events.get(key) ?? 0) + 1);
  }

  /** A request of `protocol` started (+1) or stopped (-1) waiting for messages. */
  waitingChanged(protocol: string, delta: number): void {
    this.waiting.set(protocol, (this.waiting.get(protocol) ?? 0) + delta);
  }

  private total(protocol: string): { in: number; out: number } {
    let t = this.totals.get(protocol);
    if (!t) this.totals.set(protocol, (t = { in: 0, out: 0 }));
    return t;
  }

  producerCount(destination: string): number {
    return this.producers.get(destination) ?? 0;
  }

  /** Closes connection `id`; false when there is none. */
  close(id: string, reason: string): boolean {
    const close = this.closers.get(id);
    if (!close) return false;
    close(reason);
    return true;
  }

  remove(id: string): void {
    const r = this.records.get(id);
    if (!r) return;
    for (const d of r.publishedTo ?? []) {
      const n = (this.producers.get(d) ?? 1) - 1;
      if (n > 0) this.producers.set(d, n);
      else this.producers.delete(d);
    }
    this.records.delete(id);
    this.closers.delete(id);
  }
}
