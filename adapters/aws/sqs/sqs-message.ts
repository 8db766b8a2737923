// One SQS message both ways: a SendMessage (or batch entry) checked and turned into the core's
// message input under its queue's settings, and a delivery turned into the Message a
// ReceiveMessage answers, with the system attributes asked for and SQS's MD5 digests.
import { createHash, randomUUID } from 'node:crypto';
import type { Delivery } from '../../../src/core/consumer.ts';
import type { MessageInput } from '../../../src/core/message.ts';
import { AwsError, missingParameter } from '../errors.ts';
import type { JsonObject } from '../model/shape.ts';
import { isObject, optionalInt, optionalString } from '../params.ts';
import { attributesToProperties, md5OfAttributes, pickAttributes, propertiesToAttributes } from './message-attributes.ts';
import type { QueueSettings } from './queue-attributes.ts';

const SEQUENCE_PROPERTY = '_SQS_SEQ';
const TRACE_PROPERTY = '_SQS_TRACE';
const DEDUP_PROPERTY = '_SQS_DEDUP';
/** Set on a message whose body was not UTF-8 text: its Body is the bytes in base64. */
export const BODY_ENCODING_ATTRIBUTE = 'JunctionBodyEncoding';

export interface SendResult {
  MessageId: string;
  MD5OfMessageBody: string;
  MD5OfMessageAttributes?: string;
  SequenceNumber?: string;
}

export interface PreparedSend {
  input: MessageInput;
  result: SendResult;
  size: number;
}

