// The AWS adapter against the adapter contract, with the AWS SDK for JavaScript's SQS client as its
// client. A client is one keep-alive HTTP connection (an agent of one socket), which receives by
// long polling a queue and acknowledges by DeleteMessage. SQS ties nothing a receive holds to the
// connection: what a lost client held comes back when its visibility timeout runs out, so the
// driver's queues have one of a second. SQS has no transactions.
import { Agent } from 'node:http';
import type { Socket } from 'node:net';
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { awsAdapter } from '../../adapters/aws/index.ts';
import type { JunctionServer } from '../../src/server.ts';
import { Collector } from '../helpers/collector.ts';
import { describeAdapterContract, type ContractClient, type ContractDelivery } from './adapter-contract.ts';

interface Connection {
  sqs: SQSClient;
  /** Cuts the connection without a word, and lets the client open no other. */
  cut(): void;
  /** Resolves when the broker closed the connection (not when the test cut it). */
  gone: Promise<string>;
}

function open(server: JunctionServer): Connection {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const sockets = new Set<Socket>();
  let cut = false;
  let said: (s: string) => void = () => {};
  const gone = new Promise<string>((resolve) => (said = resolve));
  const createConnection = agent.createConnection.bind(agent);
  agent.createConnection = ((...args: Parameters<typeof createConnection>) => {
    const socket = createConnection(...args) as Socket;
    socket.on('error', () => {});
    if (cut) socket.destroy();
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      if (!cut) said('');
    });
    return socket;
  }) as typeof agent.createConnection;
  const sqs = new SQSClient({
    endpoint: `http://127.0.0.1:${server.listeners.port('aws', 'tcp') as number}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDCONTRACT', secretAccessKey: 'x' },
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpAgent: agent }),
  });
  return {
    sqs,
    gone,
    cut() {
      cut = true;
      for (const s of sockets) s.destroy();
      sqs.destroy();
    },
  };
}

async function queueUrl(sqs: SQSClient, channel: string): Promise<string> {
  const name = channel.replace(/\./g, '-');
  return (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '1' } }))).QueueUrl as string;
}

describeAdapterContract('SQS', {
  transactional: false,
  adapters: [awsAdapter],
  protocol: 'aws',
  refusal: /^503 Connection limit reached: 1 connections on this listener \(limits\.maxConnections\)$/,
  async connect(server) {
    const conn = open(server);
    const received = new Collector<ContractDelivery>();
    let consuming = true;
    const c: ContractClient = {
      received,
      gone: conn.gone,
      async send(channel, body) {
        await conn.sqs.send(new SendMessageCommand({ QueueUrl: await queueUrl(conn.sqs, channel), MessageBody: body }));
      },
      async consume(channel) {
        const url = await queueUrl(conn.sqs, channel);
        void (async () => {
          while (consuming) {
            try {
              const r = await conn.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }));
              for (const m of r.Messages ?? []) {
                received.push({
                  body: m.Body ?? '',
                  ack: () =>
                    void conn.sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle })).catch(() => {}),
                });
              }
            } catch {
              return;
            }
          }
        })();
      },
      async end() {
        consuming = false;
        conn.cut();
      },
      kill() {
        consuming = false;
        conn.cut();
      },
    };
    // The connection counts as the client's from its first request on.
    await conn.sqs.send(new CreateQueueCommand({ QueueName: 'contract-hello' }));
    return c;
  },
  async connectRefused(server) {
    const res = await fetch(`http://127.0.0.1:${server.listeners.port('aws', 'tcp') as number}/`, { method: 'POST' }).catch(
      (err: Error) => err,
    );
    if (res instanceof Error) return res.message;
    return `${res.status} ${(await res.text()).trim()}`;
  },
});
