// Committing a local transaction (STOMP BEGIN/COMMIT, AMQP declare/discharge): its messages are
// published and its acknowledged deliveries removed in one atomic store batch, so a crash keeps all
// of it or none. When the batch fails nothing is applied and the transaction is rolled back.
// Deliveries whose consumer has gone meanwhile went back to their queue and are left there.
import type { StoreOp } from '../store/store.ts';
import type { MessageInput } from './message.ts';
import type { StagedPublish } from './staged-publish.ts';
import type { StoreWriter } from './store-writer.ts';
import type { Transaction } from './transaction.ts';

/** What a commit needs of the broker. */
export interface CommitHost {
  assertRunning(): void;
  /** A send checked, routed and given its tickets, its store operations not yet written. */
  stage(input: MessageInput): Promise<StagedPublish>;
  readonly writer: StoreWriter;
}

export async function commitTransaction(tx: Transaction, host: CommitHost): Promise<void> {
  const staged: StagedPublish[] = [];
  let acks: Transaction['acks'];
  try {
    host.assertRunning();
    for (const input of tx.sends) staged.push(await host.stage(input));
    acks = tx.acks.filter((a) => a.consumer.holds(a.tag));
    const ops: StoreOp[] = staged.flatMap((st) => st.ops);
    for (const a of acks) {
      const op = a.consumer.removal(a.tag);
      if (op) ops.push(op);
    }
    if (ops.length > 0) {
      if (!host.writer.available) throw await host.writer.outage();
      await host.writer.writeAndWait(ops);
    }
  } catch (err) {
    for (const st of staged) st.abort();
    tx.rollback();
    throw err;
  }
  for (const st of staged) st.commit();
  for (const a of acks) if (a.consumer.holds(a.tag)) a.consumer.ack(a.tag, true);
  tx.committed();
}
