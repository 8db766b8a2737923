// Amazon SQS on the broker's own queues: an SQS queue named X is queue X of every other protocol.
// One handler per operation, taking the input in its JSON shape from either wire protocol (JSON
// 1.0 `AmazonSQS.*` or the query protocol). Queue attributes and tags live in the queue catalog;
// receiving, visibility and receipts in each queue's receiver; sends go through the core's publish,
// which checks the caller's write permission; the other operations are checked here against the
// same authorization map (read to receive and delete, admin to create, change or delete a queue).
import type { Logger } from 'pino';
import type { Broker } from '../../../src/core/broker.ts';
import type { ClientContext, Permission } from '../../../src/core/principal.ts';
import type { SecurityService } from '../../../src/security/security-service.ts';
import { authorize, mayUse } from '../access.ts';
import { SequenceNumbers } from '../sequence-numbers.ts';
import { accessDenied, AwsError, invalidAction, missingParameter, modelled } from '../errors.ts';
import type { AwsMetrics } from '../metrics.ts';
import { sqsModel } from '../model/sqs-shapes.ts';
import { sqsMoveTaskModel } from '../model/sqs-move-task-shapes.ts';
import type { JsonObject, ServiceModel } from '../model/shape.ts';
import { objectList, optionalInt, optionalString, requiredString, stringList, stringMap } from '../params.ts';
import type { AwsCall, AwsService } from '../service.ts';
import { arn, arnResource, FIFO_SUFFIX, queueNameFromUrl, queueNameProblem, queueUrl } from './names.ts';
import {
  checkAttributes,
  COMPUTED,
  defaultAttributes,
  normalized,
  settingsOf,
  type Attributes,
  type QueueSettings,
} from './queue-attributes.ts';
import { QueueCatalog, type SqsQueueRecord } from './queue-catalog.ts';
import { QueueReceiver } from './receiver.ts';
import { prepareSend, receivedMessage } from './sqs-message.ts';
import { checkBatch } from './batch.ts';
import { MoveTasks } from './move-tasks.ts';

export interface SqsOptions {
  broker: Broker;
  log: Logger;
  security: SecurityService;
  metrics: AwsMetrics;
  region: string;
  accountId: string;
}

const PURGE_INTERVAL_MS = 60_000;
const MAX_BATCH_BYTES = 1_048_576;

type Handler = (input: JsonObject, call: AwsCall) => Promise<JsonObject | undefined> | JsonObject | undefined;

export class SqsService implements AwsService {
  readonly signingName = 'sqs';
  readonly model: ServiceModel = {
    ...sqsModel,
    operations: { ...sqsModel.operations, ...sqsMoveTaskModel.operations },
    shapes: { ...sqsModel.shapes, ...sqsMoveTaskModel.shapes },
  };
  readonly jsonTargetPrefix = 'AmazonSQS';
  readonly jsonVersion = '1.0' as const;
  readonly jsonNamespace = 'com.amazonaws.sqs';
  private readonly catalog: QueueCatalog;
  private readonly receivers = new Map<string, QueueReceiver>();
  private readonly purgedAt = new Map<string, number>();
  private readonly sequences = new SequenceNumbers();
  private readonly handlers: Record<string, Handler>;
  private readonly moves: MoveTasks;

