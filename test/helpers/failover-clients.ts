// Producers and consumers that know both brokers of a pair, for the failover tests and bench. Each
// protocol gives a driver (connect a producer or a consumer to one port, with the protocol's own
// acknowledgement: a STOMP RECEIPT, an MQTT PUBACK, an AMQP accepted outcome); `runFailoverStream`
// sends numbered messages through whichever broker answers, re-sending a message whose
// acknowledgement never came, and collects what the consumer receives.
import net from 'node:net';
import mqtt from 'mqtt';
import type { EventContext } from 'rhea';
import stompit from 'stompit';
import { AmqpClient } from './amqp.ts';

export interface ProducerConn {
  send(body: string): Promise<void>;
  close(): void;
}

export interface ConsumerConn {
  /** Resolves when the connection is lost. */
  readonly lost: Promise<void>;
  close(): void;
}

export interface FailoverDriver {
  readonly protocol: string;
  producer(port: number): Promise<ProducerConn>;
  consumer(port: number, onBody: (body: string) => void): Promise<ConsumerConn>;
}

const STOMP_HEADERS = { host: '/', 'accept-version': '1.2', 'heart-beat': '0,0' };

/** stompit writes a frame's headers and body apart: without TCP_NODELAY each RECEIPT waits out a delayed ACK. */
function noDelayConnect(options: net.NetConnectOpts, listener: () => void): net.Socket {
  return net.connect(options, listener).setNoDelay(true);
}

function stompConnect(port: number, extra: Record<string, string> = {}): Promise<stompit.Client> {
  return new Promise((resolve, reject) =>
    stompit.connect(
      {
        host: '127.0.0.1',
        port,
        connect: noDelayConnect,
        connectHeaders: { ...STOMP_HEADERS, ...extra },
      } as stompit.connect.ConnectOptions,
      (err, c) => (err ? reject(err) : resolve(c)),
    ),
  );
}

/** Resolves when `emitter` emits any of `events`. */
function lostOn(emitter: { once(e: string, f: () => void): unknown }, ...events: string[]): Promise<void> {
  return new Promise((resolve) => {
    for (const e of events) emitter.once(e, () => resolve());
  });
}

export const stompDriver = (destination: string): FailoverDriver => ({
  protocol: 'stomp',
  async producer(port) {
    const client = await stompConnect(port);
    client.on('error', () => {});
    const lost = lostOn(client, 'error', 'end');
    return {
      send: (body) =>
        new Promise<void>((resolve, reject) => {
          const frame = client.send({ destination, persistent: 'true' }, { onReceipt: () => resolve() } as never);
          frame.end(body);
          void lost.then(() => reject(new Error('STOMP connection lost before the RECEIPT')));
        }),
      close: () => client.destroy(new Error('closed')),
    };
  },
  async consumer(port, onBody) {
    const client = await stompConnect(port);
    client.on('error', () => {});
    const lost = lostOn(client, 'error', 'end');
    client.subscribe({ destination, ack: 'client-individual' }, (err, message) => {
      if (err) return;
      message.readString('utf8', (e, body) => {
        if (e || body === undefined) return;
        onBody(body);
        client.ack(message);
      });
    });
    return { lost, close: () => client.destroy(new Error('closed')) };
  },
});

export const mqttDriver = (topic: string, consumerId: string): FailoverDriver => ({
  protocol: 'mqtt',
  async producer(port) {
    const client = await mqttConnect(port, { clean: true });
    const lost = lostOn(client, 'close');
    return {
      send: (body) =>
        Promise.race([
          client.publishAsync(topic, body, { qos: 1 }).then(() => undefined),
          lost.then(() => Promise.reject(new Error('MQTT connection lost before the PUBACK'))),
        ]),
      close: () => client.end(true),
    };
  },
  async consumer(port, onBody) {
    const client = await mqttConnect(port, { clean: false, clientId: consumerId });
    const lost = lostOn(client, 'close');
    client.on('message', (_t, payload) => onBody(payload.toString()));
    await client.subscribeAsync(topic, { qos: 1 });
    return { lost, close: () => client.end(true) };
  },
});

async function mqttConnect(port: number, opts: mqtt.IClientOptions): Promise<mqtt.MqttClient> {
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 3000, ...opts });
  client.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('close', () => reject(new Error('MQTT connect failed')));
  });
  return client;
}

