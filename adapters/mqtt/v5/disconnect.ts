// The rest of an MQTT 5 client's packets: DISCONNECT (§3.14: 0x00 discards the will, any other code
// publishes it; a new Session Expiry Interval, never from 0), PINGREQ, and AUTH, which no client
// may send here since no enhanced authentication method is configured (CONNECT with one got 0x8C).
import type { IAuthPacket, IDisconnectPacket } from 'mqtt-packet';
import type { MqttSession } from '../session.ts';
import { NEVER_EXPIRES } from '../session-state.ts';
import type { Mqtt5Connection } from './connection.ts';
import { duplicateProperty } from './properties.ts';
import { RC } from './reason-codes.ts';

export function handleDisconnect(conn: Mqtt5Connection, packet: IDisconnectPacket): void {
  const props = packet.properties;
  const dup = duplicateProperty(props);
  if (dup) return conn.protocolError(RC.protocolError, `property ${dup} appears more than once`);
  let expiry = props?.sessionExpiryInterval;
  if (expiry !== undefined) {
    if (conn.sessionExpiry === 0 && expiry !== 0) {
      return conn.protocolError(RC.protocolError, 'DISCONNECT cannot set a Session Expiry Interval when CONNECT had 0');
    }
    const cap = conn.host.limits.maxSessionExpirySeconds;
    if (cap > 0 && (expiry === NEVER_EXPIRES || expiry > cap)) expiry = cap;
    conn.sessionExpiry = expiry;
    (conn.session as MqttSession).setExpiry(expiry);
    conn.willDelay = Math.min(conn.will?.properties?.willDelayInterval ?? 0, expiry);
  }
  conn.normalDisconnect = (packet.reasonCode ?? 0) === RC.success;
  conn.host.leaving5(conn);
  conn.close();
}

export function handlePingreq(conn: Mqtt5Connection): void {
  conn.send({ cmd: 'pingresp' });
}

export function handleAuth(conn: Mqtt5Connection, packet: IAuthPacket): void {
  const method = packet.properties?.authenticationMethod;
  if (method !== undefined) {
    return conn.protocolError(
      RC.badAuthenticationMethod,
      `authentication method "${method}" is not supported (no enhanced authentication is configured)`,
    );
  }
  conn.protocolError(RC.protocolError, 'AUTH without an authentication method agreed in CONNECT');
}