  constructor(private readonly o: SqsOptions) {
    this.catalog = new QueueCatalog(o.broker);
    this.moves = new MoveTasks(o.broker, o.log);
    this.handlers = {
      CreateQueue: (i, c) => this.createQueue(i, c),
      GetQueueUrl: (i, c) => this.getQueueUrl(i, c),
      ListQueues: (i, c) => this.listQueues(i, c),
      DeleteQueue: (i, c) => this.deleteQueue(i, c),
      GetQueueAttributes: (i, c) => this.getQueueAttributes(i, c),
      SetQueueAttributes: (i, c) => this.setQueueAttributes(i, c),
      TagQueue: (i, c) => this.tagQueue(i, c),
      UntagQueue: (i, c) => this.untagQueue(i, c),
      ListQueueTags: (i, c) => ({ Tags: this.record(this.queueOf(i, c, 'read')).tags }),
      PurgeQueue: (i, c) => this.purgeQueue(i, c),
      SendMessage: (i, c) => this.sendMessage(i, c),
      SendMessageBatch: (i, c) => this.sendMessageBatch(i, c),
      ReceiveMessage: (i, c) => this.receiveMessage(i, c),
      DeleteMessage: (i, c) => this.deleteMessage(i, c),
      DeleteMessageBatch: (i, c) => this.deleteMessageBatch(i, c),
      ChangeMessageVisibility: (i, c) => this.changeVisibility(i, c),
      ChangeMessageVisibilityBatch: (i, c) => this.changeVisibilityBatch(i, c),
      ListDeadLetterSourceQueues: (i, c) => this.deadLetterSources(i, c),
      StartMessageMoveTask: (i, c) => this.startMoveTask(i, c),
      ListMessageMoveTasks: (i, c) => this.listMoveTasks(i, c),
      CancelMessageMoveTask: (i) => ({ ApproximateNumberOfMessagesMoved: this.moves.cancel(requiredString(i, 'TaskHandle')) }),
      AddPermission: (i, c) => void this.queueOf(i, c, 'admin'),
      RemovePermission: (i, c) => void this.queueOf(i, c, 'admin'),
    };
  }

  /** Reads the stored queue records (the broker's start, and each takeover). */
  start(): Promise<void> {
    return this.catalog.load();
  }

  close(): void {
    this.moves.close();
    for (const r of this.receivers.values()) r.close();
    this.receivers.clear();
  }

  async handle(input: JsonObject, call: AwsCall): Promise<JsonObject | undefined> {
    const h = this.handlers[call.action];
    if (!h) throw invalidAction(call.action);
    return h(input, call);
  }

  // ---- queues -------------------------------------------------------------------------------

  private async createQueue(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const name = requiredString(input, 'QueueName');
    const given = stringMap(input, 'Attributes');
    const tags = stringMap(input, 'tags');
    const fifo = given.FifoQueue === 'true';
    const problem = queueNameProblem(name, fifo);
    if (problem !== undefined) throw new AwsError('InvalidParameterValue', problem);
    this.authorize(call, 'admin', name);
    checkAttributes(given, fifo, true);
    const attributes = normalized(given);
    checkDeadLetterTarget(attributes, this.catalog, fifo);
    const existing = this.catalog.get(name);
    if (existing && existing.createdAt > 0) {
      for (const [k, v] of Object.entries(attributes)) {
        if (existing.attributes[k] !== v) {
          throw modelled(
            this.model,
            'QueueNameExists',
            `A queue already exists with the same name and a different value for attribute ${k}`,
          );
        }
      }
      return { QueueUrl: this.url(call, name) };
    }
    const now = Date.now();
    await this.catalog.put({ name, attributes: { ...defaultAttributes(fifo), ...attributes }, tags, createdAt: now, modifiedAt: now });
    return { QueueUrl: this.url(call, name) };
  }

  private getQueueUrl(input: JsonObject, call: AwsCall): JsonObject {
    const name = requiredString(input, 'QueueName');
    if (!this.catalog.exists(name)) throw this.noQueue();
    this.authorizeAny(call, name);
    return { QueueUrl: this.url(call, name) };
  }

  private listQueues(input: JsonObject, call: AwsCall): JsonObject {
    const prefix = optionalString(input, 'QueueNamePrefix') ?? '';
    const max = optionalInt(input, 'MaxResults', 1, 1000);
    const token = optionalString(input, 'NextToken');
    let after = '';
    if (token !== undefined) {
      after = Buffer.from(token, 'base64url').toString('utf8');
      if (token === '' || !after.startsWith('q:')) throw new AwsError('InvalidParameterValue', 'Invalid NextToken value.');
      after = after.slice(2);
    }
    const names = this.catalog
      .names()
      .filter((n) => n.startsWith(prefix) && n > after && this.mayAny(call, n))
      .sort();
    const page = names.slice(0, max ?? 1000);
    const out: JsonObject = { QueueUrls: page.map((n) => this.url(call, n)) };
    if (max !== undefined && names.length > page.length)
      out.NextToken = Buffer.from(`q:${page[page.length - 1] ?? ''}`).toString('base64url');
    return out;
  }

