// Local transactions in the core: a commit is one atomic store batch (its sends and its acks), a
// failed commit applies nothing and rolls back, a rollback returns the acknowledged deliveries as
// failed ones, and deliveries settled in a transaction leave their consumer's window.
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker } from '../../src/core/broker.ts';
import { Transaction } from '../../src/core/transaction.ts';
import { MemoryData, MemoryStore } from '../../src/store/memory-store.ts';
import type { StoreOp } from '../../src/store/store.ts';
import { ResourceLimitError, StoreUnavailableError } from '../../src/shared/errors.ts';
import { ctx, Inbox, msgTo, startBroker, text } from '../helpers/core.ts';

/** A memory store that records each batch it is given and can be made unavailable. */
class RecordingStore extends MemoryStore {
  readonly batches: StoreOp[][] = [];
  down = false;
  override async apply(ops: readonly StoreOp[]): Promise<void> {
    if (this.down) throw new StoreUnavailableError('store down (test)', 'test');
    this.batches.push([...ops]);
    return super.apply(ops);
  }
}

let broker: Broker | undefined;
afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

async function setup(): Promise<{ b: Broker; store: RecordingStore; data: MemoryData }> {
  const data = new MemoryData();
  const store = new RecordingStore(1, data);
  const b = await startBroker({ store });
  broker = b;
  return { b, store, data };
}

describe('Transaction', () => {
  it('commits its sends and its acks in one store batch, invisible until then', async () => {
    const { b, store, data } = await setup();
    for (const body of ['in-1', 'in-2']) await b.publish(msgTo('work', body, { persistent: true }), ctx);
    const inbox = new Inbox();
    const c = await b.subscribe({ destination: msgTo('work', '').destination, prefetch: 10, onMessage: inbox.onMessage }, ctx);
    const [d1, d2] = await inbox.waitFor(2);
    const out = new Inbox();
    await b.subscribe({ destination: msgTo('results', '').destination, prefetch: 10, onMessage: out.onMessage }, ctx);

    const tx = new Transaction();
    tx.send(msgTo('results', 'out-1', { persistent: true }));
    tx.send(msgTo('results', 'out-2', { persistent: true }));
    tx.ack(c, d1!.tag);
    tx.ack(c, d2!.tag);
    await new Promise((r) => setImmediate(r));
    expect(out.items).toHaveLength(0);
    const before = store.batches.length;
    await b.commit(tx, ctx);
    const batches = store.batches.slice(before).filter((ops) => ops.some((op) => op.type === 'enqueue' || op.type === 'remove'));
    expect(batches).toHaveLength(1);
    expect(batches[0]!.map((op) => op.type).sort()).toEqual(['enqueue', 'enqueue', 'remove', 'remove']);
    expect((await out.waitFor(2)).map(text)).toEqual(['out-1', 'out-2']);
    expect(b.getQueue('work')?.messages).toBe(0);
    await b.close();
    broker = await startBroker({ store: new MemoryStore(2, data) });
    expect(broker.getQueue('work')?.messages ?? 0).toBe(0);
    expect(broker.getQueue('results')?.messages).toBe(2);
  });

  it('applies nothing when the store refuses the batch, and rolls back: the acked message comes back', async () => {
    const { b, store, data } = await setup();
    await b.publish(msgTo('work', 'in', { persistent: true }), ctx);
    const inbox = new Inbox();
    const c = await b.subscribe({ destination: msgTo('work', '').destination, prefetch: 10, onMessage: inbox.onMessage }, ctx);
    const [d] = await inbox.waitFor(1);
    const tx = new Transaction();
    tx.send(msgTo('results', 'out', { persistent: true }));
    tx.ack(c, d!.tag);
    store.down = true;
    await expect(b.commit(tx, ctx)).rejects.toThrow(/store/i);
    store.down = false;
    const [, again] = await inbox.waitFor(2);
    expect(text(again!)).toBe('in');
    expect(again!.redelivered).toBe(true);
    expect(b.getQueue('results')?.messages ?? 0).toBe(0);
    c.ack(again!.tag);
    await b.close();
    broker = await startBroker({ store: new MemoryStore(2, data) });
    expect(broker.getQueue('results')?.messages ?? 0).toBe(0);
  });

  it('a send the broker refuses at commit (a full queue) fails the whole commit: no send is kept, the ack is undone', async () => {
    const b = await startBroker({ policies: [{ match: 'queue://capped', maxMessages: 1, overflow: 'reject' }] });
    broker = b;
    await b.publish(msgTo('work', 'in', { persistent: true }), ctx);
    const inbox = new Inbox();
    const c = await b.subscribe({ destination: msgTo('work', '').destination, prefetch: 10, onMessage: inbox.onMessage }, ctx);
    const [d] = await inbox.waitFor(1);
    const tx = new Transaction();
    tx.send(msgTo('capped', 'first', { persistent: true }));
    tx.send(msgTo('capped', 'second', { persistent: true }));
    tx.ack(c, d!.tag);
    await expect(b.commit(tx, ctx)).rejects.toThrow(/full/);
    expect(b.getQueue('capped')?.messages ?? 0).toBe(0);
    const [, again] = await inbox.waitFor(2);
    expect(text(again!)).toBe('in');
  });

  it('refuses a send past its message or byte limit, keeping what it holds', () => {
    const byCount = new Transaction({ maxTransactionMessages: 2, maxTransactionBytes: 0 });
    byCount.send(msgTo('q', 'a'));
    byCount.send(msgTo('q', 'b'));
    expect(() => byCount.send(msgTo('q', 'c'))).toThrow(ResourceLimitError);
    expect(byCount.sends).toHaveLength(2);
    const byBytes = new Transaction({ maxTransactionMessages: 0, maxTransactionBytes: 10 });
    byBytes.send(msgTo('q', '12345'));
    expect(() => byBytes.send(msgTo('q', '123456'))).toThrow(/at most 10 body bytes/);
    byBytes.send(msgTo('q', '12345'));
    expect(byBytes.sends).toHaveLength(2);
  });

  it('rollback forgets the sends and redelivers what it acknowledged', async () => {
    const { b } = await setup();
    await b.publish(msgTo('work', 'in', { persistent: true }), ctx);
    const inbox = new Inbox();
    const c = await b.subscribe({ destination: msgTo('work', '').destination, prefetch: 10, onMessage: inbox.onMessage }, ctx);
    const [d] = await inbox.waitFor(1);
    const tx = new Transaction();
    tx.send(msgTo('results', 'never'));
    tx.ack(c, d!.tag);
    tx.rollback();
    const [, again] = await inbox.waitFor(2);
    expect(again!.deliveryCount).toBe(1);
    expect(b.getQueue('results')?.messages ?? 0).toBe(0);
  });

  it('a delivery acknowledged in a transaction no longer fills the consumer’s window', async () => {
    const { b } = await setup();
    for (const body of ['a', 'b', 'c']) await b.publish(msgTo('window', body), ctx);
    const inbox = new Inbox();
    const c = await b.subscribe({ destination: msgTo('window', '').destination, prefetch: 1, onMessage: inbox.onMessage }, ctx);
    const tx = new Transaction();
    const [first] = await inbox.waitFor(1);
    tx.ack(c, first!.tag);
    const [, second] = await inbox.waitFor(2);
    tx.ack(c, second!.tag);
    await inbox.waitFor(3);
    await b.commit(tx, ctx);
    expect(inbox.texts).toEqual(['a', 'b', 'c']);
    expect(b.getQueue('window')?.messages).toBe(1);
  });
});
