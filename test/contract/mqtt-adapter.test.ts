// The MQTT adapter against the adapter contract, once per engine: mqtt.js speaking MQTT 3.1.1
// (aedes) and MQTT 5 (Junction's own engine). A client is a persistent session named by its
// identity, so the one that connects again resumes it; PUBACKs for deliveries are held until the
// test acknowledges. MQTT has no transactions.
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { mqttAdapter } from '../../adapters/mqtt/index.ts';
import type { JunctionServer } from '../../src/server.ts';
import { Collector } from '../helpers/collector.ts';
import { describeAdapterContract, type AdapterDriver, type ContractClient, type ContractDelivery } from './adapter-contract.ts';

/** What mqtt.js does with a QoS 1 delivery before its PUBACK: here, wait for the test's acknowledgement. */
type HoldAck = (packet: IPublishPacket, ack: () => void) => void;

function open(server: JunctionServer, options: IClientOptions, hold?: HoldAck): Promise<MqttClient> {
  const port = server.listeners.port('mqtt', 'tcp') as number;
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
  // mqtt.js sends a PUBACK once handleMessage calls back (and handles the next packet only then).
  if (hold) client.handleMessage = (packet, callback) => (packet.qos > 0 ? hold(packet, () => callback()) : callback());
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
    client.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

function driver(protocolVersion: 4 | 5): AdapterDriver {
  return {
    transactional: false,
    adapters: [mqttAdapter],
    protocol: 'mqtt',
    refusal: protocolVersion === 5 ? /Quota exceeded/ : /Server unavailable/,
    goodbye: protocolVersion === 5 ? /^139$/ : /^$/,
    async connect(server, identity) {
      const received = new Collector<ContractDelivery>();
      const client = await open(
        server,
        {
          protocolVersion,
          clientId: `contract-${identity}`,
          clean: false,
          ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 300 } } : {}),
        },
        (packet, ack) => received.push({ body: packet.payload.toString(), ack }),
      );
      client.on('error', () => {});
      const gone = new Promise<string>((resolve) => {
        client.once('disconnect', (packet) => resolve(String(packet.reasonCode ?? '')));
        client.once('close', () => resolve(''));
      });
      const c: ContractClient = {
        received,
        gone,
        send: (channel, body) =>
          new Promise<void>((resolve, reject) =>
            client.publish(`contract/${channel}`, body, { qos: 1 }, (err) => (err ? reject(err) : resolve())),
          ),
        consume: (channel) =>
          new Promise<void>((resolve, reject) =>
            client.subscribe(`contract/${channel}`, { qos: 1 }, (err) => (err ? reject(err) : resolve())),
          ),
        end: () => new Promise<void>((resolve) => client.end(false, {}, () => resolve())),
        kill: () => {
          client.stream.destroy();
          client.end(true);
        },
      };
      return c;
    },
    async connectRefused(server) {
      try {
        const c = await open(server, { protocolVersion, clientId: 'contract-refused' });
        c.end(true);
        return 'connected';
      } catch (err) {
        return (err as Error).message;
      }
    },
  };
}

describeAdapterContract('MQTT 3.1.1', driver(4));
describeAdapterContract('MQTT 5', driver(5));