  private async deleteQueue(input: JsonObject, call: AwsCall): Promise<undefined> {
    const name = this.queueOf(input, call, 'admin');
    this.receivers.get(name)?.close();
    this.receivers.delete(name);
    this.o.broker.deleteQueue(name);
    await this.catalog.delete(name);
    return undefined;
  }

  private getQueueAttributes(input: JsonObject, call: AwsCall): JsonObject {
    const name = this.queueOf(input, call, 'read');
    const asked = stringList(input, 'AttributeNames');
    const r = this.record(name);
    const info = this.o.broker.getQueue(name);
    const all: Attributes = {
      ...r.attributes,
      ApproximateNumberOfMessages: String(info?.ready ?? 0),
      ApproximateNumberOfMessagesNotVisible: String(info?.inflight ?? 0),
      ApproximateNumberOfMessagesDelayed: String(info?.delayed ?? 0),
      CreatedTimestamp: String(Math.floor(r.createdAt / 1000)),
      LastModifiedTimestamp: String(Math.floor(r.modifiedAt / 1000)),
      QueueArn: this.arn(name),
    };
    if (asked.includes('All')) return { Attributes: all };
    const out: Attributes = {};
    for (const a of asked) {
      if (!(a in all) && !(COMPUTED as readonly string[]).includes(a) && !KNOWN_UNSET.has(a)) {
        throw new AwsError('InvalidAttributeName', `Unknown Attribute ${a}.`);
      }
      const v = all[a];
      if (v !== undefined) out[a] = v;
    }
    return Object.keys(out).length > 0 ? { Attributes: out } : {};
  }

  private async setQueueAttributes(input: JsonObject, call: AwsCall): Promise<undefined> {
    const name = this.queueOf(input, call, 'admin');
    const given = stringMap(input, 'Attributes');
    const r = this.record(name);
    const fifo = r.attributes.FifoQueue === 'true';
    checkAttributes(given, fifo, false);
    checkDeadLetterTarget(given, this.catalog, fifo);
    const attributes = { ...r.attributes, ...normalized(given) };
    for (const [k, v] of Object.entries(given))
      if (v === '' && (k === 'RedrivePolicy' || k === 'RedriveAllowPolicy' || k === 'Policy')) delete attributes[k];
    await this.catalog.put({ ...r, attributes, createdAt: r.createdAt || Date.now(), modifiedAt: Date.now() });
    return undefined;
  }

  private async tagQueue(input: JsonObject, call: AwsCall): Promise<undefined> {
    const name = this.queueOf(input, call, 'admin');
    const tags = stringMap(input, 'Tags');
    const r = this.record(name);
    const merged = { ...r.tags, ...tags };
    if (Object.keys(merged).length > 50) throw new AwsError('InvalidParameterValue', 'Too many tags: a queue has at most 50.');
    await this.catalog.put({ ...r, tags: merged, createdAt: r.createdAt || Date.now() });
    return undefined;
  }

  private async untagQueue(input: JsonObject, call: AwsCall): Promise<undefined> {
    const name = this.queueOf(input, call, 'admin');
    const keys = stringList(input, 'TagKeys');
    const r = this.record(name);
    const tags = { ...r.tags };
    for (const k of keys) delete tags[k];
    await this.catalog.put({ ...r, tags, createdAt: r.createdAt || Date.now() });
    return undefined;
  }

  private async purgeQueue(input: JsonObject, call: AwsCall): Promise<undefined> {
    const name = this.queueOf(input, call, 'admin');
    const last = this.purgedAt.get(name);
    const now = Date.now();
    if (last !== undefined && now - last < PURGE_INTERVAL_MS) {
      throw modelled(this.model, 'PurgeQueueInProgress', `Only one PurgeQueue operation on ${name} is allowed every 60 seconds.`);
    }
    this.purgedAt.set(name, now);
    this.receivers.get(name)?.purgeInflight();
    await this.o.broker.operations.purgeQueue(name);
    return undefined;
  }

