// One SNS subscription at work: a durable subscription of the core on its topic (so messages
// published while nothing delivers are kept, by every protocol's publishers), and its deliveries,
// one at a time and in order (a FIFO topic's order reaches a FIFO queue): the filter policy, then
// the queue, the delivery stream or the HTTP endpoint, then the acknowledgement. A queue or stream
// delivery that fails goes back to the subscription's queue with the redelivery backoff; an HTTP
// one is retried under its delivery policy. What fails for good goes to the subscription's dead-letter queue (its
// RedrivePolicy), or is dropped, counted and logged.
import type { Logger } from 'pino';
import type { Broker } from '../../../src/core/broker.ts';
import type { Consumer, Delivery } from '../../../src/core/consumer.ts';
import type { JsonObject } from '../model/shape.ts';
import { arnResource } from '../sqs/names.ts';
import { streamOfArn } from './firehose-delivery.ts';
import { compileFilterPolicy, type FilterPolicy } from './filter-policy.ts';
import { postWithRetries, retryPolicy } from './http-delivery.ts';
import { filterAttributes, messageText, notification, rawAttributes } from './sns-message.ts';
import type { SubscriptionRecord, TopicRecord } from './sns-records.ts';

/** Failed deliveries to a queue before a subscription with a RedrivePolicy dead-letters the message. */
const QUEUE_ATTEMPTS_BEFORE_REDRIVE = 3;

export interface BridgeHost {
  readonly broker: Broker;
  readonly log: Logger;
  record(id: string): SubscriptionRecord | undefined;
  topic(name: string): TopicRecord | undefined;
  topicArn(name: string): string;
  subscriptionArn(r: SubscriptionRecord): string;
  /** The broker's AWS endpoint as clients last addressed it (UnsubscribeURL). */
  baseUrl(): string;
  deliverToQueue(
    queue: string,
    m: { body: string; attributes?: JsonObject; groupId?: string | undefined; dedupId?: string | undefined; fallbackDedupId: string },
  ): Promise<void>;
  /** Puts one record to a delivery stream (a `firehose` subscription); rejects when it is not stored. */
  deliverToStream(stream: string, record: string): Promise<void>;
  /** Counts a delivery event (delivered, filtered, failed, dead-lettered, dropped) for /metrics. */
  count(event: string): void;
}

export const SNS_CLIENT_ID = 'sns';

export class SubscriptionBridge {
  private consumer: Consumer | undefined;
  private chain: Promise<void> = Promise.resolve();
  private readonly stopped = new AbortController();
  private policy: { text: string; scope: string; compiled: FilterPolicy } | undefined;

  constructor(
    private readonly host: BridgeHost,
    readonly id: string,
  ) {}

  async start(): Promise<void> {
    const r = this.host.record(this.id);
    if (!r) return;
    this.consumer = await this.host.broker.subscribe(
      {
        destination: { kind: 'topic', name: r.topic },
        durable: { clientId: SNS_CLIENT_ID, name: this.id },
        prefetch: 64,
        onMessage: (d) => {
          this.chain = this.chain
            .then(() => this.process(d))
            .catch((err: unknown) => {
              this.host.log.error({ err, subscription: this.id }, 'SNS delivery failed unexpectedly: the message goes back for redelivery');
              if (this.consumer?.holds(d.tag)) this.consumer.release(d.tag);
            });
        },
      },
      { connectionId: `sns:${this.id}`, clientId: SNS_CLIENT_ID },
    );
  }

  /** Stops delivering; `remove` also deletes the core subscription and what it still holds. */
  async stop(remove: boolean): Promise<void> {
    this.stopped.abort();
    this.consumer?.close();
    await this.chain;
    if (remove) {
      try {
        this.host.broker.unsubscribeDurable(SNS_CLIENT_ID, this.id);
      } catch (err) {
        this.host.log.debug({ err, subscription: this.id }, 'SNS subscription had no core subscription to remove');
      }
    }
  }

