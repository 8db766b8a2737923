// The AMQP 1.0 adapter against the adapter contract, with rhea as its client: sends settle as
// accepted, deliveries are accepted by hand, and transactions go through a coordinator link
// driven by hand (rhea has no transaction API of its own).
import { amqpAdapter } from '../../adapters/amqp/index.ts';
import type { JunctionServer } from '../../src/server.ts';
import { AmqpClient, Coordinator } from '../helpers/amqp.ts';
import { Collector } from '../helpers/collector.ts';
import { describeAdapterContract, type ContractClient, type ContractDelivery } from './adapter-contract.ts';
import rhea, { type Delivery, type EventContext, type Sender } from 'rhea';

const port = (server: JunctionServer): number => server.listeners.port('amqp', 'tcp') as number;

describeAdapterContract('AMQP 1.0', {
  transactional: true,
  adapters: [amqpAdapter],
  protocol: 'amqp',
  refusal: /^amqp:resource-limit-exceeded: Connection limit reached/,
  async connect(server) {
    const client = await AmqpClient.connect(port(server));
    const received = new Collector<ContractDelivery>();
    const deliveries = new Map<ContractDelivery, Delivery>();
    const gone = new Promise<string>((resolve) =>
      client.conn.on('disconnected', (e: EventContext) =>
        resolve(String((e.connection.error as { condition?: string } | undefined)?.condition ?? '')),
      ),
    );
    const senders = new Map<string, Promise<Sender>>();
    const sender = (channel: string): Promise<Sender> => {
      let s = senders.get(channel);
      if (!s) senders.set(channel, (s = client.sender(`queue://${channel}`)));
      return s;
    };
    const c: ContractClient = {
      received,
      gone,
      async send(channel, body) {
        const r = await client.send(await sender(channel), { body, durable: true });
        if (r.outcome !== 'accepted') throw new Error(`${r.outcome}: ${r.error?.description ?? ''}`);
      },
      async consume(channel) {
        const link = client.conn.open_receiver({ source: `queue://${channel}`, autoaccept: false, credit_window: 10 });
        link.on('message', (e: EventContext) => {
          const delivery = e.delivery as Delivery;
          const d: ContractDelivery = { body: String(e.message?.body), ack: () => delivery.accept() };
          deliveries.set(d, delivery);
          received.push(d);
        });
        await new Promise((resolve) => link.once('receiver_open', resolve));
      },
      async transaction() {
        const coordinator = await Coordinator.open(client);
        const id = await coordinator.declare();
        return {
          async ack(d) {
            (deliveries.get(d) as Delivery).update(true, Coordinator.accepted(id) as never);
          },
          async commit() {
            const r = await coordinator.discharge(id, false);
            if (r.kind !== 'accepted') throw new Error(`commit ${r.kind}`);
          },
          async rollback() {
            const r = await coordinator.discharge(id, true);
            if (r.kind !== 'accepted') throw new Error(`rollback ${r.kind}`);
          },
        };
      },
      end: async () => client.close(),
      kill: () => (client.conn as unknown as { socket?: { destroy(): void } }).socket?.destroy(),
    };
    return c;
  },
  // The broker opens, then closes with its error (AMQP answers OPEN before CLOSE).
  connectRefused: (server) =>
    new Promise<string>((resolve) => {
      const conn = rhea.create_container({ id: 'contract-refused' }).connect({ host: '127.0.0.1', port: port(server), reconnect: false });
      const timer = setTimeout(() => {
        conn.close();
        resolve('not refused within 5 s');
      }, 5000);
      const refused = (e: EventContext): void => {
        clearTimeout(timer);
        const error = (e.connection.error ?? e.error) as { condition?: string; description?: string } | undefined;
        resolve(`${error?.condition ?? 'closed'}: ${error?.description ?? ''}`);
      };
      conn.once('connection_error', refused);
      conn.once('connection_close', refused);
      conn.once('disconnected', refused);
      conn.on('error', () => {});
    }),
});
