// MQTT 5 SUBSCRIBE -> SUBACK and UNSUBSCRIBE -> UNSUBACK (§3.8-§3.11): one reason code per filter
// (granted QoS, 0x8F for a filter that is not valid, 0x87 not authorized, 0x97 quota...), the
// subscription options (No Local, Retain As Published, Retain Handling) and the Subscription
// Identifier. Retained messages follow the SUBACK.
import type { ISubscribePacket, IUnsubscribePacket } from 'mqtt-packet';
import type { MqttSession } from '../session.ts';
import type { SubscriptionOptions } from '../session-state.ts';
import { filterToCore } from '../topics.ts';
import type { Mqtt5Connection } from './connection.ts';
import { duplicateProperty } from './properties.ts';
import { RC, subscribeRefusalCode } from './reason-codes.ts';

export async function handleSubscribe(conn: Mqtt5Connection, packet: ISubscribePacket): Promise<void> {
  const props = packet.properties;
  const dup = duplicateProperty(props);
  if (dup) return conn.protocolError(RC.protocolError, `property ${dup} appears more than once`);
  const identifier = props?.subscriptionIdentifier;
  if (identifier === 0) return conn.protocolError(RC.protocolError, 'Subscription Identifier must not be 0');
  for (const s of packet.subscriptions) {
    if (s.nl === true && s.topic.startsWith('$share/')) {
      return conn.protocolError(RC.protocolError, `No Local cannot be set on a shared subscription: "${s.topic}"`);
    }
  }
  const session = conn.session as MqttSession;
  const codes: number[] = [];
  const granted: string[] = [];
  const reasons: string[] = [];
  for (const s of packet.subscriptions) {
    const options: SubscriptionOptions = { qos: s.qos };
    if (s.nl === true) options.noLocal = true;
    if (s.rap === true) options.retainAsPublished = true;
    if (identifier !== undefined) options.identifier = identifier as number;
    const outcome = await session.subscribeWith(s.topic, options, (s.rh ?? 0) as 0 | 1 | 2);
    if (typeof outcome === 'number') {
      codes.push(outcome);
      granted.push(s.topic);
    } else {
      codes.push(subscribeRefusalCode(outcome.refused));
      reasons.push(`${s.topic}: ${outcome.reason}`);
    }
  }
  conn.send({
    cmd: 'suback',
    messageId: packet.messageId,
    granted: codes,
    ...(reasons.length > 0 ? { properties: { reasonString: reasons.join('; ') } } : {}),
  });
  session.subscribed(granted);
}

export async function handleUnsubscribe(conn: Mqtt5Connection, packet: IUnsubscribePacket): Promise<void> {
  const dup = duplicateProperty(packet.properties);
  if (dup) return conn.protocolError(RC.protocolError, `property ${dup} appears more than once`);
  const session = conn.session as MqttSession;
  const codes = packet.unsubscriptions.map((raw) => {
    try {
      filterToCore(raw);
    } catch {
      return RC.topicFilterInvalid;
    }
    return session.hasSubscription(raw) ? RC.success : RC.noSubscriptionExisted;
  });
  await session.unsubscribe(packet.unsubscriptions.filter((_, i) => codes[i] === RC.success));
  conn.send({ cmd: 'unsuback', messageId: packet.messageId, granted: codes });
}
