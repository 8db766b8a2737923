// The client's answers to the broker's QoS 1 and 2 PUBLISHes (§3.4, §3.5, §3.7): PUBACK and PUBCOMP
// settle the core delivery and free a place in the client's Receive Maximum; PUBREC is answered
// with PUBREL once the session has noted it. A PUBACK or PUBREC with a reason code of 0x80 or more
// is the client refusing the message: the exchange ends and the message is settled (logged).
import type { IPubackPacket, IPubcompPacket, IPubrecPacket } from 'mqtt-packet';
import type { MqttSession } from '../session.ts';
import type { Mqtt5Connection } from './connection.ts';
import { RC } from './reason-codes.ts';

function settle(conn: Mqtt5Connection, id: number, refused: number | undefined): void {
  const session = conn.session as MqttSession;
  if (refused !== undefined) session.log.info({ clientId: conn.id, packetId: id, reasonCode: refused }, 'the client refused a message');
  conn.outboundDone(id);
  session.acknowledged(id)?.catch((err: unknown) => session.log.warn({ err, clientId: conn.id }, 'could not record an acknowledgement'));
}

export function handlePuback(conn: Mqtt5Connection, packet: IPubackPacket): void {
  const code = packet.reasonCode ?? 0;
  settle(conn, packet.messageId ?? 0, code >= 0x80 ? code : undefined);
}

export function handlePubcomp(conn: Mqtt5Connection, packet: IPubcompPacket): void {
  settle(conn, packet.messageId ?? 0, undefined);
}

export function handlePubrec(conn: Mqtt5Connection, packet: IPubrecPacket): void {
  const id = packet.messageId ?? 0;
  const code = packet.reasonCode ?? 0;
  if (code >= 0x80) return settle(conn, id, code);
  if (!conn.isOutbound(id)) {
    conn.send({ cmd: 'pubrel', messageId: id, reasonCode: RC.packetIdNotFound });
    return;
  }
  const session = conn.session as MqttSession;
  session.received(id).then(
    () => conn.send({ cmd: 'pubrel', messageId: id, reasonCode: RC.success }),
    (err: unknown) => {
      session.log.warn({ err, clientId: conn.id }, 'could not record PUBREC: closing the connection');
      conn.disconnect(RC.unspecified, 'session state unavailable');
    },
  );
}
