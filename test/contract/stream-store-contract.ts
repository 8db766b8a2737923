// The contract every StreamStore must pass (the streams half of a Store), run on the memory store
// and on each Redis deployment: descriptions, appends in order with ids that never go back, reads
// from any position, retention trims, named consumers' positions, and fencing per shard.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { FencedError, StreamShardMissingError } from '../../src/shared/errors.ts';
import { compareEntryIds, type StreamRecord } from '../../src/store/stream-store.ts';
import type { Store } from '../../src/store/store.ts';
import type { StoreFactory } from './store-contract.ts';

function description(name: string, shards: string[]): StreamRecord {
  return {
    name,
    createdAt: 1,
    updatedAt: 1,
    retentionHours: 24,
    mode: 'PROVISIONED',
    nextShard: shards.length,
    tags: { team: 'iot' },
    shards: shards.map((id, i) => ({ id, range: { start: String(i * 10), end: String(i * 10 + 9) }, openedAt: 1 })),
  };
}

export function describeStreamStoreContract(name: string, factory: StoreFactory): void {
  describe(`StreamStore contract: ${name}`, () => {
    const open: Store[] = [];
    const openStore = async (epoch = 1): Promise<Store> => {
      const s = await factory.handle(epoch);
      await s.open();
      open.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of open.splice(0)) await s.close().catch(() => {});
      await factory.reset();
    });

    it('keeps stream descriptions until deleted, and another handle reads them', async () => {
      const s = await openStore();
      const a = description('a', ['shardId-000000000000']);
      await s.streams.putStream(a);
      await s.streams.putStream({ ...description('b', ['shardId-000000000000']), retentionHours: 48 });
      await s.streams.putStream({ ...a, retentionHours: 72 });
      const other = await openStore(2);
      const loaded = (await other.streams.loadStreams()).sort((x, y) => x.name.localeCompare(y.name));
      expect(loaded).toEqual([
        { ...a, retentionHours: 72 },
        { ...description('b', ['shardId-000000000000']), retentionHours: 48 },
      ]);
      await other.streams.deleteStream(a);
      expect((await other.streams.loadStreams()).map((x) => x.name)).toEqual(['b']);
    });

    it('appends records in order with increasing ids and gives back every byte and key', async () => {
      const s = await openStore();
      await s.streams.claimShards('t', ['s0']);
      const records = Array.from({ length: 300 }, (_, i) => ({ key: `device-${i % 7}`, data: randomBytes(i % 50) }));
      const ids = [
        ...(await s.streams.append('t', 's0', records.slice(0, 120))),
        ...(await s.streams.append('t', 's0', records.slice(120))),
      ];
      expect(ids).toHaveLength(300);
      for (let i = 1; i < ids.length; i++) expect(compareEntryIds(ids[i - 1] as string, ids[i] as string)).toBeLessThan(0);
      const read = [];
      let from = '0-0';
      let inclusive = true;
      for (;;) {
        const page = await s.streams.read('t', 's0', from, inclusive, 64);
        if (page.length === 0) break;
        read.push(...page);
        from = (page.at(-1) as { id: string }).id;
        inclusive = false;
      }
      expect(read.map((r) => r.id)).toEqual(ids);
      expect(read.map((r) => r.key)).toEqual(records.map((r) => r.key));
      expect(read.map((r) => r.data.toString('hex'))).toEqual(records.map((r) => r.data.toString('hex')));
      for (const r of read) expect(r.at).toBe(Number(r.id.split('-')[0]));
    });

    it('reads from a position, inclusive or not, and knows the newest record and the counts', async () => {
      const s = await openStore();
      await s.streams.claimShards('t', ['s0', 's1']);
      const ids = await s.streams.append(
        't',
        's0',
        [1, 2, 3, 4].map((n) => ({ key: 'k', data: Buffer.from([n]) })),
      );
      expect((await s.streams.read('t', 's0', ids[1] as string, true, 10)).map((r) => r.data[0])).toEqual([2, 3, 4]);
      expect((await s.streams.read('t', 's0', ids[1] as string, false, 1)).map((r) => r.data[0])).toEqual([3]);
      expect((await s.streams.last('t', 's0'))?.id).toBe(ids[3]);
      expect(await s.streams.last('t', 's1')).toBeUndefined();
      expect(await s.streams.read('t', 's1', '0-0', true, 10)).toEqual([]);
      expect(await s.streams.shardStats('t', 's0')).toEqual({ records: 4, first: ids[0], last: ids[3] });
      expect(await s.streams.shardStats('t', 's1')).toEqual({ records: 0 });
    });

    it('trims the records that arrived before a time, and only those', async () => {
      const s = await openStore();
      await s.streams.claimShards('t', ['s0']);
      const old = await s.streams.append('t', 's0', [{ key: 'k', data: Buffer.from('old') }]);
      const oldMs = Number((old[0] as string).split('-')[0]);
      // Wait for the store's clock to move past the first record's millisecond.
      let fresh: string[] = [];
      while (fresh.length === 0 || Number((fresh[0] as string).split('-')[0]) === oldMs) {
        fresh = await s.streams.append('t', 's0', [{ key: 'k', data: Buffer.from('new') }]);
      }
      const cut = Number((fresh[0] as string).split('-')[0]);
      const removed = await s.streams.trim('t', 's0', cut);
      expect(removed).toBeGreaterThanOrEqual(1);
      const left = await s.streams.read('t', 's0', '0-0', true, 100);
      expect(left.every((r) => r.at >= cut)).toBe(true);
      expect(left.map((r) => r.id)).toContain(fresh[0]);
    });

    it("merges and keeps named consumers' positions, and drops them with the stream", async () => {
      const s = await openStore();
      const d = description('t', ['s0', 's1']);
      await s.streams.putStream(d);
      await s.streams.putPositions('t', 'reader', { s0: '5-0' });
      await s.streams.putPositions('t', 'reader', { s1: '7-1' });
      await s.streams.putPositions('t', 'other', { s0: '9-0' });
      await s.streams.putPositions('t', 'reader', { s0: '6-0' });
      expect(await (await openStore(2)).streams.loadPositions('t')).toEqual({ reader: { s0: '6-0', s1: '7-1' }, other: { s0: '9-0' } });
      await s.streams.deleteStream(d).catch(() => {});
      const fresh = await openStore(3);
      await fresh.streams.deleteStream(d);
      expect(await fresh.streams.loadPositions('t')).toEqual({});
    });

    it("deletes a stream's records, and an append to a deleted or unclaimed shard is refused", async () => {
      const s = await openStore();
      const d = description('t', ['s0']);
      await s.streams.putStream(d);
      await s.streams.claimShards('t', ['s0']);
      await s.streams.append('t', 's0', [{ key: 'k', data: Buffer.from('x') }]);
      await s.streams.deleteStream(d);
      expect(await s.streams.read('t', 's0', '0-0', true, 10)).toEqual([]);
      await expect(s.streams.append('t', 's0', [{ key: 'k', data: Buffer.from('y') }])).rejects.toBeInstanceOf(StreamShardMissingError);
      await expect(s.streams.append('t', 'never', [{ key: 'k', data: Buffer.from('y') }])).rejects.toBeInstanceOf(StreamShardMissingError);
    });

    it('fences an older handle out of a shard a newer one claimed, and out of descriptions once it opened', async () => {
      const old = await openStore(1);
      await old.streams.claimShards('t', ['s0', 's1']);
      await old.streams.append('t', 's0', [{ key: 'k', data: Buffer.from('before') }]);
      const next = await openStore(2);
      await next.streams.claimShards('t', ['s0']);
      await expect(old.streams.append('t', 's0', [{ key: 'k', data: Buffer.from('late') }])).rejects.toBeInstanceOf(FencedError);
      await expect(old.streams.trim('t', 's0', Date.now() + 1000)).rejects.toBeInstanceOf(FencedError);
      await expect(old.streams.claimShards('t', ['s0'])).rejects.toBeInstanceOf(FencedError);
      await expect(old.streams.putStream(description('t', ['s0']))).rejects.toBeInstanceOf(FencedError);
      await expect(old.streams.putPositions('t', 'c', { s0: '1-0' })).rejects.toBeInstanceOf(FencedError);
      expect((await next.streams.read('t', 's0', '0-0', true, 10)).map((r) => r.data.toString())).toEqual(['before']);
      await next.streams.append('t', 's0', [{ key: 'k', data: Buffer.from('after') }]);
      expect((await next.streams.read('t', 's0', '0-0', true, 10)).map((r) => r.data.toString())).toEqual(['before', 'after']);
    });
  });
}
