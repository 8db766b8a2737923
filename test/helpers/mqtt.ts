// MQTT test helpers: a broker with the MQTT, STOMP and AMQP adapters on ephemeral loopback ports
// (memory store unless a store is given), an mqtt.js client whose messages land in a Collector,
// and a raw client that writes exact MQTT packets (mqtt-packet) for what mqtt.js would hide.
import type { Logger } from 'pino';
import net from 'node:net';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import mqttPacket, { type Packet } from 'mqtt-packet';
import type { JunctionServer } from '../../src/server.ts';
import { amqpAdapter } from '../../adapters/amqp/index.ts';
import { mqttAdapter } from '../../adapters/mqtt/index.ts';
import { stompAdapter } from '../../adapters/stomp/index.ts';
import type { Store } from '../../src/store/store.ts';
import { Collector } from './collector.ts';
import { startTestServer } from './server.ts';
import type { TestCert } from './tls.ts';

export interface MqttTestServer {
  server: JunctionServer;
  port: number;
  tlsPort: number;
  wsPort: number;
  stompPort: number;
  amqpPort: number;
  cert: TestCert;
  stop(): Promise<void>;
}

export async function startMqttServer(extra: Record<string, unknown> = {}, store?: Store, log?: Logger): Promise<MqttTestServer> {
  const { server, cert } = await startTestServer(
    [mqttAdapter, stompAdapter, amqpAdapter],
    { mqtt: { port: 0, tlsPort: 0 }, amqp: { port: 0, tls: false }, stomp: { port: 0, tls: false }, websocket: { port: 0 } },
    extra,
    store,
    log,
  );
  return {
    server,
    cert,
    port: server.listeners.port('mqtt', 'tcp')!,
    tlsPort: server.listeners.port('mqtt', 'tls')!,
    wsPort: server.listeners.port('websocket', 'ws')!,
    stompPort: server.listeners.port('stomp', 'tcp')!,
    amqpPort: server.listeners.port('amqp', 'tcp')!,
    stop: () => server.stop(),
  };
}

export interface Got {
  topic: string;
  payload: Buffer;
  packet: IPublishPacket;
}

/** An mqtt.js client (no automatic reconnect) whose received messages are collected. */
export async function connectMqtt(url: string, opts: IClientOptions = {}): Promise<{ client: MqttClient; got: Collector<Got> }> {
  const got = new Collector<Got>();
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  client.on('message', (topic, payload, packet) => got.push({ topic, payload, packet }));
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
    client.once('close', () => reject(new Error('closed before CONNACK')));
  });
  client.on('error', () => {});
  return { client, got };
}

export function endMqtt(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.end(false, {}, () => resolve()));
}

/** Writes MQTT packets as given and collects the packets the broker sends back (MQTT 3.1.1, or 5). */
export class RawMqtt {
  readonly packets = new Collector<Packet>();
  readonly closed: Promise<void>;
  private readonly parser: ReturnType<typeof mqttPacket.parser>;

  private constructor(
    readonly socket: net.Socket,
    readonly version: 4 | 5,
  ) {
    this.parser = mqttPacket.parser({ protocolVersion: version });
    this.parser.on('packet', (p: Packet) => this.packets.push(p));
    this.parser.on('error', () => socket.destroy());
    socket.on('data', (d: Buffer) => this.parser.parse(d));
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async open(port: number, version: 4 | 5 = 4): Promise<RawMqtt> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    return new RawMqtt(socket, version);
  }

  /** Opens a connection and completes CONNECT; returns the CONNACK. */
  static async connect(
    port: number,
    connect: Partial<mqttPacket.IConnectPacket> = {},
  ): Promise<{ raw: RawMqtt; connack: mqttPacket.IConnackPacket }> {
    const version = connect.protocolVersion === 5 ? 5 : 4;
    const raw = await RawMqtt.open(port, version);
    raw.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: version,
      clean: true,
      clientId: `raw-${Math.random().toString(36).slice(2)}`,
      keepalive: 0,
      ...connect,
    });
    const connack = (await raw.next('connack')) as mqttPacket.IConnackPacket;
    return { raw, connack };
  }

  send(p: Packet | Record<string, unknown>): void {
    this.socket.write(mqttPacket.generate(p as Packet, { protocolVersion: this.version }));
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  private seen = 0;

  /** The next packet (after those already taken) with command `cmd`. */
  async next(cmd: Packet['cmd'], timeoutMs = 5000): Promise<Packet> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const p = await this.packets.nth(this.seen + 1, Math.max(1, deadline - Date.now()));
      this.seen++;
      if (p.cmd === cmd) return p;
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
