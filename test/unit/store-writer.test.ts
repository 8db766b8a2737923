// The store writer: batching per turn, batches cut at the store's preferred size without splitting
// one writer's operations, updates made moot by a removal in the same batch, failures reported to
// the publishers of that batch only.
import { describe, expect, it } from 'vitest';
import { queue } from '../../src/core/destination.ts';
import { createMessage } from '../../src/core/message.ts';
import { StoreWriter } from '../../src/core/store-writer.ts';
import { MemoryData, MemoryStore } from '../../src/store/memory-store.ts';
import type { StoreOp } from '../../src/store/store.ts';
import { StoreUnavailableError } from '../../src/shared/errors.ts';
import { CapturedLog } from '../helpers/log.ts';

/** A memory store that records each batch it is given and can be told to fail the next one. */
class RecordingStore extends MemoryStore {
  readonly batches: StoreOp[][] = [];
  failNext = false;

  constructor(readonly batchSize?: number) {
    super(1, new MemoryData());
  }

  override async apply(ops: readonly StoreOp[]): Promise<void> {
    this.batches.push([...ops]);
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk on fire');
    }
    return super.apply(ops);
  }
}

const ready = { deliveryCount: 0, deliverAt: 0, delivered: false };
const enqueue = (n: number): StoreOp => ({
  type: 'enqueue',
  queue: 'q',
  state: ready,
  message: createMessage({ destination: queue('q'), body: Buffer.from(`m${n}`), persistent: true }, undefined, 1),
});

describe('StoreWriter', () => {
  it('sends everything written in one turn as one batch, in order', async () => {
    const store = new RecordingStore();
    await store.open();
    const w = new StoreWriter(store, () => {});
    const ops = [enqueue(1), enqueue(2), enqueue(3)];
    w.write(ops[0]!);
    const done = w.writeAndWait([ops[1]!, ops[2]!]);
    expect(store.batches).toEqual([]);
    await done;
    expect(store.batches).toEqual([ops]);
  });

  it("cuts batches at the store's size but never splits the operations of one call", async () => {
    const store = new RecordingStore(3);
    await store.open();
    const w = new StoreWriter(store, () => {});
    const a = [enqueue(1), enqueue(2)];
    const b = [enqueue(3), enqueue(4)];
    const c = [enqueue(5)];
    const seen: number[] = [];
    const pa = w.writeAndWait(a).then(() => seen.push(store.batches.length));
    const pb = w.writeAndWait(b).then(() => seen.push(store.batches.length));
    const pc = w.writeAndWait(c).then(() => seen.push(store.batches.length));
    await Promise.all([pa, pb, pc]);
    expect(store.batches.map((x) => x.length)).toEqual([4, 1]);
    expect(store.batches.flat()).toEqual([...a, ...b, ...c]);
    expect((await store.stats()).entries).toBe(5);
  });

  it('drops updates of an entry removed in the same batch, and only those', async () => {
    const store = new RecordingStore();
    await store.open();
    const w = new StoreWriter(store, () => {});
    const e = enqueue(1);
    const id = e.type === 'enqueue' ? e.message.id : '';
    await w.writeAndWait([e, enqueue(2)]);
    const mark: StoreOp = { type: 'update', queue: 'q', messageId: id, state: { ...ready, delivered: true } };
    const other: StoreOp = { type: 'update', queue: 'other', messageId: id, state: ready };
    const remove: StoreOp = { type: 'remove', queue: 'q', messageId: id };
    w.write(mark);
    w.write(other);
    w.write(remove);
    await w.flush();
    expect(store.batches[1]).toEqual([other, remove]);
    expect(w.elided).toBe(1);
    w.write(mark);
    await w.flush();
    w.write(remove);
    await w.flush();
    expect(store.batches.slice(2)).toEqual([[mark], [remove]]);
  });

  it('a failed batch rejects its own publishers and is reported; later batches go on', async () => {
    const store = new RecordingStore(1);
    await store.open();
    const errors: unknown[] = [];
    const w = new StoreWriter(store, (err) => errors.push(err));
    store.failNext = true;
    const first = w.writeAndWait([enqueue(1)]);
    const second = w.writeAndWait([enqueue(2)]);
    await expect(first).rejects.toThrow('disk on fire');
    await expect(second).resolves.toBeUndefined();
    expect(errors).toHaveLength(1);
    expect((await store.stats()).entries).toBe(1);
  });
});

