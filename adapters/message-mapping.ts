// The message mapping across protocols, as data: one row per field of the core message
// (src/core/message.ts), one column per protocol saying where that protocol carries it, or null
// where it cannot. docs/message-mapping.md is generated from this (scripts/message-mapping.ts, kept
// in step by a test), and the conversion matrix test (test/interop/) asserts, for every ordered
// pair of protocols, exactly the fields both columns carry. The adapters' mapping code is what
// these sentences describe: each adapter's README points here.

export type MappedProtocol = 'mqtt311' | 'mqtt5' | 'stomp' | 'amqp';

/** Fields the conversion matrix sends and checks (the rest are documented only). */
export type MatrixField =
  | 'body'
  | 'stringProperty'
  | 'numberProperty'
  | 'booleanProperty'
  | 'correlationId'
  | 'replyTo'
  | 'contentType'
  | 'priority'
  | 'expiresAt'
  | 'dedupId'
  | 'groupId';

export interface MappingRow {
  /** The core message field. */
  core: string;
  /** Set when the conversion matrix checks this row. */
  matrix?: MatrixField;
  mqtt311: string | null;
  mqtt5: string | null;
  stomp: string | null;
  amqp: string | null;
}

export const PROTOCOL_NAMES: Record<MappedProtocol, string> = {
  mqtt311: 'MQTT 3.1.1',
  mqtt5: 'MQTT 5',
  stomp: 'STOMP 1.0–1.2',
  amqp: 'AMQP 1.0',
};

export const MAPPING: readonly MappingRow[] = [
  {
    core: 'body (bytes)',
    matrix: 'body',
    mqtt311: 'payload',
    mqtt5: 'payload',
    stomp: 'body (content-length set on the way out)',
    amqp: 'data section; amqp-value string or binary in; out, an amqp-value string when the content type is text/* and the bytes are UTF-8, else one data section',
  },
  {
    core: 'contentType',
    matrix: 'contentType',
    mqtt311: null,
    mqtt5: 'content type',
    stomp: 'content-type',
    amqp: 'properties.content-type (text/plain for an amqp-value string without one; application/json for a structured body)',
  },
  {
    core: 'properties: string',
    matrix: 'stringProperty',
    mqtt311: null,
    mqtt5: 'user property',
    stomp: 'a header of its own name',
    amqp: 'application-property of its own name',
  },
  {
    core: 'properties: number',
    matrix: 'numberProperty',
    mqtt311: null,
    mqtt5: 'user property (as text)',
    stomp: 'a header (as text: a header is a string)',
    amqp: 'application-property, typed (int, long, double…); as text when it came from STOMP; 64-bit values past 2^53 as text; timestamps as ms',
  },
  {
    core: 'properties: boolean',
    matrix: 'booleanProperty',
    mqtt311: null,
    mqtt5: 'user property (as text)',
    stomp: 'a header ("true"/"false")',
    amqp: 'application-property (boolean; as text when it came from STOMP)',
  },
  {
    core: 'correlationId',
    matrix: 'correlationId',
    mqtt311: null,
    mqtt5: 'correlation data',
    stomp: 'correlation-id',
    amqp: 'properties.correlation-id; uuid, ulong and binary ids become AMQP_UUID:, AMQP_ULONG:, AMQP_BINARY: text (a string that starts with one of those gets AMQP_STRING:) and are typed again on the way out',
  },
  {
    core: 'replyTo (queue://X, topic://X)',
    matrix: 'replyTo',
    mqtt311: null,
    mqtt5: 'response topic (a topic:// reply-to; a queue:// one is lost)',
    stomp: 'reply-to (/queue/X, /topic/X, /temp-queue/…)',
    amqp: 'properties.reply-to (queue://X, topic://X; a bare name is a queue unless x-opt-jms-reply-to says topic)',
  },
  {
    core: 'priority (0–9)',
    matrix: 'priority',
    mqtt311: null,
    mqtt5: null,
    stomp: 'priority',
    amqp: 'header.priority (clamped to 0–9 for the core; kept as sent AMQP to AMQP)',
  },
  {
    core: 'expiresAt (absolute ms)',
    matrix: 'expiresAt',
    mqtt311: null,
    mqtt5: 'message expiry interval (the seconds left)',
    stomp: 'expires (absolute ms)',
    amqp: 'properties.absolute-expiry-time, or header.ttl; out, header.ttl is the time left',
  },
  {
    core: 'dedupId',
    matrix: 'dedupId',
    mqtt311: null,
    mqtt5: 'user property _AMQ_DUPL_ID',
    stomp: '_AMQ_DUPL_ID',
    amqp: 'application-property _AMQ_DUPL_ID',
  },
  {
    core: 'groupId',
    matrix: 'groupId',
    mqtt311: null,
    mqtt5: 'user property JMSXGroupID',
    stomp: 'JMSXGroupID',
    amqp: 'properties.group-id (group-sequence as the property JMSXGroupSeq)',
  },
  {
    core: 'persistent',
    mqtt311: 'QoS 1 or 2 (and QoS 0 is not persistent)',
    mqtt5: 'QoS 1 or 2',
    stomp: 'persistent:true',
    amqp: 'header.durable',
  },
  {
    core: 'type',
    mqtt311: null,
    mqtt5: null,
    stomp: 'type',
    amqp: 'properties.subject',
  },
  {
    core: 'timestamp',
    mqtt311: null,
    mqtt5: null,
    stomp: "timestamp (out; a SEND's is the broker's arrival time)",
    amqp: 'properties.creation-time',
  },
  {
    core: 'deliverAt',
    mqtt311: null,
    mqtt5: null,
    stomp: 'AMQ_SCHEDULED_DELAY in; AMQ_SCHEDULED_PERIOD, _REPEAT and _CRON repeat it',
    amqp: 'annotations x-opt-delivery-time, x-opt-delivery-delay (in only)',
  },
  {
    core: 'id (the broker’s, unique)',
    mqtt311: null,
    mqtt5: null,
    stomp: 'message-id (and ack)',
    amqp: 'properties.message-id when the publisher gave none',
  },
  {
    core: 'messageId (the publisher’s)',
    mqtt311: null,
    mqtt5: null,
    stomp: null,
    amqp: 'properties.message-id, typed as for correlation-id',
  },
  {
    core: 'userId (the authenticated publisher)',
    mqtt311: null,
    mqtt5: null,
    stomp: null,
    amqp: 'properties.user-id in (refused unless it is the authenticated user)',
  },
  {
    core: 'delivery count',
    mqtt311: 'dup flag on a retransmission',
    mqtt5: 'dup flag on a retransmission',
    stomp: 'redelivered:true',
    amqp: 'header.delivery-count; first-acquirer false once any consumer held it',
  },
];

