// Where STOMP carries each field of the core message: the adapter's column of the mapping table
// (adapters/message-mapping.ts). mapping.ts is the code these cells describe.
import type { MappingColumn } from '../message-mapping.ts';

export const stompColumn: MappingColumn = {
  key: 'stomp',
  title: 'STOMP 1.0–1.2',
  cells: {
    body: 'body (content-length set on the way out)',
    contentType: 'content-type',
    stringProperty: 'a header of its own name',
    numberProperty: 'a header (as text: a header is a string)',
    booleanProperty: 'a header ("true"/"false")',
    correlationId: 'correlation-id',
    replyTo: 'reply-to (/queue/X, /topic/X, /temp-queue/…)',
    priority: 'priority',
    expiresAt: 'expires (absolute ms)',
    dedupId: '_AMQ_DUPL_ID',
    groupId: 'JMSXGroupID',
    persistent: 'persistent:true',
    type: 'type',
    timestamp: "timestamp (out; a SEND's is the broker's arrival time)",
    deliverAt: 'AMQ_SCHEDULED_DELAY in; AMQ_SCHEDULED_PERIOD, _REPEAT and _CRON repeat it',
    brokerId: 'message-id (and ack)',
    messageId: null,
    userId: null,
    deliveryCount: 'redelivered:true',
  },
  lost: [
    'STOMP headers are text, so a number or boolean sent over STOMP reaches AMQP as a string, and a typed AMQP property reaches STOMP as its text.',
    'The publisher’s AMQP message-id has no place in STOMP: a STOMP message-id is the broker’s id (it is what ACK names).',
  ],
};
