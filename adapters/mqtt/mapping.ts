// MQTT PUBLISH fields <-> the core message record (the table is in docs/message-mapping.md,
// from adapters/message-mapping.ts). The payload's bytes pass through untouched both ways. MQTT 5
// properties map to core fields where the core has one (content type, response topic, correlation
// data, message expiry, the _AMQ_DUPL_ID and JMSXGroupID user properties); user properties become
// core properties, and an MQTT 5 subscriber gets them back in their order, duplicates included
// (kept in the message's original encoding), with the payload format indicator. Whether a message
// was published with the retain flag is kept the same way, for MQTT 5's Retain As Published.
import { DEDUP_PROPERTY, newMessageId, type Message, type MessageInput, type PropertyValue } from '../../src/core/message.ts';
import { topicFromCore, topicToCore } from './topics.ts';
import { grouped, USER_PROPERTY_ORDER, type UserPropertyList } from './user-properties.ts';

/** The property carrying the QoS a message was published with (ActiveMQ: ActiveMQ.MQTT.QoS). */
export const QOS_PROPERTY = 'MQTT_QoS';
/** The `format` of an original encoding holding an MQTT 5 publisher's user properties. */
export const MQTT5_FORMAT = 'mqtt-5';
const GROUP_PROPERTY = 'JMSXGroupID';
const BINARY_ID = 'AMQP_BINARY:';

export type UserProperties = Record<string, string | string[]>;

/** The MQTT 5 PUBLISH properties this adapter reads and writes (mqtt-packet's names). */
export interface PublishProperties {
  payloadFormatIndicator?: boolean;
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Buffer;
  userProperties?: UserProperties;
  subscriptionIdentifier?: number | number[];
  topicAlias?: number;
  /** Set by the MQTT 5 engine's parser when grouping by name would lose the User Properties' order. */
  [USER_PROPERTY_ORDER]?: UserPropertyList;
}

export interface InboundPublish {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  properties?: PublishProperties | undefined;
}

/** What an MQTT 5 publisher sent that the core has no field for, kept for MQTT 5 subscribers. */
interface Kept {
  userProperties?: UserProperties;
  /** The User Properties in order, when grouping by name would change it. */
  userPropertyList?: UserPropertyList;
  payloadFormatIndicator?: boolean;
  retain?: boolean;
}

const RETAINED_ONLY = Buffer.from(JSON.stringify({ retain: true } satisfies Kept));
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Correlation data as core text: UTF-8 when it is, else hex with ActiveMQ's binary-id prefix (AMQP gets a binary id). */
function correlationText(b: Buffer): string {
  try {
    const text = utf8.decode(b);
    return /^AMQP_(UUID|ULONG|BINARY|STRING):/.test(text) ? `AMQP_STRING:${text}` : text;
  } catch {
    return BINARY_ID + b.toString('hex').toUpperCase();
  }
}

function correlationBytes(id: string): Buffer {
  if (id.startsWith(BINARY_ID)) return Buffer.from(id.slice(BINARY_ID.length), 'hex');
  return Buffer.from(id.startsWith('AMQP_STRING:') ? id.slice('AMQP_STRING:'.length) : id, 'utf8');
}

/** The core message for an MQTT PUBLISH (or will). QoS 1 and 2 are persistent. */
export function toCoreMessage(p: InboundPublish, now: number): MessageInput & { id: string } {
  const properties: Record<string, PropertyValue> = { [QOS_PROPERTY]: p.qos };
  const input: MessageInput & { id: string } = {
    id: newMessageId(),
    destination: { kind: 'topic', name: topicToCore(p.topic) },
    body: p.payload,
    persistent: p.qos > 0,
    properties,
  };
  const v5 = p.properties;
  if (!v5) {
    if (p.retain) input.original = { format: MQTT5_FORMAT, bytes: RETAINED_ONLY };
    return input;
  }
  if (v5.contentType !== undefined) input.contentType = v5.contentType;
  if (v5.responseTopic !== undefined) input.replyTo = `topic://${topicToCore(v5.responseTopic)}`;
  if (v5.correlationData !== undefined) input.correlationId = correlationText(v5.correlationData);
  if (v5.messageExpiryInterval !== undefined) input.expiresAt = now + v5.messageExpiryInterval * 1000;
  const kept: Kept = p.retain ? { retain: true } : {};
  if (v5.payloadFormatIndicator !== undefined) kept.payloadFormatIndicator = v5.payloadFormatIndicator;
  if (v5.userProperties && Object.keys(v5.userProperties).length > 0) {
    const ordered = v5[USER_PROPERTY_ORDER];
    if (ordered) kept.userPropertyList = ordered;
    else kept.userProperties = v5.userProperties;
    for (const [k, v] of Object.entries(v5.userProperties)) {
      const value = Array.isArray(v) ? (v[0] ?? '') : v;
      if (k === DEDUP_PROPERTY) {
        if (value !== '') input.dedupId = value;
      } else if (k === GROUP_PROPERTY) input.groupId = value;
      else if (k !== QOS_PROPERTY) properties[k] = value;
    }
  }
  if (Object.keys(kept).length > 0) input.original = { format: MQTT5_FORMAT, bytes: Buffer.from(JSON.stringify(kept)) };
  return input;
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
  properties?: PublishProperties;
  /** The User Properties in the order to write them, when it is not mqtt-packet's grouping. */
  userPropertyOrder?: UserPropertyList;
}

