// One connection's subscriptions and the deliveries they await acks for. A STOMP subscription may
// cover several core consumers (a composite destination); an ack id names one delivery of one of
// them. Ack ids are the `ack` header in 1.2, and message-id (with subscription in 1.1) before.
import type { Consumer } from '../../src/core/consumer.ts';
import { StompProtocolError, type StompVersion } from './frame.ts';

export type AckMode = 'auto' | 'client' | 'client-individual';

export interface Subscription {
  id: string;
  ackMode: AckMode;
  consumers: Consumer[];
  /** Unsettled deliveries by ack id, in delivery order. */
  unacked: Map<string, { consumer: Consumer; tag: number }>;
  /** For UNSUBSCRIBE of a durable subscription. */
  durableName?: string;
  /** The stream it reads, for a subscription to /stream/NAME. */
  stream?: string;
}

export interface AckTarget {
  sub: Subscription;
  consumer: Consumer;
  tag: number;
  key: string;
}

export class Subscriptions {
  private readonly byId = new Map<string, Subscription>();
  /** Ack id -> subscription (1.2 ids and 1.1 keys are unique per connection). */
  private readonly owners = new Map<string, Subscription>();
  private nextAck = 1;

  constructor(private readonly version: StompVersion) {}

  get(id: string): Subscription | undefined {
    return this.byId.get(id);
  }

  add(sub: Subscription): void {
    this.byId.set(sub.id, sub);
  }

  remove(id: string): Subscription | undefined {
    const sub = this.byId.get(id);
    if (!sub) return undefined;
    this.byId.delete(id);
    for (const key of sub.unacked.keys()) this.owners.delete(key);
    return sub;
  }

  all(): Subscription[] {
    return [...this.byId.values()];
  }

  /** Records a delivery that awaits an ack; returns the id the client acks it by. */
  track(sub: Subscription, consumer: Consumer, tag: number, messageId: string): string {
    const key = this.version === '1.2' ? `${sub.id}:${this.nextAck++}` : this.version === '1.1' ? `${sub.id}\0${messageId}` : messageId;
    sub.unacked.set(key, { consumer, tag });
    this.owners.set(key, sub);
    return this.version === '1.2' ? key : messageId;
  }

  /** Finds the delivery an ACK or NACK frame names. */
  find(headers: Map<string, string>, command: string): AckTarget {
    let key: string | undefined;
    if (this.version === '1.2') key = headers.get('id');
    else {
      const messageId = headers.get('message-id');
      if (messageId === undefined) throw new StompProtocolError(`${command} needs a message-id header`);
      const sub = headers.get('subscription');
      if (this.version === '1.1' && sub === undefined) throw new StompProtocolError(`${command} needs a subscription header`);
      key = this.version === '1.1' ? `${sub}\0${messageId}` : messageId;
    }
    if (key === undefined) throw new StompProtocolError(`${command} needs an id header (the ack header of the MESSAGE)`);
    const sub = this.owners.get(key);
    const entry = sub?.unacked.get(key);
    if (!sub || !entry)
      throw new StompProtocolError(`${command} names no unacknowledged message: "${key.replace('\0', ' ').slice(0, 120)}"`);
    return { sub, consumer: entry.consumer, tag: entry.tag, key };
  }

  /**
   * Settles the target, and in `client` mode every earlier delivery of the subscription with it
   * (cumulative). Returns the settled deliveries, oldest first.
   */
  take(t: AckTarget): Array<{ consumer: Consumer; tag: number }> {
    const out: Array<{ consumer: Consumer; tag: number }> = [];
    if (t.sub.ackMode === 'client') {
      for (const [key, e] of t.sub.unacked) {
        out.push(e);
        t.sub.unacked.delete(key);
        this.owners.delete(key);
        if (key === t.key) break;
      }
    } else {
      out.push({ consumer: t.consumer, tag: t.tag });
      t.sub.unacked.delete(t.key);
      this.owners.delete(t.key);
    }
    return out;
  }
}
