// The SNS topics and subscriptions this broker keeps: their attributes, tags and state, stored as
// adapter session records (`sns:topic:<name>`, `sns:sub:<id>`; written fenced and sealed, kept
// across restart and failover) and held in memory while the broker is active.
import type { Broker } from '../../../src/core/broker.ts';

const TOPIC = 'sns:topic:';
const SUBSCRIPTION = 'sns:sub:';

export interface TopicRecord {
  name: string;
  attributes: Record<string, string>;
  tags: Record<string, string>;
  createdAt: number;
}

export type SubscriptionProtocol = 'sqs' | 'http' | 'https';

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

  constructor(private readonly broker: Broker) {}

  async load(): Promise<void> {
    for (const s of await this.broker.listSessions(TOPIC)) {
      const t = s.data as unknown as TopicRecord;
      if (typeof t.name === 'string') this.topics.set(t.name, t);
    }
    for (const s of await this.broker.listSessions(SUBSCRIPTION)) {
      const r = s.data as unknown as SubscriptionRecord;
      if (typeof r.id === 'string' && this.topics.has(r.topic)) this.subscriptions.set(r.id, r);
    }
  }

  async putTopic(t: TopicRecord): Promise<void> {
    await this.broker.putSession({
      id: TOPIC + t.name,
      data: t as unknown as Record<string, unknown>,
      updatedAt: Date.now(),
      expiresAt: 0,
    });
    this.topics.set(t.name, t);
  }

  async deleteTopic(name: string): Promise<void> {
    await this.broker.deleteSession(TOPIC + name);
    this.topics.delete(name);
  }

  async putSubscription(r: SubscriptionRecord): Promise<void> {
    await this.broker.putSession({
      id: SUBSCRIPTION + r.id,
      data: r as unknown as Record<string, unknown>,
      updatedAt: Date.now(),
      expiresAt: 0,
    });
    this.subscriptions.set(r.id, r);
  }

  async deleteSubscription(id: string): Promise<void> {
    await this.broker.deleteSession(SUBSCRIPTION + id);
    this.subscriptions.delete(id);
  }

  subscriptionsOf(topic: string): SubscriptionRecord[] {
    return [...this.subscriptions.values()].filter((s) => s.topic === topic);
  }
}
