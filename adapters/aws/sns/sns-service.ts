// Amazon SNS on the broker's own topics: an SNS topic named T is topic T of every other protocol
// (MQTT `T`, STOMP `/topic/T`), so a Publish reaches their subscribers and their publishes reach
// T's SNS subscriptions. Topics and subscriptions are kept in the store (sns-records.ts); each
// confirmed subscription delivers through a bridge (subscription-bridge.ts). Served over the query
// protocol, as every SDK speaks SNS. Publishes go through the core's publish, which checks the
// caller's write permission; the other operations are checked here (read to subscribe, and write
// on the queue a subscription delivers to; admin to create, change or delete).
import { randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Broker } from '../../../src/core/broker.ts';
import type { Permission } from '../../../src/core/principal.ts';
import { NotAuthorizedError } from '../../../src/shared/errors.ts';
import type { SecurityService } from '../../../src/security/security-service.ts';
import { authorize, mayUse } from '../access.ts';
import { AwsError, invalidAction, modelled } from '../errors.ts';
import { SequenceNumbers } from '../sequence-numbers.ts';
import { snsModel } from '../model/sns-shapes.ts';
import type { JsonObject } from '../model/shape.ts';
import { objectList, optionalBool, optionalString, requiredString, stringList, stringMap } from '../params.ts';
import type { AwsCall, AwsService } from '../service.ts';
import { arn, arnResource, FIFO_SUFFIX } from '../sqs/names.ts';
import type { SqsService } from '../sqs/sqs-service.ts';
import { bufferQueue } from '../../../src/firehose/delivery-stream.ts';
import type { DeliveryStreams } from '../../../src/firehose/delivery-streams.ts';
import { putToStream, streamOfArn } from './firehose-delivery.ts';
import { postWithRetries, retryPolicy } from './http-delivery.ts';
import { preparePublish } from './sns-message.ts';
import { SnsRecords, type SubscriptionProtocol, type SubscriptionRecord, type TopicRecord } from './sns-records.ts';
import { SubscriptionBridge, type BridgeHost } from './subscription-bridge.ts';
import { checkFilterPolicy, checkSubscriptionAttribute, checkTopicAttribute } from './topic-attributes.ts';

export interface SnsOptions {
  broker: Broker;
  security: SecurityService;
  sqs: SqsService;
  log: Logger;
  region: string;
  accountId: string;
  /** The AWS listener's address, for links in deliveries made before any client addressed it. */
  defaultBaseUrl: string;
  /** Where `firehose` subscriptions put their messages. */
  deliveryStreams: DeliveryStreams;
}

const PAGE = 100;
const MAX_BATCH = 10;
const PROTOCOLS: readonly SubscriptionProtocol[] = ['sqs', 'http', 'https', 'firehose'];

type Handler = (input: JsonObject, call: AwsCall) => Promise<JsonObject | undefined> | JsonObject | undefined;

export class SnsService implements AwsService {
  readonly signingName = 'sns';
  readonly model = snsModel;
  /** ConfirmSubscription is called from the link in a SubscriptionConfirmation: its token is the proof. */
  readonly unsignedActions: ReadonlySet<string> = new Set(['ConfirmSubscription']);
  private readonly records: SnsRecords;
  private readonly bridges = new Map<string, SubscriptionBridge>();
  private readonly handlers: Record<string, Handler>;
  private readonly host: BridgeHost;
  private lastBaseUrl: string;
  private readonly sequences = new SequenceNumbers();
  private readonly confirmations = new AbortController();

