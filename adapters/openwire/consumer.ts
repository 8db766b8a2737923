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
    this.dispatched.set(seq, { consumer, tag: d.tag, deliveredAcked: false });
  }

  /** The dispatched deliveries up to `last` (inclusive), oldest first, from `first` when given. */
  upTo(last: number, first?: number): Array<[number, Dispatched]> {
    const out: Array<[number, Dispatched]> = [];
    for (const e of this.dispatched) if (e[0] <= last && (first === undefined || e[0] >= first)) out.push(e);
    return out;
  }

  /** Forgets the given deliveries (settled, or handed to a transaction); gives back their credit. */
  take(entries: Array<[number, Dispatched]>): void {
    let credit = 0;
    for (const [seq, d] of entries) {
      this.dispatched.delete(seq);
      if (!d.deliveredAcked) credit++;
    }
    this.grant(credit);
  }

  /** A delivered ack: the window moves on without settling anything. */
  delivered(entries: Array<[number, Dispatched]>): void {
    let credit = 0;
    for (const [, d] of entries) {
      if (d.deliveredAcked) continue;
      d.deliveredAcked = true;
      credit++;
    }
    this.grant(credit);
  }

  /** Deliveries a rolled-back transaction had acknowledged: the client redelivers them itself, so they stay held. */
  restore(entries: Array<[number, Dispatched]>): void {
    for (const [seq, d] of entries) if (d.consumer.holds(d.tag)) this.dispatched.set(seq, { ...d, deliveredAcked: true });
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
    for (const c of this.cores) c.close();
  }
}
