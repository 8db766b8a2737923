// Where Amazon SQS and SNS carry each field of the core message: the AWS adapter's column of the
// mapping table (adapters/message-mapping.ts). sqs/sqs-message.ts, sqs/message-attributes.ts and
// sns/sns-message.ts are the code these cells describe.
import type { MappingColumn } from '../message-mapping.ts';

export const sqsColumn: MappingColumn = {
  key: 'sqs',
  title: 'SQS / SNS',
  cells: {
    body: 'MessageBody / Message (text; a body that is not UTF-8 text reaches SQS in base64, with the attribute JunctionBodyEncoding=base64)',
    contentType: null,
    stringProperty: 'a String message attribute (custom types such as String.x kept for SQS consumers)',
    numberProperty: 'a Number message attribute (a number property when it reads back as the same text)',
    booleanProperty: 'a String attribute "true"/"false" (out only: SQS has no boolean)',
    correlationId: null,
    replyTo: null,
    priority: null,
    expiresAt: "the queue's MessageRetentionPeriod, set at the send (in only)",
    dedupId: 'MessageDeduplicationId, or the body’s SHA-256 with ContentBasedDeduplication (FIFO queues and topics)',
    groupId: 'MessageGroupId (FIFO queues and topics)',
    persistent: 'always persistent',
    type: null,
    timestamp: 'SentTimestamp (out); the SNS notification’s Timestamp',
    deliverAt: "DelaySeconds, or the queue's (in only)",
    brokerId: null,
    messageId: 'MessageId (a UUID made at the send or the publish)',
    userId: 'SenderId (out)',
    deliveryCount: 'ApproximateReceiveCount (delivery count + 1)',
  },
  lost: [
    'SQS and SNS bodies are text: a binary body from another protocol reaches SQS base64-encoded (marked JunctionBodyEncoding=base64), and an SNS subscriber reads it as text.',
    'Correlation id, reply-to, priority, content type and JMS type have no place in SQS or SNS; a message attribute of another name passes through as a property.',
    'An SNS subject, a MessageStructure=json message and typed attributes (Binary, Number.x) ride in properties starting with _SQS_, which other protocols see as headers.',
  ],
};
