// MQTT 5 CONNECT -> CONNACK (§3.1, §3.2): the packet's own rules, the client id (assigned when
// empty), the expiry and keep-alive the broker grants, then the service authenticates and loads
// the session, and CONNACK tells the client what this broker supports and allows.
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import type { IConnackPacket, IConnectPacket } from 'mqtt-packet';
import { ConnectRefusal } from '../connect-refusal.ts';
import { topicToCore } from '../topics.ts';
import { NEVER_EXPIRES } from '../session-state.ts';
import type { Mqtt5Connection } from './connection.ts';
import { duplicateProperty } from './properties.ts';
import { RC } from './reason-codes.ts';

/** Why a CONNECT breaks the packet rules (reason code and text), or undefined. */
function invalid(packet: IConnectPacket): [number, string] | undefined {
  const props = packet.properties ?? {};
  const dup = duplicateProperty(props) ?? duplicateProperty(packet.will?.properties);
  if (dup) return [RC.protocolError, `property ${dup} appears more than once`];
  if (props.receiveMaximum === 0) return [RC.protocolError, 'Receive Maximum must not be 0'];
  if (props.maximumPacketSize === 0) return [RC.protocolError, 'Maximum Packet Size must not be 0'];
  if (props.authenticationMethod !== undefined) {
    return [
      RC.badAuthenticationMethod,
      `authentication method "${props.authenticationMethod}" is not supported (no enhanced authentication is configured)`,
    ];
  }
  if (packet.will) {
    const payload = packet.will.payload;
    if (packet.will.properties?.payloadFormatIndicator === true && !isUtf8(typeof payload === 'string' ? Buffer.from(payload) : payload)) {
      return [RC.payloadFormatInvalid, 'the will payload is not UTF-8 though its Payload Format Indicator says so'];
    }
    if (packet.will.topic.startsWith('$')) return [RC.topicNameInvalid, `topics starting with $ are reserved: "${packet.will.topic}"`];
    try {
      topicToCore(packet.will.topic);
    } catch (err) {
      return [RC.topicNameInvalid, `will topic: ${(err as Error).message}`];
    }
  }
  return undefined;
}

export async function handleConnect(conn: Mqtt5Connection, packet: IConnectPacket): Promise<void> {
  const props = packet.properties ?? {};
  const limits = conn.host.limits;
  const bad = invalid(packet);
  if (bad) return conn.refuse(...bad);
  if (conn.info.refused !== undefined) return conn.refuse(RC.quotaExceeded, conn.info.refused);

  const connack: IConnackPacket = { cmd: 'connack', sessionPresent: false, reasonCode: RC.success, properties: {} };
  const granted = connack.properties as NonNullable<IConnackPacket['properties']>;
  if (packet.clientId === '') {
    conn.id = `auto-${randomUUID()}`;
    granted.assignedClientIdentifier = conn.id;
  } else {
    conn.id = packet.clientId;
  }
  conn.clean = packet.clean ?? true;
  conn.peer.receiveMaximum = props.receiveMaximum ?? 65535;
  conn.peer.maximumPacketSize = props.maximumPacketSize ?? 0;
  conn.peer.problemInformation = props.requestProblemInformation !== false;
  conn.peer.topicAliasMaximum = props.topicAliasMaximum ?? 0;

  let expiry = props.sessionExpiryInterval ?? 0;
  if (limits.maxSessionExpirySeconds > 0 && (expiry === NEVER_EXPIRES || expiry > limits.maxSessionExpirySeconds)) {
    expiry = limits.maxSessionExpirySeconds;
    granted.sessionExpiryInterval = expiry;
  }
  conn.sessionExpiry = expiry;
  let keepAlive = packet.keepalive ?? 0;
  if (limits.maxKeepAliveSeconds > 0 && (keepAlive === 0 || keepAlive > limits.maxKeepAliveSeconds)) {
    keepAlive = limits.maxKeepAliveSeconds;
    granted.serverKeepAlive = keepAlive;
  }
  if (packet.will) {
    conn.will = packet.will;
    conn.willDelay = Math.min(packet.will.properties?.willDelayInterval ?? 0, expiry);
  }

  let present: boolean;
  try {
    ({ present } = await conn.host.open(conn, packet, expiry));
  } catch (err) {
    if (err instanceof ConnectRefusal) return conn.refuse(err.reasonCode, err.message);
    conn.log.warn({ err, clientId: conn.id }, 'mqtt 5 connection refused: session state unavailable');
    return conn.refuse(RC.serverUnavailable, `session state unavailable: ${(err as Error).message}`);
  }
  if (conn.closing) return;
  connack.sessionPresent = present;
  Object.assign(granted, {
    receiveMaximum: limits.receiveMaximum,
    maximumPacketSize: limits.maxPacketBytes,
    topicAliasMaximum: limits.topicAliasMaximum,
    retainAvailable: true,
    wildcardSubscriptionAvailable: true,
    subscriptionIdentifiersAvailable: true,
    sharedSubscriptionAvailable: true,
  });
  conn.send(connack);
  conn.opened(keepAlive);
}
