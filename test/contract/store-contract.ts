// The contract every Store implementation must pass (as aedes-persistence's abstract suite is for
// aedes). A factory opens handles on one shared dataset with a given fencing epoch, so the suite
// can test recovery (a second handle sees what the first wrote) and fencing.
import { afterEach, describe, expect, it } from 'vitest';
import { queue, topic } from '../../src/core/destination.ts';
import { FencedError } from '../../src/shared/errors.ts';
import { createMessage, messageSize, type Message } from '../../src/core/message.ts';
import type { EntryState, Store, StoreOp, StoredEntry } from '../../src/store/store.ts';

export interface StoreFactory {
  /** A fresh, empty dataset. */
  reset(): Promise<void>;
  /** A handle (not yet opened) on the current dataset with this fencing epoch. */
  handle(epoch: number): Promise<Store>;
}

const ready: EntryState = { deliveryCount: 0, deliverAt: 0, delivered: false };

/** An entry kept only in the store (paged out), with the size the core counts it as. */
function pagedOut(queue: string, message: Message, state: EntryState = ready): StoreOp {
  return { type: 'enqueue', queue, message, state, paged: true, size: messageSize(message) };
}

function msg(name: string, body: string, extra: Partial<Message> = {}): Message {
  return {
    ...createMessage({ destination: queue(name), body: Buffer.from(body), persistent: true }, 'user', 1000),
    ...extra,
  };
}

