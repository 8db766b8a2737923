// Test helpers for the broker core: a broker on a memory store with a silent logger, and an
// Inbox that collects deliveries and lets a test await them with a bounded wait.
import { pino } from 'pino';
import { Broker, type BrokerOptions } from '../../src/core/broker.ts';
import type { Consumer, Delivery } from '../../src/core/consumer.ts';
import { queue, topic } from '../../src/core/destination.ts';
import type { MessageInput } from '../../src/core/message.ts';
import { DEFAULT_POLICY, PolicyResolver, type PolicyEntry, type PolicySettings } from '../../src/core/policy.ts';
import type { ClientContext } from '../../src/core/principal.ts';
import { MemoryData, MemoryStore } from '../../src/store/memory-store.ts';

export const silent = pino({ level: 'silent' });
export const ctx: ClientContext = { connectionId: 'conn-test' };

export interface TestBrokerOptions extends Partial<Omit<BrokerOptions, 'policies'>> {
  defaults?: Partial<PolicySettings>;
  policies?: PolicyEntry[];
  data?: MemoryData;
  epoch?: number;
}

/** Immediate redelivery unless a test asks for backoff, so tests do not wait on the default delay. */
export const TEST_DEFAULTS: Partial<PolicySettings> = { redeliveryDelayMs: 0 };

export async function startBroker(o: TestBrokerOptions = {}): Promise<Broker> {
  const { defaults, policies, data, epoch, ...rest } = o;
  const b = new Broker({
    store: new MemoryStore(epoch ?? 1, data ?? new MemoryData()),
    log: silent,
    policies: new PolicyResolver({ ...DEFAULT_POLICY, ...TEST_DEFAULTS, ...defaults }, policies ?? []),
    expirySweepMs: 0,
    ...rest,
  });
  await b.start();
  return b;
}

export function text(d: Delivery): string {
  return Buffer.from(d.message.body).toString('utf8');
}

export function msgTo(dest: string, body: string, extra: Partial<MessageInput> = {}): MessageInput {
  const d = dest.startsWith('topic://') ? topic(dest.slice(8)) : queue(dest.replace(/^queue:\/\//, ''));
  return { destination: d, body: Buffer.from(body), ...extra };
}

export class Inbox {
  readonly items: Delivery[] = [];
  private waiters: Array<{ n: number; resolve: () => void }> = [];

  readonly onMessage = (d: Delivery): void => {
    this.items.push(d);
    this.waiters = this.waiters.filter((w) => {
      if (this.items.length >= w.n) {
        w.resolve();
        return false;
      }
      return true;
    });
  };

  get texts(): string[] {
    return this.items.map(text);
  }

  /** Resolves once `n` deliveries in total have arrived; rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs = 5000): Promise<Delivery[]> {
    if (this.items.length >= n) return Promise.resolve(this.items.slice(0, n));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${n} deliveries (have ${this.items.length})`)), timeoutMs);
      this.waiters.push({
        n,
        resolve: () => {
          clearTimeout(t);
          resolve(this.items.slice(0, n));
        },
      });
    });
  }

  /** Acks everything received so far through `c`. */
  ackAll(c: Consumer): void {
    for (const d of this.items.splice(0)) c.ack(d.tag);
  }
}
