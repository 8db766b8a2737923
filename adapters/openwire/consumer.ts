// One JMS consumer of an OpenWire connection (ConsumerInfo): the core consumers behind it (several
// for a composite destination), its prefetch as explicit credit, and the deliveries dispatched and not
// yet acknowledged, numbered by the broker sequence id the client echoes in its acks. ActiveMQ's ack
// types become core settlements here; a delivered ack lets more through without settling, as
// ActiveMQ's prefetch extension does.
import type { Consumer, Delivery } from '../../src/core/consumer.ts';
import type { Struct } from './layout-types.ts';

export interface Dispatched {
  readonly consumer: Consumer;
  readonly tag: number;
  /** A delivered ack counted it already: it no longer holds the prefetch window. */
  deliveredAcked: boolean;
}

export class OpenWireConsumer {
  readonly cores: Consumer[] = [];
  /** By broker sequence id, in dispatch order (until a rollback hands some back). */
  readonly dispatched = new Map<number, Dispatched>();
  /** The dispatched deliveries no delivered ack has counted yet, in dispatch order. */
  private readonly undelivered = new Map<number, Dispatched>();
  /** Whether `dispatched` iterates in sequence order (a rollback's restore may break it). */
  private ordered = true;
  private highest = 0;
  /** Pull consumers (prefetch 0): the timer of the MessagePull waiting for a message. */
  pullTimer: NodeJS.Timeout | undefined;
  pulling = false;
  /** Advisory consumers: how to stop hearing of temporary destinations. */
  readonly unwatch: Array<() => void> = [];

  constructor(
    readonly id: Struct,
    readonly key: string,
    readonly sessionKey: string,
    readonly info: Struct,
    readonly prefetch: number,
  ) {}

  track(seq: number, consumer: Consumer, d: Delivery): void {
    const entry = { consumer, tag: d.tag, deliveredAcked: false };
    this.dispatched.set(seq, entry);
    this.undelivered.set(seq, entry);
    this.highest = seq;
  }

  /** The dispatched deliveries up to `last` (inclusive), oldest first, from `first` when given. */
  upTo(last: number, first?: number): Array<[number, Dispatched]> {
    const out: Array<[number, Dispatched]> = [];
    if (first === last) {
      const d = this.dispatched.get(last);
      if (d) out.push([last, d]);
      return out;
    }
    for (const e of this.dispatched) {
      if (e[0] > last) {
        // In sequence order nothing after this one is acknowledged (a consumer's acks name its oldest first).
        if (this.ordered) break;
        continue;
      }
      if (first === undefined || e[0] >= first) out.push(e);
    }
    return out;
  }

  /** Forgets the given deliveries (settled, or handed to a transaction); gives back their credit. */
  take(entries: Array<[number, Dispatched]>): void {
    let credit = 0;
    for (const [seq, d] of entries) {
      this.dispatched.delete(seq);
      if (!d.deliveredAcked) {
        this.undelivered.delete(seq);
        credit++;
      }
    }
    this.grant(credit);
  }

  /** A delivered ack up to `last`: the window moves on without settling anything. */
  deliveredUpTo(last: number): void {
    let credit = 0;
    for (const [seq, d] of this.undelivered) {
      if (seq > last) {
        if (this.ordered) break;
        continue;
      }
      d.deliveredAcked = true;
      this.undelivered.delete(seq);
      credit++;
    }
    this.grant(credit);
  }

  /** Deliveries a rolled-back transaction had acknowledged: the client redelivers them itself, so they stay held. */
  restore(entries: Array<[number, Dispatched]>): void {
    for (const [seq, d] of entries) {
      if (!d.consumer.holds(d.tag)) continue;
      if (seq < this.highest) this.ordered = false;
      this.dispatched.set(seq, { ...d, deliveredAcked: true });
    }
    if (this.dispatched.size === 0) this.ordered = true;
  }

  private grant(n: number): void {
    if (n <= 0 || this.prefetch === 0) return;
    for (const c of this.cores) c.addCredit(n);
  }

  close(lastDelivered: number): void {
    if (this.pullTimer) clearTimeout(this.pullTimer);
    for (const stop of this.unwatch.splice(0)) stop();
    // What the client never handed to the application goes back as not delivered; the rest as failed deliveries.
    for (const [seq, d] of this.dispatched) {
      if (lastDelivered >= -1 && seq > lastDelivered && d.consumer.holds(d.tag)) d.consumer.release(d.tag, { failed: false });
    }
    this.dispatched.clear();
    this.undelivered.clear();
    for (const c of this.cores) c.close();
  }
}