export function describeStoreContract(name: string, factory: StoreFactory): void {
  describe(`Store contract: ${name}`, () => {
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

    it('keeps declared queues, including empty ones, until deleted', async () => {
      const s = await openStore();
      await s.apply([
        { type: 'declareQueue', queue: { name: 'a', createdAt: 1 } },
        { type: 'declareQueue', queue: { name: 'b', createdAt: 2 } },
        { type: 'declareQueue', queue: { name: 'a', createdAt: 3 } },
      ]);
      expect((await s.loadQueues()).sort((x, y) => x.name.localeCompare(y.name))).toEqual([
        { name: 'a', createdAt: 1 },
        { name: 'b', createdAt: 2 },
      ]);
      await s.apply([{ type: 'deleteQueue', queue: 'a' }]);
      expect((await s.loadQueues()).map((q) => q.name)).toEqual(['b']);
    });

    it("returns a queue's entries in insertion order with every message field intact, in pages", async () => {
      const s = await openStore();
      const m0 = msg('q', 'zero', {
        priority: 9,
        expiresAt: 5000,
        deliverAt: 0,
        correlationId: 'c',
        replyTo: 'queue://r',
        type: 't',
        groupId: 'g',
        dedupId: 'd',
        contentType: 'text/plain',
        properties: { a: 1, b: 'x', c: true },
      });
      const bin = Buffer.from([0, 1, 2, 255, 0]);
      const msgs = [m0, ...Array.from({ length: 24 }, (_, i) => msg('q', `m${i + 1}`)), msg('q', '', { body: bin })];
      await s.apply(msgs.map((message) => ({ type: 'enqueue', queue: 'q', message, state: ready })));
      const seen: Message[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await s.readQueue('q', cursor, 10);
        expect(page.entries.length).toBeLessThanOrEqual(10);
        seen.push(...page.entries.map((e) => e.message));
        cursor = page.cursor;
        pages++;
      } while (cursor !== undefined);
      expect(pages).toBe(3);
      expect(seen.map((m) => m.id)).toEqual(msgs.map((m) => m.id));
      const [first] = seen;
      expect({ ...first, body: Buffer.from(first!.body) }).toEqual({ ...m0, body: Buffer.from(m0.body) });
      expect(Buffer.from(seen[25]!.body)).toEqual(bin);
      expect((await s.readQueue('missing', undefined, 10)).entries).toEqual([]);
    });

    it('stores a body once however many queues hold it, and frees it with the last', async () => {
      const s = await openStore();
      const m = msg('t', 'shared');
      await s.apply(['s1', 's2', 's3'].map((q) => ({ type: 'enqueue', queue: q, message: m, state: ready }) as StoreOp));
      expect(await s.stats()).toEqual({ messages: 1, entries: 3, sessions: 0 });
      await s.apply([{ type: 'remove', queue: 's1', messageId: m.id }]);
      await s.apply([{ type: 'remove', queue: 's1', messageId: m.id }]); // twice is harmless
      expect(await s.stats()).toEqual({ messages: 1, entries: 2, sessions: 0 });
      expect((await s.readQueue('s2', undefined, 10)).entries[0]?.message.id).toBe(m.id);
      await s.apply([
        { type: 'remove', queue: 's2', messageId: m.id },
        { type: 'deleteQueue', queue: 's3' },
      ]);
      expect(await s.stats()).toEqual({ messages: 0, entries: 0, sessions: 0 });
    });

    it('updates per-queue state: delivery count, due time, in-flight mark, annotations', async () => {
      const s = await openStore();
      const m = msg('u', 'x');
      const state: EntryState = { deliveryCount: 2, deliverAt: 9999, delivered: true, annotations: { dlqDeliveryFailureCause: 'r' } };
      await s.apply([
        { type: 'enqueue', queue: 'u', message: m, state: ready },
        { type: 'update', queue: 'u', messageId: m.id, state },
        { type: 'update', queue: 'u', messageId: 'ID:not-there', state },
      ]);
      const page = await s.readQueue('u', undefined, 10);
      expect(page.entries.map((e) => e.state)).toEqual([state]);
    });

    it('applies the operations of a batch, and batches, in order', async () => {
      const s = await openStore();
      const m = msg('o', 'x');
      await Promise.all([
        s.apply([{ type: 'enqueue', queue: 'o', message: m, state: ready }]),
        s.apply([{ type: 'remove', queue: 'o', messageId: m.id }]),
        s.apply([{ type: 'enqueue', queue: 'o', message: m, state: { ...ready, deliveryCount: 5 } }]),
      ]);
      const page = await s.readQueue('o', undefined, 10);
      expect(page.entries.map((e) => e.state.deliveryCount)).toEqual([5]);
    });

    it('leaves the data as one application did when a batch is applied again (a retry after a failure in doubt)', async () => {
      const s = await openStore();
      const [a, b, c] = [msg('i', 'a'), msg('i', 'b'), msg('i', 'c')];
      const batch: StoreOp[] = [
        { type: 'enqueue', queue: 'i', message: a, state: ready },
        { type: 'enqueue', queue: 'i2', message: a, state: ready },
        { type: 'enqueue', queue: 'i', message: b, state: ready },
        { type: 'enqueue', queue: 'i', message: c, state: ready, paged: true, size: 10 },
        { type: 'update', queue: 'i', messageId: b.id, state: { ...ready, delivered: true } },
        { type: 'remove', queue: 'i2', messageId: a.id },
        { type: 'putDedup', record: { key: 'k', expiresAt: Date.now() + 60_000 } },
      ];
      await s.apply(batch);
      const once = { stats: await s.stats(), page: await s.readQueue('i', undefined, 10), paged: await s.pagedStats('i') };
      await s.apply(batch);
      expect(await s.stats()).toEqual(once.stats);
      expect(await s.readQueue('i', undefined, 10)).toEqual(once.page);
      expect(await s.pagedStats('i')).toEqual(once.paged);
    });

    it('pages entries out and back in: highest priority first, insertion order within one, bounded by count and bytes', async () => {
      const s = await openStore();
      const resident = msg('p', 'resident');
      const low = [msg('p', 'low-1', { priority: 2 }), msg('p', 'low-2', { priority: 2 })];
      const high = [msg('p', 'high-1', { priority: 8 }), msg('p', 'high-2', { priority: 8 })];
      const mid = msg('p', 'x'.repeat(4000), { priority: 4 });
      const paged = (message: Message): StoreOp => pagedOut('p', message);
      await s.apply([
        { type: 'enqueue', queue: 'p', message: resident, state: ready },
        paged(low[0]!),
        paged(high[0]!),
        paged(mid),
        paged(low[1]!),
        paged(high[1]!),
      ]);
      const size = (m: Message): number => messageSize(m);
      expect(await s.pagedStats('p')).toMatchObject({ count: 5, bytes: [...low, ...high, mid].reduce((n, m) => n + size(m), 0) });
      // A restarting broker reads only the resident entries.
      expect((await s.readQueue('p', undefined, 10)).entries.map((e) => e.message.id)).toEqual([resident.id]);

      const ids = (es: StoredEntry[]): string[] => es.map((e) => e.message.id);
      expect(ids(await s.pageIn('p', 1, 1_000_000))).toEqual([high[0]!.id]);
      // The byte bound stops before the 4 KB message; the count bound before the second low one.
      expect(ids(await s.pageIn('p', 10, size(high[1]!) + 100))).toEqual([high[1]!.id]);
      expect(ids(await s.pageIn('p', 10, 10))).toEqual([mid.id]); // always at least one
      expect(ids(await s.pageIn('p', 1, 1_000_000))).toEqual([low[0]!.id]);
      expect(await s.pagedStats('p')).toMatchObject({ count: 1, bytes: size(low[1]!) });
      // Paged-in entries are resident again: a restart reads them, in insertion order.
      expect(ids((await s.readQueue('p', undefined, 10)).entries)).toEqual([resident.id, low[0]!.id, high[0]!.id, mid.id, high[1]!.id]);
      expect(await s.pageIn('p', 10, 1_000_000).then(ids)).toEqual([low[1]!.id]);
      expect(await s.pageIn('p', 10, 1_000_000)).toEqual([]);
      expect(await s.pagedStats('p')).toMatchObject({ count: 0, bytes: 0 });
      expect(await s.pageIn('missing', 10, 1_000_000)).toEqual([]);
    });

    it('browses paged-out entries in dispatch order, a page at a time, changing nothing', async () => {
      const s = await openStore();
      const low = [msg('b', 'low-1', { priority: 1 }), msg('b', 'low-2', { priority: 1 })];
      const high = [msg('b', 'high-1', { priority: 7 }), msg('b', 'high-2', { priority: 7 })];
      const later = msg('b', 'later');
      await s.apply([
        { type: 'enqueue', queue: 'b', message: msg('b', 'resident'), state: ready },
        pagedOut('b', low[0]!),
        pagedOut('b', high[0]!),
        pagedOut('b', low[1]!),
        pagedOut('b', high[1]!),
        pagedOut('b', later, { ...ready, deliverAt: Date.now() + 60_000 }),
      ]);
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await s.browsePaged('b', cursor, 3);
        seen.push(...page.entries.map((e) => e.message.id));
        cursor = page.cursor;
        pages++;
      } while (cursor !== undefined && pages < 10);
      // Due ones only (the scheduled one waits), highest priority first, then insertion order.
      expect(seen).toEqual([high[0]!.id, high[1]!.id, low[0]!.id, low[1]!.id]);
      expect(await s.pagedStats('b')).toMatchObject({ count: 4, scheduledCount: 1 });
      expect((await s.browsePaged('b', undefined, 10)).entries).toHaveLength(4);
      expect((await s.pageIn('b', 10, 1_000_000)).map((e) => e.message.id)).toEqual(seen);
      expect(await s.browsePaged('missing', undefined, 10)).toEqual({ entries: [] });
    });

    it('forgets paged-out entries that are removed or whose queue is deleted', async () => {
      const s = await openStore();
      const [a, b, c] = [msg('r', 'a'), msg('r', 'b'), msg('r', 'c')];
      await s.apply([a, b, c].map((message) => pagedOut('r', message)));
      await s.apply([{ type: 'remove', queue: 'r', messageId: b.id }]);
      expect(await s.pagedStats('r')).toMatchObject({ count: 2, bytes: messageSize(a) + messageSize(c) });
      expect((await s.pageIn('r', 10, 1_000_000)).map((e) => e.message.id)).toEqual([a.id, c.id]);
      await s.apply([pagedOut('r', b), { type: 'deleteQueue', queue: 'r' }]);
      expect(await s.pagedStats('r')).toMatchObject({ count: 0, bytes: 0 });
      expect(await s.stats()).toEqual({ messages: 0, entries: 0, sessions: 0 });
    });

    it('keeps scheduled paged-out entries apart until due, then pages them in like the rest', async () => {
      const s = await openStore();
      const due = (at: number): EntryState => ({ ...ready, deliverAt: at });
      const [later, soon, now, high] = [msg('s', 'later'), msg('s', 'soon'), msg('s', 'now'), msg('s', 'high-soon', { priority: 9 })];
      await s.apply([pagedOut('s', later, due(5000)), pagedOut('s', soon, due(2000)), pagedOut('s', now), pagedOut('s', high, due(2000))]);
      const sized = [later, soon, high].reduce((n, m) => n + messageSize(m), 0);
      expect(await s.pagedStats('s')).toEqual({
        count: 1,
        bytes: messageSize(now),
        scheduledCount: 3,
        scheduledBytes: sized,
        nextDue: 2000,
      });
      expect(await s.promoteDue('s', 1999)).toEqual({ count: 0, bytes: 0, nextDue: 2000 });
      expect(await s.promoteDue('s', 2000)).toEqual({ count: 2, bytes: messageSize(soon) + messageSize(high), nextDue: 5000 });
      const ids = (es: StoredEntry[]): string[] => es.map((e) => e.message.id);
      expect(ids(await s.pageIn('s', 10, 1_000_000))).toEqual([high.id, soon.id, now.id]);
      // A scheduled entry removed before it is due leaves nothing behind.
      await s.apply([{ type: 'remove', queue: 's', messageId: later.id }]);
      expect(await s.pagedStats('s')).toEqual({ count: 0, bytes: 0, scheduledCount: 0, scheduledBytes: 0, nextDue: 0 });
      expect(await s.promoteDue('s', 10_000)).toEqual({ count: 0, bytes: 0, nextDue: 0 });
      expect(await s.promoteDue('missing', 10_000)).toEqual({ count: 0, bytes: 0, nextDue: 0 });
    });

    it('skips paged-out entries when reading a queue in pages', async () => {
      const s = await openStore();
      const all = Array.from({ length: 30 }, (_, i) => msg('mix', `m${i}`));
      await s.apply(
        all.map((message, i): StoreOp =>
          i % 3 !== 0 ? pagedOut('mix', message) : { type: 'enqueue', queue: 'mix', message, state: ready },
        ),
      );
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await s.readQueue('mix', cursor, 4);
        seen.push(...page.entries.map((e) => e.message.id));
        cursor = page.cursor;
      } while (cursor !== undefined);
      expect(seen).toEqual(all.filter((_, i) => i % 3 === 0).map((m) => m.id));
    });

    it('keeps durable subscriptions, with the reader a partial one is checked against, until deleted', async () => {
      const s = await openStore();
      const sub = {
        name: 'sub:d:c:n',
        pattern: 'a.*',
        selector: 'x > 1',
        noLocal: true,
        clientId: 'c',
        subscriptionName: 'n',
        shared: false,
        createdAt: 5,
        reader: { username: 'u1', groups: ['devices', 'everyone'], clientId: 'c' },
      };
      await s.apply([{ type: 'putSubscription', subscription: sub }]);
      expect(await s.loadSubscriptions()).toEqual([sub]);
      await s.apply([{ type: 'deleteSubscription', name: sub.name }]);
      expect(await s.loadSubscriptions()).toEqual([]);
    });

    it('keeps one retained message per topic; null clears it', async () => {
      const s = await openStore();
      const r1 = createMessage({ destination: topic('a.b'), body: Buffer.from('1') }, undefined, 1);
      const r2 = createMessage({ destination: topic('a.b'), body: Buffer.from('2') }, undefined, 2);
      const r3 = createMessage({ destination: topic('a.c'), body: Buffer.from('3') }, undefined, 3);
      await s.apply([
        { type: 'putRetained', topic: 'a.b', message: r1 },
        { type: 'putRetained', topic: 'a.b', message: r2 },
        { type: 'putRetained', topic: 'a.c', message: r3 },
      ]);
      expect((await s.loadRetained()).map((m) => Buffer.from(m.body).toString()).sort()).toEqual(['2', '3']);
      await s.apply([{ type: 'putRetained', topic: 'a.c', message: null }]);
      expect((await s.loadRetained()).map((m) => m.id)).toEqual([r2.id]);
    });

    it('returns only dedup ids that have not expired', async () => {
      const s = await openStore();
      const now = Date.now();
      await s.apply([
        { type: 'putDedup', record: { key: 'old', expiresAt: now + 100 } },
        { type: 'putDedup', record: { key: 'new', expiresAt: now + 600_000 } },
      ]);
      expect(await s.loadDedup(now + 500)).toEqual([{ key: 'new', expiresAt: now + 600_000 }]);
    });

    it('keeps session records, replaced whole, until deleted', async () => {
      const s = await openStore();
      const session = { id: 'mqtt:dev-1', data: { subscriptions: [{ filter: 'a/#', qos: 1 }], clean: false }, updatedAt: 1, expiresAt: 0 };
      await s.apply([{ type: 'putSession', session }]);
      expect(await s.getSession('mqtt:dev-1')).toEqual(session);
      expect((await s.stats()).sessions).toBe(1);
      await s.apply([{ type: 'putSession', session: { ...session, data: { clean: true }, updatedAt: 2 } }]);
      expect((await s.getSession('mqtt:dev-1'))?.data).toEqual({ clean: true });
      await s.apply([{ type: 'deleteSession', id: 'mqtt:dev-1' }]);
      expect(await s.getSession('mqtt:dev-1')).toBeUndefined();
    });

    it('lists session records by id prefix, taking the prefix literally', async () => {
      const s = await openStore();
      const rec = (id: string) => ({ id, data: { id }, updatedAt: 1, expiresAt: 0 });
      const ids = ['mqtt-will:a', 'mqtt-will:b*', 'mqtt:a', 'mqtt-wil', 'other'];
      // Enough records to take several HSCAN rounds on Redis.
      for (let i = 0; i < 700; i++) ids.push(`bulk:${i}`);
      await s.apply(ids.map((id) => ({ type: 'putSession' as const, session: rec(id) })));
      const wills = await s.listSessions('mqtt-will:');
      expect(wills.map((r) => r.id).sort()).toEqual(['mqtt-will:a', 'mqtt-will:b*']);
      expect((await s.listSessions('bulk:')).length).toBe(700);
      expect(await s.listSessions('mqtt-will:b*x')).toEqual([]);
    });

    it('a second handle on the same data sees everything the first wrote (restart)', async () => {
      const a = await openStore(1);
      const m = msg('persist', 'survives');
      await a.apply([
        { type: 'declareQueue', queue: { name: 'persist', createdAt: 1 } },
        { type: 'enqueue', queue: 'persist', message: m, state: ready },
        { type: 'update', queue: 'persist', messageId: m.id, state: { ...ready, delivered: true } },
      ]);
      await a.close();
      const b = await openStore(2);
      expect((await b.loadQueues()).map((q) => q.name)).toEqual(['persist']);
      const page = await b.readQueue('persist', undefined, 10);
      expect(page.entries[0]?.state.delivered).toBe(true);
      expect(Buffer.from(page.entries[0]!.message.body).toString()).toBe('survives');
    });

    it('fencing: once epoch 2 has opened, every batch from epoch 1 is refused whole and leaves no trace', async () => {
      const old = await openStore(1);
      const m = msg('f', 'before');
      await old.apply([{ type: 'enqueue', queue: 'f', message: m, state: ready }]);
      const current = await openStore(2);
      const attempts: StoreOp[][] = [
        [{ type: 'enqueue', queue: 'f', message: msg('f', 'stale'), state: ready }],
        [{ type: 'remove', queue: 'f', messageId: m.id }],
        [{ type: 'update', queue: 'f', messageId: m.id, state: { ...ready, deliveryCount: 9 } }],
        [
          { type: 'declareQueue', queue: { name: 'g', createdAt: 1 } },
          { type: 'deleteQueue', queue: 'f' },
        ],
        [{ type: 'putSubscription', subscription: { name: 's', pattern: 'x', shared: false, createdAt: 1 } }],
        [{ type: 'putRetained', topic: 'x', message: m }],
        [{ type: 'putDedup', record: { key: 'k', expiresAt: Number.MAX_SAFE_INTEGER } }],
        [{ type: 'putSession', session: { id: 's', data: {}, updatedAt: 1, expiresAt: 0 } }],
        [pagedOut('f', msg('f', 'paged'))],
      ];
      for (const ops of attempts) await expect(old.apply(ops)).rejects.toThrow(FencedError);
      await expect(old.pageIn('f', 10, 1_000_000)).rejects.toThrow(FencedError);
      await expect(old.promoteDue('f', Date.now())).rejects.toThrow(FencedError);
      expect(await current.pagedStats('f')).toMatchObject({ count: 0, bytes: 0 });
      expect((await current.loadQueues()).map((q) => q.name)).toEqual(['f']);
      const page = await current.readQueue('f', undefined, 10);
      expect(page.entries.map((e) => [e.message.id, e.state.deliveryCount])).toEqual([[m.id, 0]]);
      expect(await current.loadSubscriptions()).toEqual([]);
      expect(await current.loadRetained()).toEqual([]);
      expect(await current.loadDedup(0)).toEqual([]);
      expect(await current.getSession('s')).toBeUndefined();
      await current.apply([{ type: 'remove', queue: 'f', messageId: m.id }]);
      expect(await current.stats()).toEqual({ messages: 0, entries: 0, sessions: 0 });
    });

    it('keeps the security record set at run time, the last one written', async () => {
      const s = await openStore();
      expect(await s.loadSecurity()).toBeUndefined();
      const record = {
        users: [{ username: 'ann', passwordHash: 'scrypt$x', groups: ['ops'], accessKeys: [{ id: 'AKIA1', secret: 's', createdAt: 1 }] }],
        authorization: [{ queue: 'orders.>', read: ['ops'], write: [], admin: [] }],
        updatedAt: 1,
      };
      await s.apply([{ type: 'putSecurity', record }]);
      await s.apply([{ type: 'putSecurity', record: { ...record, users: [], updatedAt: 2 } }]);
      await s.close();
      const again = await openStore(2);
      expect(await again.loadSecurity()).toEqual({ ...record, users: [], updatedAt: 2 });
    });

    it('an older epoch cannot even open once a newer one has', async () => {
      await openStore(3);
      const stale = await factory.handle(2);
      await expect(stale.open()).rejects.toThrow(FencedError);
    });
  });
}
