// The AMQP adapter with an independent client: Debian's python3-qpid-proton 0.37 (run with
// /usr/bin/python3), both its BlockingConnection and its reactor.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAmqpServer, type AmqpTestServer } from '../helpers/amqp.ts';

let s: AmqpTestServer;
beforeAll(async () => {
  s = await startAmqpServer();
});
afterAll(async () => {
  await s?.stop();
});

async function proton(
  mode: 'blocking' | 'reactor' | 'drain' | 'outcomes' | 'browse' | 'sole',
  queue: string,
): Promise<Record<string, unknown>> {
  const script = join(import.meta.dirname, '../fixtures/amqp_proton_client.py');
  const { stdout } = await promisify(execFile)('/usr/bin/python3', [script, mode, `amqp://127.0.0.1:${s.port}`, queue], {
    timeout: 30_000,
  });
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('python3-qpid-proton', () => {
  it('a second connection of a container id asking to be the only one is refused with amqp:invalid-field on container-id', async () => {
    const out = await proton('sole', 'jms-client-id-1');
    expect(out).toEqual({ refused: true, condition: 'amqp:invalid-field', info: { 'invalid-field': 'container-id' } });
  });

  it('BlockingConnection: at-least-once send and receive, a rejection as SendException, request/reply via a dynamic receiver', async () => {
    const out = await proton('blocking', 'proton.blocking');
    expect(out.got).toEqual([0, 1, 2].map((i) => ({ body: `b${i}`, i, durable: true })));
    expect(out.rejected).toBe('REJECTED');
    expect(out.reply_to).toMatch(/^queue:\/\/TEMP\./);
    expect([out.reply, out.correlation]).toEqual(['pong', 'c1']);
    expect(s.server.broker.getQueue('proton.blocking')?.messages).toBe(0);
  });

  it('a drain is always answered: on an empty queue (credit back to 0 at once), and with fewer messages than credit', async () => {
    const out = await proton('drain', 'proton.drain');
    expect(out.empty).toEqual({ answered: true, credit: 0 });
    expect(out.waiting).toEqual({ answered: true, credit: 0, got: ['d0', 'd1'] });
  });

  it('an accept right before closing the link, and a reject right before closing the connection, are applied first', async () => {
    const out = await proton('outcomes', 'proton.outcomes');
    expect(out).toEqual({ accepted: 'o0', rejected: 'o1' });
    expect(s.server.broker.getQueue('proton.outcomes')).toMatchObject({
      messages: 1,
      inflight: 0,
      stats: { acked: 1, deadLettered: 1, redelivered: 0 },
    });
    expect(s.server.broker.getQueue('DLQ.proton.outcomes')?.messages).toBe(1);
  });

  it('a receiver with the Copy option browses: it sees every message and an ordinary receiver still gets them all', async () => {
    const out = await proton('browse', 'proton.browse');
    const six = Array.from({ length: 6 }, (_, i) => `v${i}`);
    expect(out).toEqual({ browsed: six, copy: true, taken: six });
  });

  it('reactor: a sender and a receiver with the same link name on one session both work', async () => {
    const out = await proton('reactor', 'proton.reactor');
    expect(out.received).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
  });
});
