// The SQS queues this broker knows: the attributes, tags and times of each queue made or changed
// through SQS, kept in the store (adapter session records `sqs:queue:<name>`, so they are written
// fenced and sealed like every record, and survive restart and failover), and set on the core
// queue as rules (a redrive policy's dead-letter queue, or none). A core queue made by another
// protocol is an SQS queue too, with the default attributes, until SQS changes one of them.
import type { Broker } from '../../../src/core/broker.ts';
import type { QueueRules } from '../../../src/core/policy.ts';
import { defaultAttributes, settingsOf, type Attributes, type QueueSettings } from './queue-attributes.ts';

const PREFIX = 'sqs:queue:';

export interface SqsQueueRecord {
  name: string;
  attributes: Attributes;
  tags: Record<string, string>;
  createdAt: number;
  modifiedAt: number;
}

export class QueueCatalog {
  private readonly records = new Map<string, SqsQueueRecord>();

  constructor(private readonly broker: Broker) {}

  /** Reads the stored records and sets each queue's rules again (at start, and after a takeover). */
  async load(): Promise<void> {
    for (const s of await this.broker.listSessions(PREFIX)) {
      const r = s.data as unknown as SqsQueueRecord;
      if (typeof r.name !== 'string' || typeof r.attributes !== 'object') continue;
      this.records.set(r.name, r);
      this.broker.setQueueRules(r.name, rulesOf(settingsOf(r.attributes)));
    }
  }

  /** True when the queue exists in the core (whoever made it). */
  exists(name: string): boolean {
    return this.broker.getQueue(name)?.label === `queue://${name}`;
  }

  /** The record of an existing queue: its stored one, or the defaults of one another protocol made. */
  get(name: string): SqsQueueRecord | undefined {
    const r = this.records.get(name);
    if (r) return r;
    if (!this.exists(name)) return undefined;
    return { name, attributes: defaultAttributes(false), tags: {}, createdAt: 0, modifiedAt: 0 };
  }

  settings(name: string): QueueSettings | undefined {
    const r = this.get(name);
    return r && settingsOf(r.attributes);
  }

  /** Stores the record, sets the core queue's rules, and makes the queue if it is not there yet. */
  async put(r: SqsQueueRecord): Promise<void> {
    await this.broker.putSession({
      id: PREFIX + r.name,
      data: r as unknown as Record<string, unknown>,
      updatedAt: Date.now(),
      expiresAt: 0,
    });
    this.records.set(r.name, r);
    this.broker.setQueueRules(r.name, rulesOf(settingsOf(r.attributes)));
    if (!this.exists(r.name)) this.broker.operations.createQueue(r.name);
  }

  async delete(name: string): Promise<void> {
    if (this.records.delete(name)) await this.broker.deleteSession(PREFIX + name);
    this.broker.setQueueRules(name, undefined);
  }

  /** Every named queue's name (not topic subscriptions' queues). */
  names(): string[] {
    return this.broker
      .listQueues()
      .filter((q) => q.label === `queue://${q.name}`)
      .map((q) => q.name);
  }
}

/**
 * What SQS attributes make a core queue do: a message goes to the dead-letter queue after
 * maxReceiveCount receives, or is never dead-lettered without a redrive policy; a visibility
 * timeout returns it at once, with no redelivery backoff.
 */
function rulesOf(s: QueueSettings): QueueRules {
  if (s.maxReceiveCount !== undefined && s.deadLetterQueue !== undefined) {
    return { maxDeliveries: s.maxReceiveCount, deadLetterQueue: s.deadLetterQueue, redeliveryDelayMs: 0 };
  }
  return { maxDeliveries: 0, deadLetterQueue: null, redeliveryDelayMs: 0 };
}
