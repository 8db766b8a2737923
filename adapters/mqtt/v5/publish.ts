// MQTT 5 PUBLISH from a client (§3.3) and PUBREL (§3.6): topic aliases resolved, the packet's own
// rules checked, the message handed to the core, and PUBACK / PUBREC carrying the outcome: 0x00,
// 0x10 when nothing subscribes, a refusal code with its reason, or no acknowledgement and a
// DISCONNECT when this broker cannot take messages now (the client sends it again after reconnecting).
import { isUtf8 } from 'node:buffer';
import type { IPublishPacket, IPubrelPacket, Packet } from 'mqtt-packet';
import { JunctionError } from '../../../src/shared/errors.ts';
import type { MqttSession } from '../session.ts';
import type { AckSlot, Mqtt5Connection } from './connection.ts';
import { duplicateProperty } from './properties.ts';
import { publishRefusalCode, RC, retryLaterCode } from './reason-codes.ts';

/** Why the core should not see this message: [reason code, text], or undefined. */
function refusal(topic: string, packet: IPublishPacket): [number, string] | undefined {
  if (topic.startsWith('$')) return [RC.topicNameInvalid, `topics starting with $ are reserved: "${topic}"`];
  if (packet.properties?.payloadFormatIndicator === true && !isUtf8(packet.payload as Buffer)) {
    return [RC.payloadFormatInvalid, 'the payload is not UTF-8 though its Payload Format Indicator says so'];
  }
  return undefined;
}

export function handlePublish(conn: Mqtt5Connection, packet: IPublishPacket): void {
  const props = packet.properties;
  const dup = duplicateProperty(props);
  if (dup) return conn.protocolError(RC.protocolError, `property ${dup} appears more than once`);
  if (props?.subscriptionIdentifier !== undefined) {
    return conn.protocolError(RC.protocolError, 'a PUBLISH from a client must not carry a Subscription Identifier');
  }
  const topic = conn.inboundTopic(packet);
  if (typeof topic !== 'string') return conn.protocolError(...topic);
  const session = conn.session as MqttSession;
  const qos = packet.qos;
  const refused = refusal(topic, packet);
  if (refused) {
    session.log.info({ clientId: conn.id, topic, qos, reasonCode: refused[0], reason: refused[1] }, 'publish refused');
    if (qos === 0) return conn.disconnect(...refused);
    conn.acknowledge(conn.reserveAck(), ack(packet, refused[0], refused[1]));
    return;
  }
  const slot = qos > 0 ? conn.reserveAck() : undefined;
  conn.publishEntered();
  const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
  let r: number | undefined | Promise<number | undefined>;
  try {
    r = session.publishNow({ topic, payload, qos, retain: packet.retain, properties: props }, qos === 2 ? packet.messageId : undefined);
  } catch (err) {
    r = Promise.reject(err as Error);
  }
  if (!(r instanceof Promise)) {
    published(conn, packet, slot, r);
    conn.publishDone();
    return;
  }
  r.then(
    (routed) => published(conn, packet, slot, routed),
    (err: unknown) => {
      const code = err instanceof JunctionError ? err.code : 'error';
      const reason = (err as Error).message;
      const later = retryLaterCode(code);
      session.log.warn(
        { clientId: conn.id, topic, qos, reason },
        later ? 'publish not taken: disconnecting without acknowledgement' : 'publish refused',
      );
      if (later !== undefined || !slot) {
        if (slot) conn.acknowledge(slot, undefined);
        conn.disconnect(later ?? publishRefusalCode(code), reason);
        return;
      }
      conn.acknowledge(slot, ack(packet, publishRefusalCode(code), reason));
    },
  ).finally(() => conn.publishDone());
}

/** The core took the PUBLISH: its PUBACK or PUBREC (0x10 when no subscriber matched) takes its place in line. */
function published(conn: Mqtt5Connection, packet: IPublishPacket, slot: AckSlot | undefined, routed: number | undefined): void {
  if (slot) conn.acknowledge(slot, ack(packet, routed === 0 && !packet.retain ? RC.noMatchingSubscribers : RC.success));
}

function ack(packet: IPublishPacket, reasonCode: number, reason?: string): Packet | undefined {
  if (packet.qos === 0) return undefined;
  const p = { cmd: packet.qos === 1 ? 'puback' : 'pubrec', messageId: packet.messageId, reasonCode } as Packet;
  if (reason !== undefined) (p as { properties?: object }).properties = { reasonString: reason };
  return p;
}

export async function handlePubrel(conn: Mqtt5Connection, packet: IPubrelPacket): Promise<void> {
  const session = conn.session as MqttSession;
  const id = packet.messageId ?? 0;
  const known = session.hasIncoming(id);
  if (known) await session.released(id);
  conn.send({ cmd: 'pubcomp', messageId: id, reasonCode: known ? RC.success : RC.packetIdNotFound });
}
