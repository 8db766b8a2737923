// aedes' persistence interface, answered from the core instead of a second store. aedes calls
// these at fixed points of its packet handlers; each call is forwarded to the connection's
// MqttSession (whose state is core session records) or to the will records. The parts of the
// interface that exist for aedes' own fan-out and offline queues (subscriptionsByTopic,
// outgoingEnqueue...) are empty: the core routes and queues. aedes-persistence's abstract test
// suite therefore does not apply; test/protocol/mqtt*.test.ts covers the behaviour end to end.
import { Readable } from 'node:stream';
import type { PublishProperties } from './mapping.ts';
import type { MqttSession } from './session.ts';

export interface PersistenceHost {
  sessionOf(client: unknown): MqttSession | undefined;
  sessionById(clientId: string): MqttSession | undefined;
  putWill(session: MqttSession, will: WillPacket): Promise<void>;
  getWill(clientId: string): Promise<WillPacket | undefined>;
  delWill(clientId: string): Promise<void>;
}

export interface WillPacket {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  /** MQTT 5 will properties. */
  properties?: PublishProperties | undefined;
}

interface IdPacket {
  cmd?: string;
  messageId?: number;
}

const emptyStream = (): Readable => Readable.from([]);

/** Builds the persistence object handed to aedes (setup must be a real async function). */
export function corePersistence(host: PersistenceHost): Record<string, unknown> {
  const session = (client: unknown): MqttSession => {
    const s = host.sessionOf(client);
    if (!s) throw new Error('MQTT connection has no session');
    return s;
  };
  return {
    async setup() {},
    async destroy() {},

    async storeRetained() {},
    createRetainedStream: emptyStream,
    createRetainedStreamCombi: emptyStream,

    async addSubscriptions() {},
    async removeSubscriptions(client: unknown, filters: string[]) {
      await session(client).unsubscribe(filters);
    },
    // The session was loaded (or a clean one started) when the client authenticated.
    async subscriptionsByClient(client: { id: string }) {
      return host.sessionById(client.id)?.storedSubscriptions() ?? [];
    },
    async cleanSubscriptions() {},
    async subscriptionsByTopic() {
      return [];
    },
    async countOffline() {
      return { subscriptionsCount: 0, clientsCount: 0 };
    },

    async outgoingEnqueue() {},
    async outgoingEnqueueCombi() {},
    async outgoingUpdate(client: unknown, packet: IdPacket) {
      if (packet.cmd === 'pubrel' && packet.messageId !== undefined) await session(client).received(packet.messageId);
    },
    // Not async: a PUBACK that settles at once (all but a persistent session's) costs one promise, not three.
    outgoingClearMessageId(client: unknown, packet: IdPacket): Promise<IdPacket> {
      let stored: Promise<void> | undefined;
      try {
        stored = packet.messageId === undefined ? undefined : session(client).acknowledged(packet.messageId);
      } catch (err) {
        return Promise.reject(err as Error);
      }
      return stored ? stored.then(() => packet) : Promise.resolve(packet);
    },
    outgoingStream(client: unknown) {
      return Readable.from(session(client).pendingReleases());
    },

    async incomingStorePacket() {},
    async incomingGetPacket(client: unknown, packet: IdPacket) {
      if (packet.messageId !== undefined && session(client).hasIncoming(packet.messageId)) return packet;
      throw new Error(`no stored QoS 2 packet ${String(packet.messageId)}`);
    },
    async incomingDelPacket(client: unknown, packet: IdPacket) {
      if (packet.messageId !== undefined) await session(client).released(packet.messageId);
    },
    async cleanIncoming() {},

    async putWill(client: unknown, will: WillPacket) {
      await host.putWill(session(client), will);
    },
    async getWill(client: { id: string }) {
      return host.getWill(client.id);
    },
    async delWill(client: { id: string }) {
      await host.delWill(client.id);
    },
    streamWill: emptyStream,
    getClientList: emptyStream,
  };
}