  constructor(private readonly o: SnsOptions) {
    this.records = new SnsRecords(o.broker);
    this.lastBaseUrl = o.defaultBaseUrl;
    this.host = {
      broker: o.broker,
      log: o.log,
      record: (id) => this.records.subscriptions.get(id),
      topic: (name) => this.records.topics.get(name),
      topicArn: (name) => this.topicArn(name),
      subscriptionArn: (r) => this.subscriptionArn(r),
      baseUrl: () => this.lastBaseUrl,
      deliverToQueue: (queue, m) => o.sqs.deliver(queue, m),
      deliverToStream: (stream, record) => putToStream(o.deliveryStreams, stream, record),
      count: (event) => o.broker.connections.event('sns', event),
    };
    this.handlers = {
      CreateTopic: (i, c) => this.createTopic(i, c),
      DeleteTopic: (i, c) => this.deleteTopic(i, c),
      ListTopics: (i, c) => this.listTopics(i, c),
      GetTopicAttributes: (i, c) => this.getTopicAttributes(i, c),
      SetTopicAttributes: (i, c) => this.setTopicAttributes(i, c),
      Subscribe: (i, c) => this.subscribe(i, c),
      ConfirmSubscription: (i, c) => this.confirmSubscription(i, c),
      Unsubscribe: (i, c) => this.unsubscribe(i, c),
      ListSubscriptions: (i, c) => this.listSubscriptions(i, c, undefined),
      ListSubscriptionsByTopic: (i, c) => this.listSubscriptions(i, c, this.topicOf(i, c, undefined)),
      GetSubscriptionAttributes: (i, c) => this.getSubscriptionAttributes(i, c),
      SetSubscriptionAttributes: (i, c) => this.setSubscriptionAttributes(i, c),
      Publish: (i, c) => this.publish(i, c),
      PublishBatch: (i, c) => this.publishBatch(i, c),
      TagResource: (i, c) => this.tag(i, c),
      UntagResource: (i, c) => this.untag(i, c),
      ListTagsForResource: (i, c) => this.listTags(i, c),
      AddPermission: (i, c) => void this.topicOf(i, c, 'admin'),
      RemovePermission: (i, c) => void this.topicOf(i, c, 'admin'),
      GetDataProtectionPolicy: (i, c) => ({
        DataProtectionPolicy: this.topicRecord(this.topicByArn(i, c, 'read', 'ResourceArn')).attributes.DataProtectionPolicy ?? '',
      }),
      PutDataProtectionPolicy: (i, c) => this.putDataProtection(i, c),
    };
  }

  /** Reads the stored topics and subscriptions and starts the confirmed subscriptions' deliveries. */
  async start(): Promise<void> {
    await this.records.load();
    for (const r of this.records.subscriptions.values()) if (r.confirmed) await this.startBridge(r.id);
  }

  async close(): Promise<void> {
    this.confirmations.abort();
    await Promise.all([...this.bridges.values()].map((b) => b.stop(false)));
    this.bridges.clear();
  }

  async handle(input: JsonObject, call: AwsCall): Promise<JsonObject | undefined> {
    const h = this.handlers[call.action];
    if (!h) throw invalidAction(call.action);
    this.lastBaseUrl = call.baseUrl;
    try {
      return await h(input, call);
    } catch (err) {
      if (err instanceof NotAuthorizedError) throw modelled(this.model, 'AuthorizationErrorException', err.message);
      throw err;
    }
  }

  // ---- topics -------------------------------------------------------------------------------

  private async createTopic(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const name = requiredString(input, 'Name');
    const attributes = stringMap(input, 'Attributes');
    const fifo = attributes.FifoTopic === 'true';
    const base = fifo ? name.slice(0, -FIFO_SUFFIX.length) : name;
    if (name.endsWith(FIFO_SUFFIX) !== fifo || name.length > 256 || !/^[A-Za-z0-9_-]+$/.test(base)) {
      throw new AwsError(
        'InvalidParameter',
        fifo
          ? 'Invalid parameter: Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.'
          : 'Invalid parameter: Topic Name',
      );
    }
    this.authorize(call, 'admin', name);
    for (const [k, v] of Object.entries(attributes)) checkTopicAttribute(k, v, true, fifo);
    const tags = tagList(input, 'Tags');
    const existing = this.records.topics.get(name);
    if (existing) {
      for (const [k, v] of Object.entries(attributes)) {
        if ((existing.attributes[k] ?? '') !== v)
          throw new AwsError('InvalidParameter', 'Invalid parameter: Attributes Reason: Topic already exists with different attributes');
      }
      return { TopicArn: this.topicArn(name) };
    }
    if (attributes.DataProtectionPolicy === undefined && typeof input.DataProtectionPolicy === 'string')
      attributes.DataProtectionPolicy = input.DataProtectionPolicy;
    await this.records.putTopic({ name, attributes, tags, createdAt: Date.now() });
    return { TopicArn: this.topicArn(name) };
  }