  private deadLetterSources(input: JsonObject, call: AwsCall): JsonObject {
    const name = this.queueOf(input, call, 'read');
    const sources = this.catalog.names().filter((n) => this.catalog.settings(n)?.deadLetterQueue === name);
    return { queueUrls: sources.map((n) => this.url(call, n)) };
  }

  // ---- dead-letter redrive ------------------------------------------------------------------

  private startMoveTask(input: JsonObject, call: AwsCall): JsonObject {
    const sourceArn = requiredString(input, 'SourceArn');
    const source = this.queueByArn(sourceArn, 'SourceArn');
    this.authorize(call, 'admin', source);
    if (!this.catalog.names().some((n) => this.catalog.settings(n)?.deadLetterQueue === source)) {
      throw new AwsError('InvalidParameterValue', 'Source queue must be configured as a Dead Letter Queue.');
    }
    const destinationArn = optionalString(input, 'DestinationArn');
    let destination: { name: string; arn: string } | undefined;
    if (destinationArn !== undefined) {
      const name = this.queueByArn(destinationArn, 'DestinationArn');
      this.authorize(call, 'write', name);
      destination = { name, arn: destinationArn };
    }
    const rate = optionalInt(input, 'MaxNumberOfMessagesPerSecond', 1, 500);
    return { TaskHandle: this.moves.start(source, sourceArn, destination, rate) };
  }

  private listMoveTasks(input: JsonObject, call: AwsCall): JsonObject {
    const source = this.queueByArn(requiredString(input, 'SourceArn'), 'SourceArn');
    this.authorize(call, 'read', source);
    const max = optionalInt(input, 'MaxResults', 1, 10) ?? 1;
    return { Results: this.moves.list(source, max) as unknown as JsonObject[] };
  }

  private queueByArn(value: string, field: string): string {
    const name = arnResource(value, 'sqs');
    if (name === undefined)
      throw new AwsError('InvalidParameterValue', `Value ${value} for parameter ${field} is invalid. Reason: not an SQS queue ARN.`);
    if (!this.catalog.exists(name))
      throw new AwsError('ResourceNotFoundException', `The resource that you specified for the ${field} parameter doesn't exist.`, 404);
    return name;
  }

  // ---- messages -----------------------------------------------------------------------------

  private async sendMessage(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const name = this.queueOf(input, call, undefined);
    const s = this.settingsOf(name);
    const prepared = prepareSend(name, s, input, Date.now(), () => this.sequences.next());
    await this.o.broker.publish(prepared.input, this.ctx(call));
    return prepared.result as unknown as JsonObject;
  }

  private async sendMessageBatch(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const name = this.queueOf(input, call, undefined);
    const s = this.settingsOf(name);
    const entries = objectList(input, 'Entries');
    checkBatch(this.model, entries);
    const now = Date.now();
    const prepared = entries.map((e) => {
      try {
        return prepareSend(name, s, e, now, () => this.sequences.next());
      } catch (err) {
        if (err instanceof AwsError) return err;
        throw err;
      }
    });
    const total = prepared.reduce((n, p) => n + (p instanceof AwsError ? 0 : p.size), 0);
    if (total > Math.max(s.maximumMessageSize, MAX_BATCH_BYTES)) {
      throw modelled(
        this.model,
        'BatchRequestTooLong',
        `Batch requests cannot be longer than ${MAX_BATCH_BYTES} bytes. You have sent ${total} bytes.`,
      );
    }
    const ctx = this.ctx(call);
    // In order: a FIFO batch keeps its order within each message group.
    const Successful: JsonObject[] = [];
    const Failed: JsonObject[] = [];
    const sends = prepared.map((p, i) => {
      const id = String(entries[i]?.Id);
      if (p instanceof AwsError) return Promise.resolve({ id, error: p });
      return this.o.broker.publish(p.input, ctx).then(
        () => ({ id, result: p.result }),
        (err: unknown) => ({ id, error: err }),
      );
    });
    for (const r of await Promise.all(sends)) {
      if ('result' in r) Successful.push({ Id: r.id, ...(r.result as unknown as JsonObject) });
      else Failed.push(batchFailure(r.id, r.error));
    }
    return { Successful, Failed };
  }