/** What a protocol cannot carry, or carries only one way: listed under the table. */
export const LOST: readonly string[] = [
  'MQTT 3.1.1 carries only the topic, the payload, QoS and retain: every other field is lost on the way to an MQTT 3.1.1 subscriber, and an MQTT 3.1.1 publisher sets none of them.',
  'MQTT 5 has no priority, type, timestamp, delivery time or message ids: those are lost on the way to an MQTT 5 subscriber. A user property repeated under one name reaches the other protocols with its first value; an MQTT 5 subscriber gets every user property in the order it was sent, with the payload format indicator.',
  'AMQP to AMQP nothing is lost: the consumer gets the bare message as sent, byte for byte, with the publisher’s message-annotations and a new header. The broker’s own facts (dlqDeliveryFailureCause, originalDestination, JMSXGroupFirstForConsumer) are added as message-annotations x-opt-<name>; from other protocols they are application-properties (STOMP: headers).',
  'AMQP to the other protocols loses: message-annotations (x-opt-jms-msg-type among them), delivery-annotations, the footer, content-encoding, reply-to-group-id, user-id, null and decimal application-properties; binary application-properties become base64 text, uuid ones text; a structured amqp-value (map, list, number…) or amqp-sequence body becomes its JSON text.',
  'STOMP headers are text, so a number or boolean sent over STOMP reaches AMQP as a string, and a typed AMQP property reaches STOMP as its text.',
  'The publisher’s AMQP message-id has no place in STOMP: a STOMP message-id is the broker’s id (it is what ACK names).',
];