  private async deleteTopic(input: JsonObject, call: AwsCall): Promise<undefined> {
    const arnText = requiredString(input, 'TopicArn');
    const name = arnResource(arnText, 'sns');
    if (name === undefined) throw new AwsError('InvalidParameter', 'Invalid parameter: TopicArn');
    if (!this.records.topics.has(name)) return undefined;
    this.authorize(call, 'admin', name);
    for (const r of this.records.subscriptionsOf(name)) await this.removeSubscription(r);
    await this.records.deleteTopic(name);
    return undefined;
  }

  private listTopics(input: JsonObject, call: AwsCall): JsonObject {
    const names = [...this.records.topics.keys()].filter((n) => this.mayAny(call, n)).sort();
    const { page, next } = paginate(names, optionalString(input, 'NextToken'));
    return { Topics: page.map((n) => ({ TopicArn: this.topicArn(n) })), ...(next !== undefined ? { NextToken: next } : {}) };
  }

  private getTopicAttributes(input: JsonObject, call: AwsCall): JsonObject {
    const t = this.topicRecord(this.topicOf(input, call, 'read'));
    const subs = this.records.subscriptionsOf(t.name);
    const attributes: Record<string, string> = {
      DisplayName: '',
      ...t.attributes,
      TopicArn: this.topicArn(t.name),
      Owner: this.o.accountId,
      Policy: t.attributes.Policy ?? defaultTopicPolicy(this.topicArn(t.name), this.o.accountId),
      SubscriptionsConfirmed: String(subs.filter((s) => s.confirmed).length),
      SubscriptionsPending: String(subs.filter((s) => !s.confirmed).length),
      SubscriptionsDeleted: '0',
      EffectiveDeliveryPolicy: t.attributes.DeliveryPolicy ?? JSON.stringify({ http: { defaultHealthyRetryPolicy: retryPolicy() } }),
    };
    return { Attributes: attributes };
  }

  private async setTopicAttributes(input: JsonObject, call: AwsCall): Promise<undefined> {
    const t = this.topicRecord(this.topicOf(input, call, 'admin'));
    const name = requiredString(input, 'AttributeName');
    const value = optionalString(input, 'AttributeValue') ?? '';
    checkTopicAttribute(name, value, false, t.attributes.FifoTopic === 'true');
    const attributes = { ...t.attributes, [name]: value };
    if (value === '') delete attributes[name];
    await this.records.putTopic({ ...t, attributes });
    return undefined;
  }

  private async putDataProtection(input: JsonObject, call: AwsCall): Promise<undefined> {
    const t = this.topicRecord(this.topicByArn(input, call, 'admin', 'ResourceArn'));
    const policy = requiredString(input, 'DataProtectionPolicy');
    checkTopicAttribute('DataProtectionPolicy', policy, false, false);
    await this.records.putTopic({ ...t, attributes: { ...t.attributes, DataProtectionPolicy: policy } });
    return undefined;
  }

  // ---- subscriptions ------------------------------------------------------------------------

  private async subscribe(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const topic = this.topicOf(input, call, 'read');
    const t = this.topicRecord(topic);
    const protocol = requiredString(input, 'Protocol').toLowerCase() as SubscriptionProtocol;
    if (!PROTOCOLS.includes(protocol)) {
      throw new AwsError(
        'InvalidParameter',
        `Invalid parameter: Amazon SNS does not support this protocol string: ${protocol} (this broker delivers to sqs, http, https and firehose)`,
      );
    }
    const endpoint = optionalString(input, 'Endpoint') ?? '';
    this.checkEndpoint(call, protocol, endpoint, t);
    const attributes = stringMap(input, 'Attributes');
    if (protocol === 'firehose' && (attributes.SubscriptionRoleArn ?? '') === '')
      throw new AwsError(
        'InvalidParameter',
        'Invalid parameter: Attributes Reason: SubscriptionRoleArn is required for the firehose protocol',
      );
    for (const [k, v] of Object.entries(attributes)) checkSubscriptionAttribute(k, v);
    checkFilterPolicy(attributes.FilterPolicy, attributes.FilterPolicyScope);
    const same = this.records.subscriptionsOf(topic).find((s) => s.protocol === protocol && s.endpoint === endpoint);
    if (same) {
      for (const [k, v] of Object.entries(attributes)) {
        if ((same.attributes[k] ?? '') !== v)
          throw new AwsError(
            'InvalidParameter',
            'Invalid parameter: Attributes Reason: Subscription already exists with different attributes',
          );
      }
      return {
        SubscriptionArn:
          same.confirmed || optionalBool(input, 'ReturnSubscriptionArn') ? this.subscriptionArn(same) : 'pending confirmation',
      };
    }
    const r: SubscriptionRecord = {
      id: randomUUID(),
      topic,
      protocol,
      endpoint,
      attributes,
      owner: this.o.accountId,
      confirmed: protocol === 'sqs' || protocol === 'firehose',
      token: randomBytes(32).toString('hex'),
      createdAt: Date.now(),
    };
    await this.records.putSubscription(r);
    if (r.confirmed) await this.startBridge(r.id);
    else this.sendConfirmation(r, call.baseUrl);
    return {
      SubscriptionArn:
        r.confirmed || optionalBool(input, 'ReturnSubscriptionArn') === true ? this.subscriptionArn(r) : 'pending confirmation',
    };
  }

