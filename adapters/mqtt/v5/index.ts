// The MQTT 5 engine's entry: a connection whose CONNECT says protocol level 5 gets an
// Mqtt5Connection with one handler per packet type.
import type { Duplex } from 'node:stream';
import type { Packet } from 'mqtt-packet';
import type { LineLogger } from '../../../src/connection-log.ts';
import type { ConnectionInfo } from '../../../src/net/connection.ts';
import { handlePuback, handlePubcomp, handlePubrec } from './acks.ts';
import { handleConnect } from './connect.ts';
import { Mqtt5Connection, type Mqtt5Host } from './connection.ts';
import { handleAuth, handleDisconnect, handlePingreq } from './disconnect.ts';
import { handlePublish, handlePubrel } from './publish.ts';
import { handleSubscribe, handleUnsubscribe } from './subscribe.ts';

export type { Mqtt5Host, Mqtt5Limits } from './connection.ts';
export { Mqtt5Connection } from './connection.ts';

type Handler = (conn: Mqtt5Connection, packet: Packet) => void | Promise<void>;

// Each handler takes its own packet type; the connection looks them up by `cmd`.
const handlers = {
  connect: handleConnect,
  publish: handlePublish,
  puback: handlePuback,
  pubrec: handlePubrec,
  pubrel: handlePubrel,
  pubcomp: handlePubcomp,
  subscribe: handleSubscribe,
  unsubscribe: handleUnsubscribe,
  pingreq: handlePingreq,
  disconnect: handleDisconnect,
  auth: handleAuth,
} as unknown as Readonly<Partial<Record<Packet['cmd'], Handler>>>;

export function acceptMqtt5(stream: Duplex, info: ConnectionInfo, host: Mqtt5Host, log: LineLogger): Mqtt5Connection {
  return new Mqtt5Connection(stream, info, host, handlers, log);
}