/** Valid in an SQS body: #x9 #xA #xD, #x20-#xD7FF, #xE000-#xFFFD, #x10000-#x10FFFF. */
// eslint-disable-next-line no-control-regex
const INVALID_BODY = /[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;

export function prepareSend(queue: string, s: QueueSettings, entry: JsonObject, now: number, nextSequence: () => string): PreparedSend {
  const body = entry.MessageBody;
  if (body === undefined || body === null || body === '') throw missingParameter('MessageBody');
  if (typeof body !== 'string') throw new AwsError('InvalidParameterValue', 'MessageBody must be a string.');
  if (INVALID_BODY.test(body)) {
    throw new AwsError(
      'InvalidMessageContents',
      'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF',
    );
  }
  const { properties, bytes } = attributesToProperties(entry.MessageAttributes);
  const bodyBytes = Buffer.from(body, 'utf8');
  const size = bodyBytes.length + bytes;
  if (size > s.maximumMessageSize) {
    throw new AwsError(
      'InvalidParameterValue',
      `One or more parameters are invalid. Reason: Message must be shorter than ${s.maximumMessageSize} bytes.`,
    );
  }
  const delay = optionalInt(entry, 'DelaySeconds', 0, 900);
  const groupId = optionalString(entry, 'MessageGroupId');
  let dedupId = optionalString(entry, 'MessageDeduplicationId');
  const input: MessageInput = {
    destination: { kind: 'queue', name: queue },
    messageId: randomUUID(),
    body: bodyBytes,
    properties,
    persistent: true,
    expiresAt: now + s.retentionSeconds * 1000,
  };
  const result: SendResult = { MessageId: input.messageId as string, MD5OfMessageBody: md5(bodyBytes) };
  const sent = propertiesToAttributes(properties);
  if (Object.keys(sent).length > 0) result.MD5OfMessageAttributes = md5OfAttributes(sent);
  const trace = isObject(entry.MessageSystemAttributes) ? entry.MessageSystemAttributes.AWSTraceHeader : undefined;
  if (isObject(trace) && typeof trace.StringValue === 'string') properties[TRACE_PROPERTY] = trace.StringValue;
  if (s.fifo) {
    if (delay !== undefined && delay !== 0) {
      throw new AwsError(
        'InvalidParameterValue',
        `Value ${delay} for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.`,
      );
    }
    if (groupId === undefined || groupId === '') throw missingParameter('MessageGroupId');
    checkToken('MessageGroupId', groupId);
    if (dedupId === undefined) {
      if (!s.contentBasedDeduplication) {
        throw new AwsError(
          'InvalidParameterValue',
          'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
        );
      }
      dedupId = createHash('sha256').update(bodyBytes).digest('hex');
    } else checkToken('MessageDeduplicationId', dedupId);
    input.groupId = groupId;
    input.dedupId = s.dedupPerGroup ? `${groupId}\u0000${dedupId}` : dedupId;
    properties[DEDUP_PROPERTY] = dedupId;
    const seq = nextSequence();
    properties[SEQUENCE_PROPERTY] = seq;
    result.SequenceNumber = seq;
  } else {
    if (dedupId !== undefined) {
      throw new AwsError(
        'InvalidParameterValue',
        'Value for parameter MessageDeduplicationId is invalid. Reason: The request include parameter that is not valid for this queue type.',
      );
    }
    const d = delay ?? s.delaySeconds;
    if (d > 0) input.deliverAt = now + d * 1000;
  }
  if (s.fifo && s.delaySeconds > 0) input.deliverAt = now + s.delaySeconds * 1000;
  return { input, result, size };
}

export interface ReceiveOptions {
  systemAttributes: readonly string[];
  messageAttributes: readonly string[];
  /** The ARN a dead-lettered message came from is answered as DeadLetterQueueSourceArn. */
  sourceArn: (label: string) => string | undefined;
}

export function receivedMessage(d: Delivery, receiptHandle: string, firstReceivedAt: number, o: ReceiveOptions): JsonObject {
  const m = d.message;
  const all = propertiesToAttributes(m.properties);
  const { text: body, base64 } = bodyText(m.body);
  if (base64) all[BODY_ENCODING_ATTRIBUTE] = { DataType: 'String', StringValue: 'base64' };
  const out: JsonObject = {
    MessageId: m.messageId ?? m.id,
    ReceiptHandle: receiptHandle,
    MD5OfBody: md5(Buffer.from(body, 'utf8')),
    Body: body,
  };
  const system = systemAttributes(d, firstReceivedAt, o);
  if (Object.keys(system).length > 0) out.Attributes = system;
  const picked = pickAttributes(all, o.messageAttributes);
  if (Object.keys(picked).length > 0) {
    out.MessageAttributes = picked as unknown as JsonObject;
    out.MD5OfMessageAttributes = md5OfAttributes(picked);
  }
  return out;
}

function systemAttributes(d: Delivery, firstReceivedAt: number, o: ReceiveOptions): Record<string, string> {
  const names = o.systemAttributes;
  if (names.length === 0) return {};
  const all = names.includes('All');
  const want = (n: string): boolean => all || names.includes(n);
  const m = d.message;
  const p = m.properties;
  const out: Record<string, string> = {};
  if (want('SenderId')) out.SenderId = m.userId ?? 'AIDAJUNCTION';
  if (want('SentTimestamp')) out.SentTimestamp = String(m.timestamp);
  if (want('ApproximateReceiveCount')) out.ApproximateReceiveCount = String(d.deliveryCount + 1);
  if (want('ApproximateFirstReceiveTimestamp')) out.ApproximateFirstReceiveTimestamp = String(firstReceivedAt);
  if (want('SequenceNumber') && typeof p[SEQUENCE_PROPERTY] === 'string') out.SequenceNumber = p[SEQUENCE_PROPERTY];
  if (want('MessageDeduplicationId') && typeof p[DEDUP_PROPERTY] === 'string') out.MessageDeduplicationId = p[DEDUP_PROPERTY];
  if (want('MessageGroupId') && m.groupId !== undefined) out.MessageGroupId = m.groupId;
  if (want('AWSTraceHeader') && typeof p[TRACE_PROPERTY] === 'string') out.AWSTraceHeader = p[TRACE_PROPERTY];
  const origin = d.annotations?.originalDestination;
  if (want('DeadLetterQueueSourceArn') && typeof origin === 'string') {
    const source = o.sourceArn(origin);
    if (source !== undefined) out.DeadLetterQueueSourceArn = source;
  }
  return out;
}

/** A body as SQS and SNS text: itself when it is UTF-8 text SQS accepts, else its bytes in base64. */
export function bodyText(body: Uint8Array): { text: string; base64: boolean } {
  const text = utf8(body);
  if (text !== undefined && !INVALID_BODY.test(text)) return { text, base64: false };
  return { text: Buffer.from(body).toString('base64'), base64: true };
}

function checkToken(name: string, v: string): void {
  if (v.length > 128 || !/^[\x21-\x7e]+$/.test(v)) {
    throw new AwsError(
      'InvalidParameterValue',
      `Value ${v} for parameter ${name} is invalid. Reason: use 1 to 128 printable ASCII characters.`,
    );
  }
}

export function md5(b: Uint8Array): string {
  return createHash('md5').update(b).digest('hex');
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function utf8(b: Uint8Array): string | undefined {
  try {
    return decoder.decode(b);
  } catch {
    return undefined;
  }
}