  private async process(d: Delivery): Promise<void> {
    const c = this.consumer;
    const r = this.host.record(this.id);
    if (!c || !c.holds(d.tag) || this.stopped.signal.aborted) return;
    if (!r) {
      c.ack(d.tag);
      return;
    }
    const m = d.message;
    if (!this.passes(r, d)) {
      this.host.count('filtered');
      c.ack(d.tag);
      return;
    }
    const raw = r.attributes.RawMessageDelivery === 'true';
    const topicArn = this.host.topicArn(r.topic);
    const subscriptionArn = this.host.subscriptionArn(r);
    const body = raw
      ? messageText(m, r.protocol)
      : notification(m, r.protocol, { topicArn, subscriptionArn, baseUrl: this.host.baseUrl() });
    let delivered = false;
    try {
      if (r.protocol === 'sqs') {
        const queue = arnResource(r.endpoint, 'sqs') ?? r.endpoint;
        await this.host.deliverToQueue(queue, {
          body,
          ...(raw ? { attributes: rawAttributes(m) as unknown as JsonObject } : {}),
          groupId: m.groupId,
          dedupId: m.dedupId,
          fallbackDedupId: m.messageId ?? m.id,
        });
        delivered = true;
      } else if (r.protocol === 'firehose') {
        await this.host.deliverToStream(streamOfArn(r.endpoint) ?? r.endpoint, body);
        delivered = true;
      } else {
        const topic = this.host.topic(r.topic);
        delivered = await postWithRetries(
          { endpoint: r.endpoint, type: 'Notification', messageId: m.messageId ?? m.id, topicArn, subscriptionArn, body, raw },
          retryPolicy(r.attributes.DeliveryPolicy, topic?.attributes.DeliveryPolicy),
          this.stopped.signal,
        );
      }
    } catch (err) {
      this.host.log.warn({ err, subscription: subscriptionArn, messageId: m.messageId ?? m.id }, `SNS delivery to ${r.protocol} failed`);
    }
    if (!c.holds(d.tag)) return;
    if (delivered) {
      this.host.count('delivered');
      c.ack(d.tag);
      return;
    }
    if (this.stopped.signal.aborted) return;
    this.host.count('failed');
    if (
      r.protocol !== 'http' &&
      r.protocol !== 'https' &&
      (!r.attributes.RedrivePolicy || d.deliveryCount + 1 < QUEUE_ATTEMPTS_BEFORE_REDRIVE)
    ) {
      c.release(d.tag);
      return;
    }
    await this.deadLetter(r, d, body);
    c.ack(d.tag);
  }

  private passes(r: SubscriptionRecord, d: Delivery): boolean {
    const text = r.attributes.FilterPolicy;
    if (text === undefined || text === '') return true;
    const scope = r.attributes.FilterPolicyScope === 'MessageBody' ? 'MessageBody' : 'MessageAttributes';
    if (this.policy?.text !== text || this.policy.scope !== scope)
      this.policy = { text, scope, compiled: compileFilterPolicy(text, scope) };
    return this.policy.compiled.matches(filterAttributes(d.message), messageText(d.message, r.protocol));
  }

  private async deadLetter(r: SubscriptionRecord, d: Delivery, body: string): Promise<void> {
    const m = d.message;
    const arn = parseRedrive(r.attributes.RedrivePolicy);
    const dlq = arn !== undefined ? arnResource(arn, 'sqs') : undefined;
    if (dlq !== undefined) {
      try {
        await this.host.deliverToQueue(dlq, { body, groupId: m.groupId, dedupId: m.dedupId, fallbackDedupId: m.messageId ?? m.id });
        this.host.count('dead-lettered');
        return;
      } catch (err) {
        this.host.log.warn(
          { err, subscription: this.host.subscriptionArn(r), deadLetterQueue: dlq },
          'SNS dead-letter queue refused the message',
        );
      }
    }
    this.host.count('dropped');
    this.host.log.warn(
      { subscription: this.host.subscriptionArn(r), endpoint: r.endpoint, messageId: m.messageId ?? m.id },
      'SNS message dropped: its delivery failed and the subscription has no dead-letter queue',
    );
  }
}

function parseRedrive(text: string | undefined): string | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    const doc = JSON.parse(text) as { deadLetterTargetArn?: unknown };
    return typeof doc.deadLetterTargetArn === 'string' ? doc.deadLetterTargetArn : undefined;
  } catch {
    return undefined;
  }
}