  private async receiveMessage(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const name = this.queueOf(input, call, 'read');
    const s = this.settingsOf(name);
    const max = optionalInt(input, 'MaxNumberOfMessages', 1, 10) ?? 1;
    const wait = optionalInt(input, 'WaitTimeSeconds', 0, 20) ?? s.waitSeconds;
    const visibility = optionalInt(input, 'VisibilityTimeout', 0, 43_200) ?? s.visibilitySeconds;
    const system = [...stringList(input, 'AttributeNames'), ...stringList(input, 'MessageSystemAttributeNames')];
    const messageAttributes = stringList(input, 'MessageAttributeNames');
    const received = await this.receiver(name, s.fifo).receive(max, wait * 1000, visibility * 1000, call.signal);
    const opts = {
      systemAttributes: system,
      messageAttributes,
      sourceArn: (label: string) => (label.startsWith('queue://') ? this.arn(label.slice(8)) : undefined),
    };
    return { Messages: received.map((r) => receivedMessage(r.delivery, r.receiptHandle, r.firstReceivedAt, opts)) };
  }

  private async deleteMessage(input: JsonObject, call: AwsCall): Promise<undefined> {
    const name = this.queueOf(input, call, 'read');
    await this.receiver(name, this.settingsOf(name).fifo).delete(requiredString(input, 'ReceiptHandle'));
    return undefined;
  }

  private deleteMessageBatch(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const name = this.queueOf(input, call, 'read');
    const entries = objectList(input, 'Entries');
    checkBatch(this.model, entries);
    const r = this.receiver(name, this.settingsOf(name).fifo);
    return settleBatch(entries, async (e) => {
      if (e.ReceiptHandle === undefined) throw missingParameter('ReceiptHandle');
      await r.delete(e.ReceiptHandle);
    });
  }

  private changeVisibility(input: JsonObject, call: AwsCall): undefined {
    const name = this.queueOf(input, call, 'read');
    const seconds = optionalInt(input, 'VisibilityTimeout', 0, 43_200);
    if (seconds === undefined) throw missingParameter('VisibilityTimeout');
    this.receiver(name, this.settingsOf(name).fifo).changeVisibility(requiredString(input, 'ReceiptHandle'), seconds * 1000);
    return undefined;
  }

  private changeVisibilityBatch(input: JsonObject, call: AwsCall): Promise<JsonObject> {
    const name = this.queueOf(input, call, 'read');
    const entries = objectList(input, 'Entries');
    checkBatch(this.model, entries);
    const r = this.receiver(name, this.settingsOf(name).fifo);
    return settleBatch(entries, async (e) => {
      const seconds = optionalInt(e, 'VisibilityTimeout', 0, 43_200);
      if (seconds === undefined) throw missingParameter('VisibilityTimeout');
      if (e.ReceiptHandle === undefined) throw missingParameter('ReceiptHandle');
      r.changeVisibility(e.ReceiptHandle, seconds * 1000);
    });
  }

  /**
   * A message another AWS API hands to queue `name` (an SNS subscription's delivery): checked and
   * sent as a SendMessage would be, by the broker itself. On a FIFO queue it keeps its group, and
   * its deduplication id (else `fallbackDedupId`).
   */
  async deliver(
    name: string,
    m: { body: string; attributes?: JsonObject; groupId?: string | undefined; dedupId?: string | undefined; fallbackDedupId: string },
  ): Promise<void> {
    const s = this.settingsOf(name);
    const entry: JsonObject = { MessageBody: m.body };
    if (m.attributes) entry.MessageAttributes = m.attributes;
    if (s.fifo) {
      entry.MessageGroupId = m.groupId ?? 'default';
      if (!s.contentBasedDeduplication || m.dedupId !== undefined) entry.MessageDeduplicationId = m.dedupId ?? m.fallbackDedupId;
    }
    const prepared = prepareSend(name, s, entry, Date.now(), () => this.sequences.next());
    await this.o.broker.publish(prepared.input, { connectionId: 'sns' });
  }