  private checkEndpoint(call: AwsCall, protocol: SubscriptionProtocol, endpoint: string, t: TopicRecord): void {
    if (protocol === 'sqs') {
      const queue = arnResource(endpoint, 'sqs');
      if (queue === undefined) throw new AwsError('InvalidParameter', 'Invalid parameter: SQS endpoint ARN');
      if (!this.o.security.isAllowed(call.principal, 'write', { kind: 'queue', name: queue })) {
        throw modelled(this.model, 'AuthorizationErrorException', `User ${call.principal.username} may not send to queue ${queue}`);
      }
      if (t.attributes.FifoTopic === 'true' && !queue.endsWith(FIFO_SUFFIX)) {
        throw new AwsError('InvalidParameter', 'Invalid parameter: Invalid SQS endpoint ARN: a FIFO topic delivers only to FIFO queues');
      }
      return;
    }
    if (protocol === 'firehose') {
      const stream = streamOfArn(endpoint);
      if (stream === undefined || !this.o.deliveryStreams.has(stream))
        throw new AwsError('InvalidParameter', 'Invalid parameter: Endpoint must be the ARN of an existing Firehose delivery stream');
      if (!this.o.security.isAllowed(call.principal, 'write', { kind: 'queue', name: bufferQueue(stream) })) {
        throw modelled(
          this.model,
          'AuthorizationErrorException',
          `User ${call.principal.username} may not put to delivery stream ${stream}`,
        );
      }
      if (t.attributes.FifoTopic === 'true')
        throw new AwsError('InvalidParameter', 'Invalid parameter: FIFO topics deliver only to SQS FIFO queues');
      return;
    }
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new AwsError('InvalidParameter', `Invalid parameter: Endpoint must match the specified protocol`);
    }
    if (url.protocol !== `${protocol}:`)
      throw new AwsError('InvalidParameter', 'Invalid parameter: Endpoint must match the specified protocol');
    if (t.attributes.FifoTopic === 'true')
      throw new AwsError('InvalidParameter', 'Invalid parameter: FIFO topics deliver only to SQS FIFO queues');
  }

  /** Sends the SubscriptionConfirmation an HTTP(S) subscriber answers by calling its SubscribeURL. */
  private sendConfirmation(r: SubscriptionRecord, baseUrl: string): void {
    const topicArn = this.topicArn(r.topic);
    const subscribeUrl = `${baseUrl}/?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(topicArn)}&Token=${r.token}`;
    const messageId = randomUUID();
    const body = JSON.stringify({
      Type: 'SubscriptionConfirmation',
      MessageId: messageId,
      Token: r.token,
      TopicArn: topicArn,
      Message: `You have chosen to subscribe to the topic ${topicArn}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
      SubscribeURL: subscribeUrl,
      Timestamp: new Date().toISOString(),
    });
    void postWithRetries(
      { endpoint: r.endpoint, type: 'SubscriptionConfirmation', messageId, topicArn, body, raw: false },
      retryPolicy(r.attributes.DeliveryPolicy),
      this.confirmations.signal,
    ).then((ok) => {
      if (!ok) this.o.log.warn({ topic: r.topic, endpoint: r.endpoint }, 'SNS subscription confirmation could not be delivered');
    });
  }

  private async confirmSubscription(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const topic = this.topicOf(input, call, undefined);
    const token = requiredString(input, 'Token');
    const r = this.records.subscriptionsOf(topic).find((s) => s.token === token);
    if (!r) throw new AwsError('InvalidParameter', 'Invalid parameter: Token');
    if (!r.confirmed) {
      await this.records.putSubscription({ ...r, confirmed: true });
      await this.startBridge(r.id);
    }
    return { SubscriptionArn: this.subscriptionArn(r) };
  }

  private async unsubscribe(input: JsonObject, call: AwsCall): Promise<undefined> {
    const r = this.subscriptionOf(input);
    if (!this.o.security.isAllowed(call.principal, 'read', { kind: 'topic', name: r.topic }) && !this.mayAny(call, r.topic)) {
      throw modelled(this.model, 'AuthorizationErrorException', `User ${call.principal.username} may not unsubscribe from ${r.topic}`);
    }
    await this.removeSubscription(r);
    return undefined;
  }

  private listSubscriptions(input: JsonObject, call: AwsCall, topic: string | undefined): JsonObject {
    const subs = [...this.records.subscriptions.values()]
      .filter((s) => (topic === undefined || s.topic === topic) && this.mayAny(call, s.topic))
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
    const { page, next } = paginate(
      subs.map((s) => s.id),
      optionalString(input, 'NextToken'),
      false,
    );
    const byId = new Map(subs.map((s) => [s.id, s]));
    return {
      Subscriptions: page.map((id) => {
        const s = byId.get(id) as SubscriptionRecord;
        return {
          SubscriptionArn: s.confirmed ? this.subscriptionArn(s) : 'PendingConfirmation',
          Owner: s.owner,
          Protocol: s.protocol,
          Endpoint: s.endpoint,
          TopicArn: this.topicArn(s.topic),
        };
      }),
      ...(next !== undefined ? { NextToken: next } : {}),
    };
  }

  private getSubscriptionAttributes(input: JsonObject, call: AwsCall): JsonObject {
    const r = this.subscriptionOf(input);
    this.authorize(call, 'read', r.topic);
    return {
      Attributes: {
        ...r.attributes,
        SubscriptionArn: this.subscriptionArn(r),
        TopicArn: this.topicArn(r.topic),
        Protocol: r.protocol,
        Endpoint: r.endpoint,
        Owner: r.owner,
        PendingConfirmation: String(!r.confirmed),
        ConfirmationWasAuthenticated: String(r.confirmed && (r.protocol === 'sqs' || r.protocol === 'firehose')),
        RawMessageDelivery: r.attributes.RawMessageDelivery ?? 'false',
        ...(r.attributes.FilterPolicy !== undefined ? { FilterPolicyScope: r.attributes.FilterPolicyScope ?? 'MessageAttributes' } : {}),
      },
    };
  }

  private async setSubscriptionAttributes(input: JsonObject, call: AwsCall): Promise<undefined> {
    const r = this.subscriptionOf(input);
    this.authorize(call, 'read', r.topic);
    const name = requiredString(input, 'AttributeName');
    const value = optionalString(input, 'AttributeValue') ?? '';
    checkSubscriptionAttribute(name, value);
    const attributes = { ...r.attributes, [name]: value };
    if (value === '') delete attributes[name];
    checkFilterPolicy(attributes.FilterPolicy, attributes.FilterPolicyScope);
    await this.records.putSubscription({ ...r, attributes });
    return undefined;
  }

  // ---- publishing ---------------------------------------------------------------------------

  private async publish(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    if (optionalString(input, 'PhoneNumber') !== undefined)
      throw new AwsError('InvalidParameter', 'Invalid parameter: PhoneNumber Reason: this broker does not send SMS');
    const topicArn = optionalString(input, 'TopicArn') ?? optionalString(input, 'TargetArn');
    if (topicArn === undefined)
      throw new AwsError('InvalidParameter', 'Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter');
    const t = this.topicRecord(this.topicFromArn(topicArn));
    const p = preparePublish(this.topicSettings(t), input, () => this.sequences.next());
    await this.o.broker.publish(p.input, { connectionId: call.connectionId, principal: call.principal });
    return { MessageId: p.messageId, ...(p.sequenceNumber !== undefined ? { SequenceNumber: p.sequenceNumber } : {}) };
  }

  private async publishBatch(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const t = this.topicRecord(this.topicOf(input, call, undefined));
    const entries = objectList(input, 'PublishBatchRequestEntries');
    if (entries.length === 0)
      throw modelled(this.model, 'EmptyBatchRequestException', 'The batch request doesn\u2019t contain any entries.');
    if (entries.length > MAX_BATCH)
      throw modelled(
        this.model,
        'TooManyEntriesInBatchRequestException',
        `The batch request contains more entries than permissible (${MAX_BATCH}).`,
      );
    const ids = new Set<string>();
    for (const e of entries) {
      const id = e.Id;
      if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,80}$/.test(id))
        throw modelled(
          this.model,
          'InvalidBatchEntryIdException',
          'The Id of a batch entry in a batch request doesn\u2019t abide by the specification.',
        );
      if (ids.has(id))
        throw modelled(this.model, 'BatchEntryIdsNotDistinctException', 'Two or more batch entries in the request have the same Id.');
      ids.add(id);
    }
    const total = entries.reduce((n, e) => n + (typeof e.Message === 'string' ? Buffer.byteLength(e.Message) : 0), 0);
    if (total > 262_144)
      throw modelled(this.model, 'BatchRequestTooLongException', 'The length of all the messages put together is more than the limit.');
    const settings = this.topicSettings(t);
    const ctx = { connectionId: call.connectionId, principal: call.principal };
    const Successful: JsonObject[] = [];
    const Failed: JsonObject[] = [];
    for (const e of entries) {
      try {
        const p = preparePublish(settings, e, () => this.sequences.next());
        await this.o.broker.publish(p.input, ctx);
        Successful.push({
          Id: String(e.Id),
          MessageId: p.messageId,
          ...(p.sequenceNumber !== undefined ? { SequenceNumber: p.sequenceNumber } : {}),
        });
      } catch (err) {
        if (err instanceof NotAuthorizedError) throw err;
        const a = err instanceof AwsError ? err : undefined;
        Failed.push({
          Id: String(e.Id),
          Code: a?.code ?? 'InternalError',
          Message: err instanceof Error ? err.message : String(err),
          SenderFault: a?.sender ?? false,
        });
      }
    }
    return { Successful, Failed };
  }

  // ---- tags ---------------------------------------------------------------------------------

  private async tag(input: JsonObject, call: AwsCall): Promise<undefined> {
    const t = this.topicRecord(this.topicByArn(input, call, 'admin', 'ResourceArn'));
    const tags = { ...t.tags, ...tagList(input, 'Tags') };
    if (Object.keys(tags).length > 50)
      throw modelled(this.model, 'TagLimitExceededException', 'Could not complete request: tag quota of per resource exceeded');
    await this.records.putTopic({ ...t, tags });
    return undefined;
  }

  private async untag(input: JsonObject, call: AwsCall): Promise<undefined> {
    const t = this.topicRecord(this.topicByArn(input, call, 'admin', 'ResourceArn'));
    const tags = { ...t.tags };
    for (const k of stringList(input, 'TagKeys')) delete tags[k];
    await this.records.putTopic({ ...t, tags });
    return undefined;
  }

  private listTags(input: JsonObject, call: AwsCall): JsonObject {
    const t = this.topicRecord(this.topicByArn(input, call, 'read', 'ResourceArn'));
    return { Tags: Object.entries(t.tags).map(([Key, Value]) => ({ Key, Value })) };
  }

  // ---- helpers ------------------------------------------------------------------------------

  private async startBridge(id: string): Promise<void> {
    if (this.bridges.has(id)) return;
    const b = new SubscriptionBridge(this.host, id);
    this.bridges.set(id, b);
    try {
      await b.start();
    } catch (err) {
      this.bridges.delete(id);
      throw err;
    }
  }

  private async removeSubscription(r: SubscriptionRecord): Promise<void> {
    const b = this.bridges.get(r.id);
    this.bridges.delete(r.id);
    if (b) await b.stop(true);
    await this.records.deleteSubscription(r.id);
  }

  private topicOf(input: JsonObject, call: AwsCall, permission: Permission | undefined): string {
    const name = this.topicFromArn(requiredString(input, 'TopicArn'));
    if (permission !== undefined) this.authorize(call, permission, name);
    return name;
  }

  private topicByArn(input: JsonObject, call: AwsCall, permission: Permission, field: string): string {
    const value = requiredString(input, field);
    const name = arnResource(value, 'sns');
    if (name === undefined || !this.records.topics.has(name))
      throw modelled(this.model, 'ResourceNotFoundException', 'Resource does not exist');
    this.authorize(call, permission, name);
    return name;
  }

  private topicFromArn(value: string): string {
    const name = arnResource(value, 'sns');
    if (name === undefined) throw new AwsError('InvalidParameter', `Invalid parameter: TopicArn`);
    if (!this.records.topics.has(name)) throw modelled(this.model, 'NotFoundException', 'Topic does not exist');
    return name;
  }

  private topicRecord(name: string): TopicRecord {
    const t = this.records.topics.get(name);
    if (!t) throw modelled(this.model, 'NotFoundException', 'Topic does not exist');
    return t;
  }

  private subscriptionOf(input: JsonObject): SubscriptionRecord {
    const value = requiredString(input, 'SubscriptionArn');
    const id = value.split(':').pop() ?? '';
    const r = this.records.subscriptions.get(id);
    if (!r || this.subscriptionArn(r) !== value) throw modelled(this.model, 'NotFoundException', 'Subscription does not exist');
    return r;
  }

  private topicSettings(t: TopicRecord): { name: string; fifo: boolean; contentBasedDeduplication: boolean } {
    return {
      name: t.name,
      fifo: t.attributes.FifoTopic === 'true',
      contentBasedDeduplication: t.attributes.ContentBasedDeduplication === 'true',
    };
  }

  private authorize(call: AwsCall, permission: Permission, topic: string): void {
    authorize(this.o.security, call.principal, permission, { kind: 'topic', name: topic }, (m) =>
      modelled(this.model, 'AuthorizationErrorException', m),
    );
  }

  private mayAny(call: AwsCall, topic: string): boolean {
    return mayUse(this.o.security, call.principal, { kind: 'topic', name: topic });
  }

  private topicArn(name: string): string {
    return arn('sns', this.o.region, this.o.accountId, name);
  }

  private subscriptionArn(r: SubscriptionRecord): string {
    return `${this.topicArn(r.topic)}:${r.id}`;
  }
}

function tagList(input: JsonObject, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of objectList(input, name)) {
    if (typeof t.Key !== 'string' || t.Key === '' || typeof t.Value !== 'string')
      throw new AwsError('InvalidParameter', 'Invalid parameter: Tags Reason: each tag needs a Key and a Value');
    out[t.Key] = t.Value;
  }
  return out;
}

/** Pages of 100 by the last item's position (a token is base64url of the last item of the page before). */
function paginate(items: string[], token: string | undefined, sorted = true): { page: string[]; next: string | undefined } {
  let start = 0;
  if (token !== undefined) {
    const after = Buffer.from(token, 'base64url').toString('utf8');
    const i = items.indexOf(after);
    if (i < 0 && !sorted) throw new AwsError('InvalidParameter', 'Invalid parameter: NextToken');
    start = i >= 0 ? i + 1 : items.findIndex((x) => x > after);
    if (start < 0) start = items.length;
  }
  const page = items.slice(start, start + PAGE);
  const next = start + PAGE < items.length ? Buffer.from(page[page.length - 1] as string).toString('base64url') : undefined;
  return { page, next };
}

function defaultTopicPolicy(topicArn: string, account: string): string {
  return JSON.stringify({
    Version: '2008-10-17',
    Id: '__default_policy_ID',
    Statement: [
      {
        Sid: '__default_statement_ID',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: [
          'SNS:GetTopicAttributes',
          'SNS:SetTopicAttributes',
          'SNS:AddPermission',
          'SNS:RemovePermission',
          'SNS:DeleteTopic',
          'SNS:Subscribe',
          'SNS:ListSubscriptionsByTopic',
          'SNS:Publish',
        ],
        Resource: topicArn,
        Condition: { StringEquals: { 'AWS:SourceOwner': account } },
      },
    ],
  });
}
