// The SNS topics and subscriptions this broker keeps: their attributes, tags and state, in the
// store (records `sns:topic:<name>`, `sns:sub:<id>`, stored-records.ts) and in memory while the
// broker is active.
import type { Broker } from '../../../src/core/broker.ts';
import { StoredRecords } from '../stored-records.ts';

export interface TopicRecord {
  name: string;
  attributes: Record<string, string>;
  tags: Record<string, string>;
  createdAt: number;
}

export type SubscriptionProtocol = 'sqs' | 'http' | 'https' | 'firehose';

export interface SubscriptionRecord {
  id: string;
  topic: string;
  protocol: SubscriptionProtocol;
  endpoint: string;
  attributes: Record<string, string>;
  /** Who subscribed (the subscription's Owner). */
  owner: string;
  /** HTTP(S) subscriptions wait for ConfirmSubscription with this token; sqs ones are confirmed at once. */
  confirmed: boolean;
  token: string;
  createdAt: number;
}

export class SnsRecords {
  readonly topics = new Map<string, TopicRecord>();
  readonly subscriptions = new Map<string, SubscriptionRecord>();

  private readonly storedTopics: StoredRecords<TopicRecord>;
  private readonly storedSubscriptions: StoredRecords<SubscriptionRecord>;

  constructor(broker: Broker) {
    this.storedTopics = new StoredRecords(broker, 'sns:topic:');
    this.storedSubscriptions = new StoredRecords(broker, 'sns:sub:');
  }

  async load(): Promise<void> {
    for (const t of await this.storedTopics.load((t) => typeof t.name === 'string')) this.topics.set(t.name, t);
    for (const r of await this.storedSubscriptions.load((r) => typeof r.id === 'string' && this.topics.has(r.topic))) {
      this.subscriptions.set(r.id, r);
    }
  }

  async putTopic(t: TopicRecord): Promise<void> {
    await this.storedTopics.put(t.name, t);
    this.topics.set(t.name, t);
  }

  async deleteTopic(name: string): Promise<void> {
    await this.storedTopics.delete(name);
    this.topics.delete(name);
  }

  async putSubscription(r: SubscriptionRecord): Promise<void> {
    await this.storedSubscriptions.put(r.id, r);
    this.subscriptions.set(r.id, r);
  }

  async deleteSubscription(id: string): Promise<void> {
    await this.storedSubscriptions.delete(id);
    this.subscriptions.delete(id);
  }

  subscriptionsOf(topic: string): SubscriptionRecord[] {
    return [...this.subscriptions.values()].filter((s) => s.topic === topic);
  }
}
