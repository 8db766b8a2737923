// AMQP 1.0 test helpers: a broker with the AMQP (and STOMP) adapters on ephemeral loopback ports,
// and a rhea client whose links collect deliveries and outcomes for bounded waits.
import rhea, {
  type Connection,
  type ConnectionOptions,
  type Delivery,
  type EventContext,
  type Message,
  type Receiver,
  type ReceiverOptions,
  type Sender,
  type SenderOptions,
} from 'rhea';
import type { JunctionServer } from '../../src/server.ts';
import { amqpAdapter } from '../../adapters/amqp/index.ts';
import { stompAdapter } from '../../adapters/stomp/index.ts';
import { startTestServer } from './server.ts';
import type { TestCert } from './tls.ts';
import { Collector } from './collector.ts';
import { outcomes, txnTypes } from '../../adapters/amqp/rhea-fixes.ts';

export interface AmqpTestServer {
  server: JunctionServer;
  port: number;
  tlsPort: number;
  wsPort: number;
  stompPort: number;
  cert: TestCert;
  stop(): Promise<void>;
}

export async function startAmqpServer(extra: Record<string, unknown> = {}): Promise<AmqpTestServer> {
  const { server, cert } = await startTestServer(
    [amqpAdapter, stompAdapter],
    { mqtt: { enabled: false }, amqp: { port: 0, tlsPort: 0 }, stomp: { port: 0, tls: false }, websocket: { port: 0 } },
    extra,
  );
  return {
    server,
    cert,
    port: server.listeners.port('amqp', 'tcp')!,
    tlsPort: server.listeners.port('amqp', 'tls')!,
    wsPort: server.listeners.port('websocket', 'ws')!,
    stompPort: server.listeners.port('stomp', 'tcp')!,
    stop: () => server.stop(),
  };
}

export interface Received {
  message: Message;
  delivery: Delivery;
}

/** A rhea client connection. */
export class AmqpClient {
  private constructor(readonly conn: Connection) {}

  static async connect(port: number, opts: Partial<ConnectionOptions> = {}): Promise<AmqpClient> {
    const c = rhea.create_container({ id: (opts.container_id as string | undefined) ?? `test-${Math.random().toString(36).slice(2)}` });
    const conn = c.connect({ host: '127.0.0.1', port, reconnect: false, ...opts } as ConnectionOptions);
    await new Promise<void>((resolve, reject) => {
      conn.once('connection_open', () => resolve());
      conn.once('connection_error', (e: EventContext) => reject(new Error(String(e.connection.error ?? 'connection error'))));
      conn.once('disconnected', (e: EventContext) => reject(new Error(`disconnected: ${String(e.error ?? e.connection.error ?? '')}`)));
    });
    conn.on('error', () => {});
    conn.on('disconnected', () => {});
    conn.on('connection_error', () => {});
    return new AmqpClient(conn);
  }

  /** Opens a receiving link; resolves once attached (or rejects with the broker's error). */
  async receiver(opts: ReceiverOptions): Promise<{ link: Receiver; got: Collector<Received> }> {
    const got = new Collector<Received>();
    const link = this.conn.open_receiver({ autoaccept: false, ...opts });
    link.on('message', (e: EventContext) => got.push({ message: e.message as Message, delivery: e.delivery as Delivery }));
    await attached(link);
    return { link, got };
  }

  async sender(opts: SenderOptions | string): Promise<Sender> {
    const link = this.conn.open_sender(opts);
    await attached(link);
    return link;
  }

  /** Sends and resolves with the broker's outcome ('accepted', 'rejected' with its error, ...). */
  send(link: Sender, message: Message): Promise<{ outcome: string; error?: { condition?: string; description?: string } }> {
    const outcomes = ['accepted', 'rejected', 'released', 'modified'] as const;
    return new Promise((resolve) => {
      const d = link.send(message);
      const handlers = outcomes.map((outcome) => {
        const h = (e: EventContext): void => {
          if (e.delivery !== d) return;
          outcomes.forEach((o, i) => link.removeListener(o, handlers[i]!));
          resolve({
            outcome,
            error: (e.delivery?.remote_state as { error?: { condition?: string; description?: string } } | undefined)?.error,
          });
        };
        link.on(outcome, h);
        return h;
      });
    });
  }

  close(): void {
    this.conn.close();
    const socket = (this.conn as unknown as { socket?: { destroy?: () => void } }).socket;
    if (typeof socket?.destroy === 'function') socket.destroy();
  }
}

function attached(link: Receiver | Sender): Promise<void> {
  return new Promise((resolve, reject) => {
    link.once(link.is_receiver() ? 'receiver_open' : 'sender_open', () => resolve());
    link.once(link.is_receiver() ? 'receiver_error' : 'sender_error', (e: EventContext) => {
      const err = (e.receiver ?? e.sender)?.error as { condition?: string; description?: string } | undefined;
      reject(new Error(`${err?.condition}: ${err?.description}`));
    });
  });
}

/** A coordinator link opened by hand with rhea, and its control messages. */
export class Coordinator {
  private readonly answers = new Collector<{ kind: string; state: unknown }>();

  private constructor(private readonly link: Sender) {
    for (const kind of ['declared', 'accepted', 'rejected'])
      link.on(kind, (e: EventContext) => this.answers.push({ kind, state: e.delivery?.remote_state }));
  }

  static async open(c: AmqpClient): Promise<Coordinator> {
    const link = c.conn.open_sender({ target: {} } as never);
    // rhea has no coordinator target of its own: the attach it is about to send names one.
    (link as unknown as { local: { attach: { target: unknown } } }).local.attach.target = txnTypes
      .coordinator!.create({ capabilities: ['amqp:local-transactions'] })
      .described();
    await new Promise<void>((resolve) => link.once('sendable', () => resolve()));
    return new Coordinator(link);
  }

  /** Sends an amqp-value section holding `body`, encoded by hand: rhea drops a described body's own descriptor. */
  private async control(body: unknown): Promise<{ kind: string; state: unknown }> {
    const before = this.answers.items.length;
    const Writer = (rhea.types as unknown as { Writer: new () => { write(v: unknown): void; toBuffer(): Buffer } }).Writer;
    const w = new Writer();
    w.write(body);
    this.link.send(Buffer.concat([Buffer.from([0x00, 0x53, 0x77]), w.toBuffer()]), undefined, 0);
    return this.answers.nth(before + 1);
  }

  async declare(): Promise<Buffer> {
    const answer = await this.control(txnTypes.declare!.create({}).described());
    if (answer.kind !== 'declared') throw new Error(`declare answered ${answer.kind}`);
    return (answer.state as { txn_id: Buffer }).txn_id;
  }

  discharge(txnId: Buffer, fail: boolean): Promise<{ kind: string; state: unknown }> {
    return this.control(txnTypes.discharge!.create({ txn_id: txnId, fail }).described());
  }

  /** The transactional state that accepts a delivery inside transaction `txnId`. */
  static accepted(txnId: Buffer): unknown {
    return txnTypes.transactionalState!.create({ txn_id: txnId, outcome: outcomes.accepted().described() }).described();
  }
}
