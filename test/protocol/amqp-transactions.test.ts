// AMQP 1.0 local transactions: python3-qpid-proton's TransactionHandler (transactional sends and
// acks, commit, abort, a connection lost before discharge), and rhea driving the coordinator by
// hand (declare, transactional accepted, discharge with and without fail, an unknown id).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AmqpClient, Coordinator, startAmqpServer, type AmqpTestServer } from '../helpers/amqp.ts';

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
    first.delivery.update(true, Coordinator.accepted(rolledBack) as never);
    expect((await coordinator.discharge(rolledBack, true)).kind).toBe('accepted');
    const again = await got.nth(2);
    expect(again.message.delivery_count).toBe(1);

    const committed = await coordinator.declare();
    again.delivery.update(true, Coordinator.accepted(committed) as never);
    expect(s.server.broker.getQueue(q)?.messages).toBe(1);
    expect((await coordinator.discharge(committed, false)).kind).toBe('accepted');
    expect(s.server.broker.getQueue(q)?.messages).toBe(0);

    const unknown = await coordinator.discharge(committed, false);
    expect(unknown.kind).toBe('rejected');
    expect((unknown.state as { error: { condition: string } }).error.condition).toBe('amqp:transaction:unknown-id');
  });
});
