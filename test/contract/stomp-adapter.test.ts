// The STOMP adapter against the adapter contract, with stompit as its client.
import stompit from 'stompit';
import { stompAdapter } from '../../adapters/stomp/index.ts';
import type { JunctionServer } from '../../src/server.ts';
import { Collector } from '../helpers/collector.ts';
import { describeAdapterContract, type ContractClient, type ContractDelivery } from './adapter-contract.ts';

function open(server: JunctionServer): Promise<stompit.Client> {
  const port = server.listeners.port('stomp', 'tcp') as number;
  return new Promise((resolve, reject) =>
    stompit.connect({ host: '127.0.0.1', port, connectHeaders: { host: '/', 'accept-version': '1.2' } }, (err, c) =>
      err ? reject(err) : resolve(c),
    ),
  );
}

/** Sends a frame and resolves on its RECEIPT. */
function withReceipt(send: (options: stompit.Client.SendOptions) => { end(body?: string): void }, body?: string): Promise<void> {
  return new Promise((resolve, reject) => send({ onReceipt: resolve, onError: reject } as stompit.Client.SendOptions).end(body));
}

describeAdapterContract('STOMP', {
  transactional: true,
  adapters: [stompAdapter],
  protocol: 'stomp',
  // The ERROR frame's message header, as stompit leaves it: a colon stays escaped (\c, STOMP 1.2).
  refusal: /^Connection limit reached(:|\\c) 1 connections on this listener \(limits\.maxConnections\)$/,
  async connect(server) {
    const client = await open(server);
    const received = new Collector<ContractDelivery>();
    // stompit reports the connection's end as an error ("unexpected end of stream"), or as 'end'.
    const gone = new Promise<string>((resolve) => {
      client.on('error', (err: Error) => resolve(err.message));
      client.once('end', () => resolve(''));
    });
    const deliveries = new Map<ContractDelivery, stompit.Client.Message>();
    const c: ContractClient = {
      received,
      gone,
      send: (channel, body) => withReceipt((o) => client.send({ destination: `/queue/${channel}`, persistent: 'true' }, o), body),
      async consume(channel) {
        client.subscribe({ destination: `/queue/${channel}`, ack: 'client-individual' }, (err, message) => {
          if (err) return;
          message.readString('utf-8', (_e, body) => {
            const d: ContractDelivery = { body: body ?? '', ack: () => client.ack(message) };
            deliveries.set(d, message);
            received.push(d);
          });
        });
      },
      async transaction() {
        const tx = client.begin();
        const id = (tx as unknown as { id: number }).id;
        return {
          ack: (d) =>
            new Promise<void>((resolve, reject) =>
              client.ack(deliveries.get(d) as stompit.Client.Message, { transaction: id }, {
                onReceipt: resolve,
                onError: reject,
              } as stompit.Client.SendOptions),
            ),
          commit: () =>
            new Promise<void>((resolve, reject) => tx.commit({ onReceipt: resolve, onError: reject } as stompit.Client.SendOptions)),
          rollback: () =>
            new Promise<void>((resolve, reject) => tx.abort({ onReceipt: resolve, onError: reject } as stompit.Client.SendOptions)),
        };
      },
      end: () => new Promise<void>((resolve) => client.disconnect(() => resolve())),
      kill: () => client.destroy(new Error('killed by the test')),
    };
    return c;
  },
  async connectRefused(server) {
    try {
      const c = await open(server);
      c.destroy(new Error('not refused'));
      return 'connected';
    } catch (err) {
      return (err as Error).message;
    }
  },
});
