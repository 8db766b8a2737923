// Where MQTT 3.1.1 and MQTT 5 carry each field of the core message: the adapter's two columns of the
// mapping table (adapters/message-mapping.ts). mapping.ts is the code these cells describe.
import type { MappingColumn } from '../message-mapping.ts';

export const mqtt311Column: MappingColumn = {
  key: 'mqtt311',
  title: 'MQTT 3.1.1',
  cells: {
    body: 'payload',
    contentType: null,
    stringProperty: null,
    numberProperty: null,
    booleanProperty: null,
    correlationId: null,
    replyTo: null,
    priority: null,
    expiresAt: null,
    dedupId: null,
    groupId: null,
    persistent: 'QoS 1 or 2 (and QoS 0 is not persistent)',
    type: null,
    timestamp: null,
    deliverAt: null,
    brokerId: null,
    messageId: null,
    userId: null,
    deliveryCount: 'dup flag on a retransmission',
  },
  lost: [
    'MQTT 3.1.1 carries only the topic, the payload, QoS and retain: every other field is lost on the way to an MQTT 3.1.1 subscriber, and an MQTT 3.1.1 publisher sets none of them.',
  ],
};

export const mqtt5Column: MappingColumn = {
  key: 'mqtt5',
  title: 'MQTT 5',
  cells: {
    body: 'payload',
    contentType: 'content type',
    stringProperty: 'user property',
    numberProperty: 'user property (as text)',
    booleanProperty: 'user property (as text)',
    correlationId: 'correlation data',
    replyTo: 'response topic (a topic:// reply-to; a queue:// one is lost)',
    priority: null,
    expiresAt: 'message expiry interval (the seconds left)',
    dedupId: 'user property _AMQ_DUPL_ID',
    groupId: 'user property JMSXGroupID',
    persistent: 'QoS 1 or 2',
    type: null,
    timestamp: null,
    deliverAt: null,
    brokerId: null,
    messageId: null,
    userId: null,
    deliveryCount: 'dup flag on a retransmission',
  },
  lost: [
    'MQTT 5 has no priority, type, timestamp, delivery time or message ids: those are lost on the way to an MQTT 5 subscriber. A user property repeated under one name reaches the other protocols with its first value; an MQTT 5 subscriber gets every user property in the order it was sent, with the payload format indicator.',
  ],
};
