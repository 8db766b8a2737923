// One SNS message both ways: a Publish (or batch entry) checked and turned into the core's message
// for topic T, which every protocol's subscribers of T then receive (the body is the default
// message text; the subject, a per-protocol message structure and typed attributes ride in
// properties), and a topic message turned into what an SNS subscription delivers: the JSON
// notification envelope, or the raw message with RawMessageDelivery.
import { createHash, randomUUID } from 'node:crypto';
import type { Message, MessageInput } from '../../../src/core/message.ts';
import { AwsError } from '../errors.ts';
import type { JsonObject } from '../model/shape.ts';
import { optionalString } from '../params.ts';
import { attributesToProperties, propertiesToAttributes, type SqsAttributeValue } from '../sqs/message-attributes.ts';
import { BODY_ENCODING_ATTRIBUTE, bodyText } from '../sqs/sqs-message.ts';
import type { AttributeValue } from './filter-policy.ts';

const SUBJECT_PROPERTY = '_SQS_SNS_SUBJECT';
const STRUCTURE_PROPERTY = '_SQS_SNS_STRUCTURE';
const MAX_MESSAGE_BYTES = 262_144;

export interface TopicSettings {
  name: string;
  fifo: boolean;
  contentBasedDeduplication: boolean;
}

export interface PreparedPublish {
  input: MessageInput;
  messageId: string;
  sequenceNumber: string | undefined;
}

function invalid(message: string): AwsError {
  return new AwsError('InvalidParameter', `Invalid parameter: ${message}`);
}

export function preparePublish(topic: TopicSettings, entry: JsonObject, nextSequence: () => string): PreparedPublish {
  const message = entry.Message;
  if (typeof message !== 'string' || message === '') throw invalid('Empty message');
  if (Buffer.byteLength(message) > MAX_MESSAGE_BYTES) throw invalid('Message too long');
  const subject = optionalString(entry, 'Subject');
  if (subject !== undefined && (subject === '' || subject.length > 100 || !/^[\x20-\x7e]+$/.test(subject))) {
    throw invalid('Subject must be 1 to 100 printable ASCII characters without line breaks');
  }
  let body = message;
  const structure = optionalString(entry, 'MessageStructure');
  const { properties } = asSnsError(() => attributesToProperties(entry.MessageAttributes));
  if (structure !== undefined) {
    if (structure !== 'json') throw invalid('MessageStructure must be json');
    let doc: unknown;
    try {
      doc = JSON.parse(message);
    } catch {
      throw invalid('Message Structure - JSON message body failed to parse');
    }
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc) || typeof (doc as Record<string, unknown>).default !== 'string') {
      throw invalid('Message Structure - No default entry in JSON message body');
    }
    body = (doc as Record<string, string>).default as string;
    properties[STRUCTURE_PROPERTY] = message;
  }
  if (subject !== undefined) properties[SUBJECT_PROPERTY] = subject;
  const messageId = randomUUID();
  const input: MessageInput = {
    destination: { kind: 'topic', name: topic.name },
    messageId,
    body: Buffer.from(body, 'utf8'),
    properties,
    persistent: true,
  };
  const groupId = optionalString(entry, 'MessageGroupId');
  let dedupId = optionalString(entry, 'MessageDeduplicationId');
  let sequenceNumber: string | undefined;
  if (topic.fifo) {
    if (groupId === undefined || groupId === '') throw invalid('The MessageGroupId parameter is required for FIFO topics');
    if (dedupId === undefined) {
      if (!topic.contentBasedDeduplication) {
        throw invalid('The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly');
      }
      dedupId = createHash('sha256').update(message).digest('hex');
    }
    input.groupId = groupId;
    input.dedupId = dedupId;
    sequenceNumber = nextSequence();
  } else if (dedupId !== undefined) {
    throw invalid(
      'MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type',
    );
  } else if (groupId !== undefined) {
    throw invalid('MessageGroupId Reason: The request includes MessageGroupId parameter that is not valid for this topic type');
  }
  return { input, messageId, sequenceNumber };
}

/**
 * SNS message attributes follow SQS's rules (String.Array is a String with a custom type there), so
 * SQS's checks serve; what they refuse is answered with SNS's own error, ParameterValueInvalid.
 */
function asSnsError<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof AwsError)
      throw new AwsError('ParameterValueInvalid', `Invalid parameter: ${err.message}`, 400, true, 'InvalidParameterValueException');
    throw err;
  }
}

/** A topic message's attributes, as filter policies read them. */
export function filterAttributes(m: Message): Map<string, AttributeValue> {
  const out = new Map<string, AttributeValue>();
  for (const [k, v] of Object.entries(propertiesToAttributes(m.properties)))
    out.set(k, { type: v.DataType, value: v.StringValue ?? v.BinaryValue ?? '' });
  return out;
}

/** What a subscription of `protocol` gets as the message text (MessageStructure json picks per protocol). */
export function messageText(m: Message, protocol: string): string {
  const structure = m.properties[STRUCTURE_PROPERTY];
  if (typeof structure === 'string') {
    try {
      const doc = JSON.parse(structure) as Record<string, unknown>;
      const v = doc[protocol] ?? doc.default;
      if (typeof v === 'string') return v;
    } catch {
      // A structure that no longer parses: the body (its default) stands.
    }
  }
  return bodyText(m.body).text;
}

/** True when the message's body is not text SQS and SNS can carry, so it travels in base64. */
export function bodyIsBase64(m: Message): boolean {
  return typeof m.properties[STRUCTURE_PROPERTY] !== 'string' && bodyText(m.body).base64;
}

export interface EnvelopeContext {
  topicArn: string;
  subscriptionArn: string;
  /** Where the subscriber can unsubscribe (the broker's AWS endpoint). */
  baseUrl: string;
}

/** The JSON notification SNS delivers when RawMessageDelivery is off. */
export function notification(m: Message, protocol: string, c: EnvelopeContext): string {
  const subject = m.properties[SUBJECT_PROPERTY];
  const attributes: Record<string, { Type: string; Value: string }> = {};
  for (const [k, v] of Object.entries(propertiesToAttributes(m.properties)))
    attributes[k] = { Type: v.DataType, Value: v.StringValue ?? v.BinaryValue ?? '' };
  if (bodyIsBase64(m)) attributes[BODY_ENCODING_ATTRIBUTE] = { Type: 'String', Value: 'base64' };
  const doc: Record<string, unknown> = {
    Type: 'Notification',
    MessageId: m.messageId ?? m.id,
    TopicArn: c.topicArn,
    ...(typeof subject === 'string' ? { Subject: subject } : {}),
    Message: messageText(m, protocol),
    Timestamp: new Date(m.timestamp).toISOString(),
    UnsubscribeURL: `${c.baseUrl}/?Action=Unsubscribe&SubscriptionArn=${encodeURIComponent(c.subscriptionArn)}`,
  };
  if (Object.keys(attributes).length > 0) doc.MessageAttributes = attributes;
  return JSON.stringify(doc);
}

/** The raw message's attributes as SQS attributes (RawMessageDelivery to a queue). */
export function rawAttributes(m: Message): Record<string, SqsAttributeValue> {
  const out = propertiesToAttributes(m.properties);
  if (bodyIsBase64(m)) out[BODY_ENCODING_ATTRIBUTE] = { DataType: 'String', StringValue: 'base64' };
  return out;
}
