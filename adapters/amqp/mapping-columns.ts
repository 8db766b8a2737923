// Where AMQP 1.0 carries each field of the core message: the adapter's column of the mapping table
// (adapters/message-mapping.ts). conversion.ts is the code these cells describe.
import type { MappingColumn } from '../message-mapping.ts';

export const amqpColumn: MappingColumn = {
  key: 'amqp',
  title: 'AMQP 1.0',
  cells: {
    body: 'data section; amqp-value string or binary in; out, an amqp-value string when the content type is text/* and the bytes are UTF-8, else one data section',
    contentType: 'properties.content-type (text/plain for an amqp-value string without one; application/json for a structured body)',
    stringProperty: 'application-property of its own name',
    numberProperty:
      'application-property, typed (int, long, double…); as text when it came from STOMP; 64-bit values past 2^53 as text; timestamps as ms',
    booleanProperty: 'application-property (boolean; as text when it came from STOMP)',
    correlationId:
      'properties.correlation-id; uuid, ulong and binary ids become AMQP_UUID:, AMQP_ULONG:, AMQP_BINARY: text (a string that starts with one of those gets AMQP_STRING:) and are typed again on the way out',
    replyTo: 'properties.reply-to (queue://X, topic://X; a bare name is a queue unless x-opt-jms-reply-to says topic)',
    priority: 'header.priority (clamped to 0–9 for the core; kept as sent AMQP to AMQP)',
    expiresAt: 'properties.absolute-expiry-time, or header.ttl; out, header.ttl is the time left',
    dedupId: 'application-property _AMQ_DUPL_ID',
    groupId: 'properties.group-id (group-sequence as the property JMSXGroupSeq)',
    persistent: 'header.durable',
    type: 'properties.subject',
    timestamp: 'properties.creation-time',
    deliverAt: 'annotations x-opt-delivery-time, x-opt-delivery-delay (in only)',
    brokerId: 'properties.message-id when the publisher gave none',
    messageId: 'properties.message-id, typed as for correlation-id',
    userId: 'properties.user-id in (refused unless it is the authenticated user)',
    deliveryCount: 'header.delivery-count; first-acquirer false once any consumer held it',
  },
  lost: [
    'AMQP to AMQP nothing is lost: the consumer gets the bare message as sent, byte for byte, with the publisher’s message-annotations and a new header. The broker’s own facts (dlqDeliveryFailureCause, originalDestination, JMSXGroupFirstForConsumer) are added as message-annotations x-opt-<name>; from other protocols they are application-properties (STOMP: headers).',
    'AMQP to the other protocols loses: message-annotations (x-opt-jms-msg-type among them), delivery-annotations, the footer, content-encoding, reply-to-group-id, user-id, null and decimal application-properties; binary application-properties become base64 text, uuid ones text; a structured amqp-value (map, list, number…) or amqp-sequence body becomes its JSON text.',
  ],
};
