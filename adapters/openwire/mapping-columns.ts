// Where OpenWire carries each field of the core message: the adapter's column of the mapping table
// (adapters/message-mapping.ts). mapping.ts is the code these cells describe.
import type { MappingColumn } from '../message-mapping.ts';

export const openwireColumn: MappingColumn = {
  key: 'openwire',
  title: 'OpenWire (JMS)',
  cells: {
    body: 'TextMessage text (UTF-8; out when the content type is text/*), BytesMessage bytes (out otherwise); MapMessage and StreamMessage in as JSON',
    contentType: null,
    stringProperty: 'a String property',
    numberProperty:
      'a typed property (int when whole and 32-bit, long when whole, double otherwise; byte, short, float as sent OpenWire to OpenWire)',
    booleanProperty: 'a boolean property',
    correlationId: 'JMSCorrelationID',
    replyTo: 'JMSReplyTo (queue, topic, temporary queue or topic)',
    priority: 'JMSPriority',
    expiresAt: 'JMSExpiration (absolute ms)',
    dedupId: 'the String property _AMQ_DUPL_ID',
    groupId: 'JMSXGroupID (JMSXGroupSeq as the property JMSXGroupSeq)',
    persistent: 'JMSDeliveryMode PERSISTENT',
    type: 'JMSType',
    timestamp: 'JMSTimestamp (the publisher’s send time)',
    deliverAt: 'the property AMQ_SCHEDULED_DELAY in; AMQ_SCHEDULED_PERIOD, _REPEAT and _CRON repeat it',
    brokerId: 'JMSMessageID when the publisher gave none',
    messageId: 'JMSMessageID (ID:<connection>:<session>:<producer>:<n>)',
    userId: null,
    deliveryCount: 'JMSRedelivered, JMSXDeliveryCount (redelivery counter + 1)',
  },
  lost: [
    'JMS has no content type: an OpenWire consumer gets none, and an OpenWire publisher’s TextMessage reaches the others as text/plain, its Map and Stream messages as application/json.',
    'OpenWire to OpenWire nothing is lost: the consumer gets the message kind (Text, Bytes, Map, Stream, Object) and every property with its Java type.',
    'MapMessage and StreamMessage bodies reach the other protocols as JSON text (application/json); byte, short and float properties as numbers; byte-array, map and list properties are lost. An ObjectMessage body passes as opaque bytes (application/x-java-serialized-object) and is never deserialized by the broker.',
    'From the other protocols an OpenWire consumer gets a TextMessage when the content type is text/* and the body is UTF-8, an ObjectMessage for application/x-java-serialized-object, else a BytesMessage.',
  ],
};
