// AMQP 1.0 local transactions: python3-qpid-proton's TransactionHandler (transactional sends and
// acks, commit, abort, a connection lost before discharge), and rhea driving the coordinator by
// hand (declare, transactional accepted, discharge with and without fail, an unknown id).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import rhea, { type EventContext, type Sender } from 'rhea';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { outcomes, txnTypes } from '../../adapters/amqp/rhea-fixes.ts';
import { AmqpClient, startAmqpServer, type AmqpTestServer } from '../helpers/amqp.ts';
import { Collector } from '../helpers/collector.ts';

const run = promisify(execFile);

let s: AmqpTestServer;
const clients: Array<{ close(): void }> = [];
beforeAll(async () => {
  s = await startAmqpServer({ destinations: { defaults: { redeliveryDelayMs: 0 } } });
});
afterAll(async () => {
  await s?.stop();
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
let n = 0;
const unique = (base: string): string => `tx.${base}.${++n}`;

describe('AMQP transactions with python3-qpid-proton', () => {
  it('commits sends and acks together; abort and a lost connection return the acked message and send nothing', async () => {
    const prefix = unique('proton');
    const { stdout } = await run('/usr/bin/python3', ['test/fixtures/amqp_proton_transactions.py', `127.0.0.1:${s.port}`, prefix], {
      timeout: 60_000,
    });
    const out = JSON.parse(stdout) as {
      steps: Array<{ result: string; seen: Array<[string, number]> }>;
      unknown: { outcome: string; condition?: string };
      queues: { in: Array<[string, number]>; out: string[] };
    };
    expect(out.steps.map((x) => x.result)).toEqual(['committed', 'aborted', 'dropped']);
    expect(out.steps[0]!.seen).toEqual([
      ['in-0', 0],
      ['in-1', 0],
    ]);
    // Rolled back twice: the message is back each time, counted as a failed delivery.
    expect(out.steps[1]!.seen).toEqual([['in-2', 0]]);
    expect(out.steps[2]!.seen).toEqual([['in-2', 1]]);
    expect(out.queues.in).toEqual([['in-2', 2]]);
    expect(out.queues.out).toEqual(['result-of-in-0', 'result-of-in-1']);
    // A transfer in a transaction the broker never declared is refused, and not stored.
    expect(out.unknown).toEqual({ outcome: 'rejected', condition: 'amqp:transaction:unknown-id' });
  });
});

/** A coordinator link opened by hand with rhea, and its control messages. */
class Coordinator {
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
    expect(answer.kind).toBe('declared');
    return (answer.state as { txn_id: Buffer }).txn_id;
  }

  discharge(txnId: Buffer, fail: boolean): Promise<{ kind: string; state: unknown }> {
    return this.control(txnTypes.discharge!.create({ txn_id: txnId, fail }).described());
  }
}

function transactionalAccepted(txnId: Buffer): unknown {
  return txnTypes.transactionalState!.create({ txn_id: txnId, outcome: outcomes.accepted().described() }).described();
}

describe('AMQP transactions with rhea', () => {
  it('an ack inside a transaction takes effect at commit; a failed discharge redelivers; an unknown id is refused', async () => {
    const c = await AmqpClient.connect(s.port);
    clients.push(c);
    const q = unique('rhea');
    const snd = await c.sender(`queue://${q}`);
    await c.send(snd, { body: 'job', durable: true });
    const coordinator = await Coordinator.open(c);
    const { got } = await c.receiver({ source: `queue://${q}`, credit_window: 10 });

    const rolledBack = await coordinator.declare();
    const first = await got.nth(1);
    first.delivery.update(true, transactionalAccepted(rolledBack) as never);
    expect((await coordinator.discharge(rolledBack, true)).kind).toBe('accepted');
    const again = await got.nth(2);
    expect(again.message.delivery_count).toBe(1);

    const committed = await coordinator.declare();
    again.delivery.update(true, transactionalAccepted(committed) as never);
    expect(s.server.broker.getQueue(q)?.messages).toBe(1);
    expect((await coordinator.discharge(committed, false)).kind).toBe('accepted');
    expect(s.server.broker.getQueue(q)?.messages).toBe(0);

    const unknown = await coordinator.discharge(committed, false);
    expect(unknown.kind).toBe('rejected');
    expect((unknown.state as { error: { condition: string } }).error.condition).toBe('amqp:transaction:unknown-id');
  });
});
