// The store writer: batching per turn, batches cut at the store's preferred size without splitting
// one writer's operations, updates made moot by a removal in the same batch, failures reported to
// the publishers of that batch only.
import { describe, expect, it } from 'vitest';
import { queue } from '../../src/core/destination.ts';
import { createMessage } from '../../src/core/message.ts';
import { StoreWriter } from '../../src/core/store-writer.ts';
import { MemoryData, MemoryStore } from '../../src/store/memory-store.ts';
import type { StoreOp } from '../../src/store/store.ts';

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