describe('StoreWriter.together', () => {
  it("keeps the writes of one move in one batch however small the store's batches are", async () => {
    const store = new RecordingStore(1);
    await store.open();
    const w = new StoreWriter(store, () => {});
    const [a, b, c] = [enqueue(1), enqueue(2), enqueue(3)];
    w.write(a);
    w.together(() => {
      w.write(b);
      w.write(c);
    });
    await w.flush();
    expect(store.batches).toEqual([[a], [b, c]]);
  });
});

/** A memory store that can be taken away: while down it refuses every call as Redis would. */
class FlakyStore extends RecordingStore {
  down = false;

  override isAvailable(): boolean {
    return !this.down;
  }

  override async ping(): Promise<void> {
    if (this.down) throw new StoreUnavailableError('store is down', 'test');
  }

  override async apply(ops: readonly StoreOp[]): Promise<void> {
    if (this.down) throw new StoreUnavailableError('store is down', 'test');
    return super.apply(ops);
  }
}

const back = (log: CapturedLog) => log.waitFor((l) => l.msg === 'store available again: held writes are in');

describe('StoreWriter during a store outage', () => {
  it('refuses waiting writes, holds the others in order and writes them first when the store is back', async () => {
    const store = new FlakyStore();
    await store.open();
    const log = new CapturedLog();
    const errors: unknown[] = [];
    const w = new StoreWriter(store, (err) => errors.push(err), log.log);
    const [a, p, b, c, d] = [enqueue(1), enqueue(2), enqueue(3), enqueue(4), enqueue(5)];
    store.down = true;
    w.write(a);
    const published = w.writeAndWait([p]);
    w.write(b);
    await expect(published).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(w.available).toBe(false);
    const calls = store.batches.length;
    await expect(w.writeAndWait([enqueue(9)])).rejects.toBeInstanceOf(StoreUnavailableError);
    w.write(c);
    await w.flush();
    expect(store.batches.length).toBe(calls); // nothing is sent while held writes wait
    expect(w.held).toBe(3);

    store.down = false;
    await back(log);
    w.write(d);
    await w.flush();
    expect(w.available).toBe(true);
    const after = store.batches.slice(calls).flat();
    expect(after).toEqual([a, b, c, d]);
    expect(errors).toEqual([]);
    expect((await store.stats()).entries).toBe(4);
  });

  it('keeps only the last held update of an entry, and none before its removal', async () => {
    const store = new FlakyStore();
    await store.open();
    const log = new CapturedLog();
    const w = new StoreWriter(store, () => {}, log.log);
    const entries = Array.from({ length: 2000 }, (_, i) => enqueue(i));
    await w.writeAndWait(entries);
    store.down = true;
    const id = (op: StoreOp) => (op.type === 'enqueue' ? op.message.id : '');
    // Six deliveries and returns of every entry, one per turn, then half of them acknowledged.
    for (let round = 0; round < 6; round++) {
      for (const e of entries) w.write({ type: 'update', queue: 'q', messageId: id(e), state: { ...ready, deliveryCount: round } });
      await w.flush();
    }
    for (const e of entries.slice(0, 1000)) w.write({ type: 'remove', queue: 'q', messageId: id(e) });
    await w.flush();
    expect(w.held).toBeLessThan(6 * 2000);
    store.down = false;
    await back(log);
    const page = await store.readQueue('q', undefined, 5000);
    expect(page.entries).toHaveLength(1000);
    expect(page.entries.every((e) => e.state.deliveryCount === 5)).toBe(true);
  });
});
