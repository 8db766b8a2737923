// MQTT PUBLISH fields <-> the core message record (the table is in README.md). The payload's
// bytes pass through untouched both ways.
import { newMessageId, type Message, type MessageInput } from '../../src/core/message.ts';
import { topicFromCore, topicToCore } from './topics.ts';

/** The property carrying the QoS a message was published with (ActiveMQ: ActiveMQ.MQTT.QoS). */
export const QOS_PROPERTY = 'MQTT_QoS';

export interface InboundPublish {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
}

/** The core message for an MQTT PUBLISH (or will). QoS 1 and 2 are persistent. */
export function toCoreMessage(p: InboundPublish): MessageInput & { id: string } {
  return {
    id: newMessageId(),
    destination: { kind: 'topic', name: topicToCore(p.topic) },
    body: p.payload,
    persistent: p.qos > 0,
    properties: { [QOS_PROPERTY]: p.qos },
  };
}

/**
 * The QoS a core message may travel at: what it was published with over MQTT, or for other
 * protocols 2 when persistent (the subscription's QoS then decides) and 0 when not.
 */
export function messageQos(m: Message): 0 | 1 | 2 {
  if (!m.persistent) return 0;
  const q = Number(m.properties[QOS_PROPERTY]);
  return q === 1 ? 1 : q === 0 ? 0 : 2;
}

export interface OutboundPublish {
  cmd: 'publish';
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  dup: boolean;
  messageId?: number;
}

export function toPublishPacket(m: Message, qos: 0 | 1 | 2, retain: boolean, dup: boolean, messageId?: number): OutboundPublish {
  const b = m.body;
  const payload = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const p: OutboundPublish = { cmd: 'publish', topic: topicFromCore(m.destination.name), payload, qos, retain, dup };
  if (messageId !== undefined) p.messageId = messageId;
  return p;
}