/** For an MQTT 5 subscriber: the clock message expiry counts down by, and the subscription's identifiers. */
export interface V5Delivery {
  now: number;
  subscriptionIdentifiers?: number[];
  /** Facts the broker adds (dead-letter reason, group hand-over): user properties too. */
  annotations?: Readonly<Record<string, PropertyValue>> | undefined;
}

function keptOf(m: Message): Kept | undefined {
  if (m.original?.format !== MQTT5_FORMAT) return undefined;
  try {
    return JSON.parse(Buffer.from(m.original.bytes).toString('utf8')) as Kept;
  } catch {
    return undefined;
  }
}

/** True when an MQTT publisher sent the message with the retain flag set. */
export function publishedRetained(m: Message): boolean {
  return keptOf(m)?.retain === true;
}

/** The MQTT 5 properties of a core message (undefined when it has none), and the User Properties' order when it matters. */
function v5Properties(m: Message, d: V5Delivery): [PublishProperties | undefined, UserPropertyList | undefined] {
  const out: PublishProperties = {};
  const kept = keptOf(m);
  let order: UserPropertyList | undefined;
  if (kept?.payloadFormatIndicator !== undefined) out.payloadFormatIndicator = kept.payloadFormatIndicator;
  if (m.contentType !== undefined) out.contentType = m.contentType;
  if (m.replyTo?.startsWith('topic://')) out.responseTopic = topicFromCore(m.replyTo.slice('topic://'.length));
  if (m.correlationId !== undefined) out.correlationData = correlationBytes(m.correlationId);
  if (m.expiresAt > 0) out.messageExpiryInterval = Math.max(1, Math.ceil((m.expiresAt - d.now) / 1000));
  let user: UserProperties | undefined = kept?.userProperties ? { ...kept.userProperties } : undefined;
  if (kept?.userPropertyList) {
    order = [...kept.userPropertyList];
    user = grouped(order);
  }
  if (!user) {
    user = {};
    for (const [k, v] of Object.entries(m.properties)) if (k !== QOS_PROPERTY) user[k] = String(v);
    if (m.dedupId !== undefined) user[DEDUP_PROPERTY] = m.dedupId;
    if (m.groupId !== undefined) user[GROUP_PROPERTY] = m.groupId;
  }
  if (d.annotations) {
    for (const [k, v] of Object.entries(d.annotations)) {
      user[k] = String(v);
      order?.push([k, String(v)]);
    }
  }
  if (Object.keys(user).length > 0) out.userProperties = user;
  const ids = d.subscriptionIdentifiers;
  if (ids && ids.length > 0) out.subscriptionIdentifier = ids.length === 1 ? (ids[0] as number) : ids;
  return [Object.keys(out).length > 0 ? out : undefined, order];
}

export function toPublishPacket(
  m: Message,
  qos: 0 | 1 | 2,
  retain: boolean,
  dup: boolean,
  messageId?: number,
  v5?: V5Delivery,
): OutboundPublish {
  const b = m.body;
  const payload = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const p: OutboundPublish = { cmd: 'publish', topic: topicFromCore(m.destination.name), payload, qos, retain, dup };
  if (messageId !== undefined) p.messageId = messageId;
  if (v5) {
    const [properties, order] = v5Properties(m, v5);
    if (properties) p.properties = properties;
    if (order) p.userPropertyOrder = order;
  }
  return p;
}