  // ---- helpers ------------------------------------------------------------------------------

  private receiver(name: string, fifo: boolean): QueueReceiver {
    let r = this.receivers.get(name);
    if (!r) {
      r = new QueueReceiver(this.o.broker, name, fifo, (d) => this.o.metrics.waiting('sqs', d));
      this.receivers.set(name, r);
    }
    return r;
  }

  /** The queue the request's QueueUrl names, which must exist; `permission` checked when given. */
  private queueOf(input: JsonObject, call: AwsCall, permission: Permission | undefined): string {
    const url = requiredString(input, 'QueueUrl');
    const name = queueNameFromUrl(url);
    if (name === undefined || !this.catalog.exists(name)) throw this.noQueue();
    if (permission !== undefined) this.authorize(call, permission, name);
    return name;
  }

  private record(name: string): SqsQueueRecord {
    const r = this.catalog.get(name);
    if (!r) throw this.noQueue();
    return r;
  }

  private settingsOf(name: string): QueueSettings {
    const s = this.catalog.settings(name);
    if (!s) throw this.noQueue();
    return s;
  }

  private noQueue(): AwsError {
    return modelled(this.model, 'QueueDoesNotExist', 'The specified queue does not exist.');
  }

  private authorize(call: AwsCall, permission: Permission, name: string): void {
    authorize(this.o.security, call.principal, permission, { kind: 'queue', name }, accessDenied);
  }

  private mayAny(call: AwsCall, name: string): boolean {
    return mayUse(this.o.security, call.principal, { kind: 'queue', name });
  }

  private authorizeAny(call: AwsCall, name: string): void {
    if (!this.mayAny(call, name)) throw accessDenied(`User ${call.principal.username} is not authorized to use queue ${name}`);
  }

  private ctx(call: AwsCall): ClientContext {
    return { connectionId: call.connectionId, principal: call.principal };
  }

  private url(call: AwsCall, name: string): string {
    return queueUrl(call.baseUrl, this.o.accountId, name);
  }

  private arn(name: string): string {
    return arn('sqs', this.o.region, this.o.accountId, name);
  }
}

/** Attributes a queue may lack that are still valid to ask for. */
const KNOWN_UNSET = new Set([
  'Policy',
  'RedrivePolicy',
  'RedriveAllowPolicy',
  'KmsMasterKeyId',
  'KmsDataKeyReusePeriodSeconds',
  'FifoQueue',
  'ContentBasedDeduplication',
  'DeduplicationScope',
  'FifoThroughputLimit',
  'SqsManagedSseEnabled',
]);

function checkDeadLetterTarget(attributes: Attributes, catalog: QueueCatalog, fifo: boolean): void {
  if (!attributes.RedrivePolicy) return;
  const target = settingsOf({ RedrivePolicy: attributes.RedrivePolicy }).deadLetterQueue;
  if (target === undefined || !catalog.exists(target)) {
    throw new AwsError('InvalidParameterValue', 'Value for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist.');
  }
  if (target.endsWith(FIFO_SUFFIX) !== fifo) {
    throw new AwsError(
      'InvalidParameterValue',
      'Value for parameter RedrivePolicy is invalid. Reason: Dead-letter queue must be the same type as the source queue.',
    );
  }
}

async function settleBatch(entries: JsonObject[], one: (e: JsonObject) => Promise<void>): Promise<JsonObject> {
  const Successful: JsonObject[] = [];
  const Failed: JsonObject[] = [];
  for (const e of entries) {
    try {
      await one(e);
      Successful.push({ Id: String(e.Id) });
    } catch (err) {
      Failed.push(batchFailure(String(e.Id), err));
    }
  }
  return { Successful, Failed };
}

function batchFailure(id: string, err: unknown): JsonObject {
  if (err instanceof AwsError) return { Id: id, SenderFault: err.sender, Code: err.code, Message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { Id: id, SenderFault: false, Code: 'InternalError', Message: message };
}
