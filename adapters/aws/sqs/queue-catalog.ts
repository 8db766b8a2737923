// The SQS queues this broker knows: the attributes, tags and times of each queue made or changed
// through SQS, kept in the store (records `sqs:queue:<name>`, stored-records.ts), and set on the core
// queue as rules (a redrive policy's dead-letter queue, or none). A core queue made by another
// protocol is an SQS queue too, with the default attributes, until SQS changes one of them.
import type { Broker } from '../../../src/core/broker.ts';
import type { QueueRules } from '../../../src/core/policy.ts';
import { StoredRecords } from '../stored-records.ts';
import { defaultAttributes, settingsOf, type Attributes, type QueueSettings } from './queue-attributes.ts';

export interface SqsQueueRecord {
  name: string;
  attributes: Attributes;
  tags: Record<string, string>;
  createdAt: number;
  modifiedAt: number;
}

/** What a queue another protocol made runs with until SQS changes one of its attributes. */
const DEFAULT_SETTINGS = settingsOf(defaultAttributes(false));

export class QueueCatalog {
  private readonly records = new Map<string, { record: SqsQueueRecord; settings: QueueSettings }>();
  private readonly stored: StoredRecords<SqsQueueRecord>;

  constructor(private readonly broker: Broker) {
    this.stored = new StoredRecords(broker, 'sqs:queue:');
  }

  /** Reads the stored records and sets each queue's rules again (at start, and after a takeover). */
  async load(): Promise<void> {
    for (const r of await this.stored.load((r) => typeof r.name === 'string' && typeof r.attributes === 'object')) this.keep(r);
  }

  /** True when the queue exists in the core (whoever made it). */
  exists(name: string): boolean {
    return this.broker.hasQueue(name);
  }

  /** The record of an existing queue: its stored one, or the defaults of one another protocol made. */
  get(name: string): SqsQueueRecord | undefined {
    const r = this.records.get(name);
    if (r) return r.record;
    if (!this.exists(name)) return undefined;
    return { name, attributes: defaultAttributes(false), tags: {}, createdAt: 0, modifiedAt: 0 };
  }

  /** The attributes of an existing queue read as settings (kept, not parsed again per request). */
  settings(name: string): QueueSettings | undefined {
    const r = this.records.get(name);
    if (r) return r.settings;
    return this.exists(name) ? DEFAULT_SETTINGS : undefined;
  }

  /** Stores the record, sets the core queue's rules, and makes the queue if it is not there yet. */
  async put(r: SqsQueueRecord): Promise<void> {
    await this.stored.put(r.name, r);
    this.keep(r);
    if (!this.exists(r.name)) this.broker.operations.createQueue(r.name);
  }

  private keep(r: SqsQueueRecord): void {
    const settings = settingsOf(r.attributes);
    this.records.set(r.name, { record: r, settings });
    this.broker.setQueueRules(r.name, rulesOf(settings));
  }

  async delete(name: string): Promise<void> {
    if (this.records.delete(name)) await this.stored.delete(name);
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