export const amqpDriver = (address: string): FailoverDriver => ({
  protocol: 'amqp',
  async producer(port) {
    const client = await AmqpClient.connect(port);
    const lost = lostOn(client.conn, 'disconnected', 'connection_close');
    const sender = await client.sender({ target: { address } });
    return {
      send: (body) =>
        Promise.race([
          client.send(sender, { body, durable: true }).then((r) => {
            if (r.outcome !== 'accepted') throw new Error(`AMQP ${r.outcome}: ${r.error?.description}`);
          }),
          lost.then(() => Promise.reject(new Error('AMQP connection lost before the outcome'))),
        ]),
      close: () => client.close(),
    };
  },
  async consumer(port, onBody) {
    const client = await AmqpClient.connect(port);
    const lost = lostOn(client.conn, 'disconnected', 'connection_close');
    const { link } = await client.receiver({ source: { address }, credit_window: 50 });
    link.on('message', (e: EventContext) => {
      onBody(String(e.message?.body));
      e.delivery?.accept();
    });
    return { lost, close: () => client.close() };
  },
});

export interface StreamResult {
  acknowledged: number;
  /** Acknowledged messages the consumer never received. */
  lost: string[];
  /** Messages received more than once. */
  duplicates: number;
  /** Sends that failed (connection lost, refused) and were tried again. */
  resent: number;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retries `connect` against each port in turn (50 ms apart) until one answers or `deadline` passes. */
async function connectAny<T>(ports: readonly number[], connect: (port: number) => Promise<T>, deadline: number): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await connect(ports[i % ports.length] as number);
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`no broker answered: ${(err as Error).message}`, { cause: err });
      await pause(50);
    }
  }
}

/**
 * Sends `count` messages through whichever of `ports` serves, calling `midway` (the failure to
 * survive) once `at` messages are acknowledged, while a consumer that knows both ports receives them;
 * resolves once every acknowledged message is received or `deadlineMs` has passed.
 */
export async function runFailoverStream(
  driver: FailoverDriver,
  ports: readonly number[],
  opts: { count: number; at: number; midway: () => Promise<void>; deadlineMs?: number; prefix?: string },
): Promise<StreamResult> {
  const deadline = Date.now() + (opts.deadlineMs ?? 60_000);
  const prefix = opts.prefix ?? 'm';
  const received = new Map<string, number>();
  let wanted = new Set<string>();
  let allIn: () => void = () => {};
  const onBody = (body: string): void => {
    received.set(body, (received.get(body) ?? 0) + 1);
    wanted.delete(body);
    if (wanted.size === 0 && producing === false) allIn();
  };
  let producing = true;
  let stopped = false;
  let consumer: ConsumerConn | undefined;
  const consume = async (): Promise<void> => {
    while (!stopped) {
      consumer = await connectAny(ports, (p) => driver.consumer(p, onBody), deadline);
      await consumer.lost;
    }
  };
  consumer = await connectAny(ports, (p) => driver.consumer(p, onBody), deadline);
  const first = consumer;
  const consuming = (async () => {
    await first.lost;
    await consume();
  })().catch(() => {});

  const acked: string[] = [];
  let resent = 0;
  let producer: ProducerConn | undefined;
  for (let i = 0; i < opts.count; i++) {
    const body = `${prefix}-${i}`;
    for (;;) {
      producer ??= await connectAny(ports, (p) => driver.producer(p), deadline);
      try {
        await producer.send(body);
        acked.push(body);
        break;
      } catch {
        resent++;
        producer.close();
        producer = undefined;
        if (Date.now() > deadline) throw new Error(`${driver.protocol}: could not send ${body} before the deadline`);
      }
    }
    if (acked.length === opts.at) await opts.midway();
  }
  producer?.close();
  wanted = new Set(acked.filter((b) => !received.has(b)));
  producing = false;
  if (wanted.size > 0) {
    await Promise.race([new Promise<void>((resolve) => (allIn = resolve)), pause(Math.max(0, deadline - Date.now()))]);
  }
  stopped = true;
  consumer?.close();
  await Promise.race([consuming, pause(2000)]);
  let duplicates = 0;
  for (const n of received.values()) duplicates += n - 1;
  return { acknowledged: acked.length, lost: acked.filter((b) => !received.has(b)), duplicates, resent };
}
