// Bounded queues: a producer that outruns a queue's limit is blocked, refused, or has the oldest
// message dropped, exactly as configured, each counted; memory stays bounded.
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker } from '../../src/core/broker.ts';
import { queue, topic } from '../../src/core/destination.ts';
import { QueueFullError } from '../../src/shared/errors.ts';
import type { Consumer } from '../../src/core/consumer.ts';
import { Inbox, ctx, msgTo, startBroker, text } from '../helpers/core.ts';

let broker: Broker;
afterEach(async () => {
  await broker?.close();
});

describe('queue limits', () => {
  it('reject: sends beyond maxMessages are refused with QueueFullError and counted', async () => {
    broker = await startBroker({ policies: [{ match: 'queue://capped', maxMessages: 3, overflow: 'reject' }] });
    for (let i = 0; i < 3; i++) await broker.publish(msgTo('capped', `m${i}`), ctx);
    await expect(broker.publish(msgTo('capped', 'm3'), ctx)).rejects.toThrow(QueueFullError);
    await expect(broker.publish(msgTo('capped', 'm4'), ctx)).rejects.toThrow('Queue capped is full (maxMessages 3)');
    expect(broker.getQueue('capped')).toMatchObject({ messages: 3, stats: { rejected: 2 } });
    // Other queues are unaffected.
    await broker.publish(msgTo('free', 'x'), ctx);
  });

  it('drop-oldest: the oldest lowest-priority ready message makes room, counted', async () => {
    broker = await startBroker({ policies: [{ match: 'queue://ring', maxMessages: 3, overflow: 'drop-oldest' }] });
    await broker.publish(msgTo('ring', 'urgent', { priority: 9 }), ctx);
    for (let i = 0; i < 5; i++) await broker.publish(msgTo('ring', `m${i}`), ctx);
    const inbox = new Inbox();
    await broker.subscribe({ destination: queue('ring'), onMessage: inbox.onMessage }, ctx);
    expect(inbox.texts).toEqual(['urgent', 'm3', 'm4']);
    expect(broker.getQueue('ring')?.stats.dropped).toBe(3);
  });

  it('drop-oldest never drops a message in flight: with everything unsettled the send is refused', async () => {
    broker = await startBroker({ policies: [{ match: 'queue://busy', maxMessages: 2, overflow: 'drop-oldest' }] });
    await broker.subscribe({ destination: queue('busy'), onMessage: () => {} }, ctx);
    await broker.publish(msgTo('busy', 'a'), ctx);
    await broker.publish(msgTo('busy', 'b'), ctx);
    await expect(broker.publish(msgTo('busy', 'c'), ctx)).rejects.toThrow(/no message can be dropped now/);
  });

  it('block: the producer waits until a consumer makes room, then proceeds in order', async () => {
    broker = await startBroker({ policies: [{ match: 'queue://slow', maxMessages: 2, overflow: 'block' }] });
    await broker.publish(msgTo('slow', 'm0'), ctx);
    await broker.publish(msgTo('slow', 'm1'), ctx);
    let done = false;
    const blocked = broker.publish(msgTo('slow', 'm2'), ctx).then((r) => {
      done = true;
      return r;
    });
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    expect(broker.getQueue('slow')?.stats.blocked).toBe(1);
    const inbox = new Inbox();
    const c = await broker.subscribe({ destination: queue('slow'), prefetch: 1, onMessage: inbox.onMessage }, ctx);
    c.ack(inbox.items[0]!.tag);
    await blocked;
    expect(done).toBe(true);
    c.ack(inbox.items[1]!.tag);
    expect(inbox.texts).toEqual(['m0', 'm1', 'm2']);
  });

  it('backlogOnly: a consumed subscription never drops; a full one holds the publisher until a delivery makes room', async () => {
    broker = await startBroker();
    const limits = { maxMessages: 2, overflow: 'drop-oldest' as const, backlogOnly: true };
    const inbox = new Inbox();
    const sub = { destination: topic('feed'), durable: { clientId: 'dev', name: 'feed' }, limits };
    const c = await broker.subscribe({ ...sub, prefetch: 1, onMessage: inbox.onMessage }, ctx);
    const name = broker.listSubscriptions()[0]!.name;
    // One in flight and two ready: in-flight messages do not count, so the third fits.
    for (let i = 0; i < 3; i++) await broker.publish(msgTo('topic://feed', `m${i}`, { persistent: true }), ctx);
    expect(broker.getQueue(name)).toMatchObject({ ready: 2, inflight: 1 });
    let done = false;
    const held = broker.publish(msgTo('topic://feed', 'm3', { persistent: true }), ctx).then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    expect([done, broker.getQueue(name)?.stats.blocked]).toEqual([false, 1]);
    c.ack(inbox.items[0]!.tag); // m1 goes out: one ready slot frees, and the publisher proceeds
    await held;
    for (let i = 1; i <= 3; i++) c.ack(inbox.items[i]!.tag);
    expect(inbox.texts).toEqual(['m0', 'm1', 'm2', 'm3']);
    expect(broker.getQueue(name)?.stats.dropped).toBe(0);
    // Offline, the limit bounds the backlog with the configured overflow: the oldest go.
    c.close();
    for (let i = 4; i < 8; i++) await broker.publish(msgTo('topic://feed', `m${i}`, { persistent: true }), ctx);
    expect(broker.getQueue(name)).toMatchObject({ messages: 2, stats: { dropped: 2 } });
    const back = new Inbox();
    await broker.subscribe({ ...sub, onMessage: back.onMessage }, ctx);
    expect(back.texts).toEqual(['m6', 'm7']);
  });

  it('backlogOnly: a publisher held by a subscriber that then leaves meets the overflow policy at once', async () => {
    broker = await startBroker();
    const limits = { maxMessages: 2, overflow: 'drop-oldest' as const, backlogOnly: true };
    const sub = { destination: topic('cmds'), durable: { clientId: 'dev', name: 'cmds' }, limits };
    const c = await broker.subscribe({ ...sub, prefetch: 0, onMessage: () => {} }, ctx);
    const name = broker.listSubscriptions()[0]!.name;
    for (let i = 0; i < 2; i++) await broker.publish(msgTo('topic://cmds', `c${i}`, { persistent: true }), ctx);
    const held = broker.publish(msgTo('topic://cmds', 'c2', { persistent: true }), ctx);
    await new Promise((r) => setImmediate(r));
    expect(broker.getQueue(name)?.stats.blocked).toBe(1);
    c.close(); // the device goes away: its backlog is bounded by dropping the oldest, not by waiting
    await held;
    expect(broker.getQueue(name)).toMatchObject({ messages: 2, stats: { dropped: 1 } });
    const back = new Inbox();
    await broker.subscribe({ ...sub, onMessage: back.onMessage }, ctx);
    expect(back.texts).toEqual(['c1', 'c2']);
  });

  it('backlogOnly with onlineMaxMessages: an attached consumer holds publishers at the online bound; away, the queue fills to maxMessages', async () => {
    broker = await startBroker();
    const limits = { maxMessages: 6, onlineMaxMessages: 2, overflow: 'drop-oldest' as const, backlogOnly: true };
    const sub = { destination: topic('near'), durable: { clientId: 'dev', name: 'near' }, limits };
    const c = await broker.subscribe({ ...sub, prefetch: 0, onMessage: () => {} }, ctx);
    const name = broker.listSubscriptions()[0]!.name;
    for (let i = 0; i < 2; i++) await broker.publish(msgTo('topic://near', `n${i}`, { persistent: true }), ctx);
    const held = broker.publish(msgTo('topic://near', 'n2', { persistent: true }), ctx);
    await new Promise((r) => setImmediate(r));
    expect(broker.getQueue(name)).toMatchObject({ messages: 2, stats: { blocked: 1 } });
    c.close(); // away: the full bound applies, and nothing is dropped below it
    await held;
    for (let i = 3; i < 6; i++) await broker.publish(msgTo('topic://near', `n${i}`, { persistent: true }), ctx);
    expect(broker.getQueue(name)).toMatchObject({ messages: 6, stats: { dropped: 0 } });
    const back = new Inbox();
    await broker.subscribe({ ...sub, onMessage: back.onMessage }, ctx);
    expect(back.texts).toEqual(['n0', 'n1', 'n2', 'n3', 'n4', 'n5']);
  });

  it("a stalled consumer holds its subscription's publishers at most slowConsumerHoldMs; then its oldest go, counted, until it catches up", async () => {
    broker = await startBroker();
    const limits = { maxMessages: 3, overflow: 'drop-oldest' as const, backlogOnly: true, slowConsumerHoldMs: 100 };
    const inbox = new Inbox();
    const sub = { destination: topic('all'), durable: { clientId: 'stalled', name: 'all' }, limits };
    const c = await broker.subscribe({ ...sub, prefetch: 1, onMessage: inbox.onMessage }, ctx);
    const name = broker.listSubscriptions()[0]!.name;
    for (let i = 0; i < 4; i++) await broker.publish(msgTo('topic://all', `m${i}`, { persistent: true }), ctx);
    await broker.publish(msgTo('topic://all', 'm4', { persistent: true }), ctx); // held, then m1 is dropped
    expect(broker.getQueue(name)).toMatchObject({ ready: 3, inflight: 1, stats: { blocked: 1, dropped: 1, slowConsumers: 1 } });
    // Declared slow: later sends make room at once instead of waiting.
    for (let i = 5; i < 20; i++) await broker.publish(msgTo('topic://all', `m${i}`, { persistent: true }), ctx);
    expect(broker.getQueue(name)).toMatchObject({ ready: 3, stats: { blocked: 1, dropped: 16, slowConsumers: 1 } });
    // It reads again: it gets what it holds and the newest three; caught up, it holds publishers back again.
    for (let i = 0; i < 4; i++) c.ack(inbox.items[i]!.tag);
    expect(inbox.texts).toEqual(['m0', 'm17', 'm18', 'm19']);
    for (let i = 20; i < 24; i++) await broker.publish(msgTo('topic://all', `m${i}`, { persistent: true }), ctx);
    let done = false;
    const held = broker.publish(msgTo('topic://all', 'm24', { persistent: true }), ctx).then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    expect([done, broker.getQueue(name)?.stats.blocked]).toEqual([false, 2]);
    c.ack(inbox.items[4]!.tag);
    await held;
    expect(broker.getQueue(name)?.stats).toMatchObject({ dropped: 16, slowConsumers: 1 });
  });

  it('a consumer that keeps settling, however slowly, holds its publishers back as long as its queue is full, and loses nothing', async () => {
    broker = await startBroker();
    const limits = { maxMessages: 2, overflow: 'drop-oldest' as const, backlogOnly: true, slowConsumerHoldMs: 60 };
    const inbox = new Inbox();
    const sub = { destination: topic('busy'), durable: { clientId: 'bottleneck', name: 'busy' }, limits };
    const c = await broker.subscribe({ ...sub, prefetch: 1, onMessage: inbox.onMessage }, ctx);
    const name = broker.listSubscriptions()[0]!.name;
    // It takes one message every 20 ms: its queue stays full far longer than the 60 ms hold.
    let acked = 0;
    const reader = setInterval(() => {
      if (inbox.items.length > acked) c.ack(inbox.items[acked++]!.tag);
    }, 20);
    try {
      for (let i = 0; i < 20; i++) await broker.publish(msgTo('topic://busy', `b${i}`, { persistent: true }), ctx);
      await expect.poll(() => inbox.items.length, { timeout: 5000 }).toBe(20);
    } finally {
      clearInterval(reader);
    }
    expect(inbox.texts).toEqual(Array.from({ length: 20 }, (_, i) => `b${i}`));
    expect(broker.getQueue(name)?.stats).toMatchObject({ dropped: 0, slowConsumers: 0 });
    expect(broker.getQueue(name)!.stats.blocked).toBeGreaterThan(10);
  });

  it('a consumer that has settled nothing for slowConsumerHoldMs when its subscription fills holds nobody back', async () => {
    broker = await startBroker();
    const limits = { maxMessages: 2, overflow: 'drop-oldest' as const, backlogOnly: true, slowConsumerHoldMs: 50 };
    const sub = { destination: topic('quiet'), durable: { clientId: 'gone-quiet', name: 'quiet' }, limits };
    await broker.subscribe({ ...sub, prefetch: 1, onMessage: () => {} }, ctx);
    const name = broker.listSubscriptions()[0]!.name;
    await broker.publish(msgTo('topic://quiet', 'q0', { persistent: true }), ctx);
    // The time passing is what is tested: the device has been silent longer than the hold.
    await new Promise((r) => setTimeout(r, 80));
    for (let i = 1; i < 6; i++) await broker.publish(msgTo('topic://quiet', `q${i}`, { persistent: true }), ctx);
    expect(broker.getQueue(name)).toMatchObject({ ready: 2, inflight: 1, stats: { blocked: 0, slowConsumers: 1, dropped: 3 } });
  });

  it('slowConsumer disconnect: the stalled consumer is ended (onAborted) and its durable subscription queues within its bound', async () => {
    broker = await startBroker();
    const limits = {
      maxMessages: 2,
      overflow: 'drop-oldest' as const,
      backlogOnly: true,
      slowConsumerHoldMs: 50,
      slowConsumer: 'disconnect' as const,
    };
    const sub = { destination: topic('cmds'), durable: { clientId: 'dev', name: 'cmds' }, limits };
    const aborted: string[] = [];
    const c = await broker.subscribe({ ...sub, prefetch: 0, onMessage: () => {}, onAborted: (r) => aborted.push(r) }, ctx);
    const name = broker.listSubscriptions()[0]!.name;
    for (let i = 0; i < 3; i++) await broker.publish(msgTo('topic://cmds', `c${i}`, { persistent: true }), ctx);
    expect(aborted).toEqual([expect.stringMatching(/^slow consumer: settled no message for 50 ms/)]);
    expect(c.closed).toBe(true);
    for (let i = 3; i < 6; i++) await broker.publish(msgTo('topic://cmds', `c${i}`, { persistent: true }), ctx);
    expect(broker.getQueue(name)).toMatchObject({ messages: 2, consumers: 0, stats: { slowConsumers: 1, dropped: 4 } });
    const back = new Inbox();
    await broker.subscribe({ ...sub, onMessage: back.onMessage }, ctx);
    expect(back.texts).toEqual(['c4', 'c5']);
  });

  it('a STOMP/AMQP-style topic subscription whose transient bound blocks is isolated the same way; a queue is not', async () => {
    broker = await startBroker({
      policies: [
        { match: 'topic://t', transientMaxMessages: 2, transientOverflow: 'block', slowConsumerHoldMs: 50 },
        { match: 'queue://q', maxMessages: 2, overflow: 'block', blockTimeoutMs: 150, slowConsumerHoldMs: 50 },
      ],
    });
    await broker.subscribe({ destination: topic('t'), prefetch: 0, onMessage: () => {} }, ctx);
    for (let i = 0; i < 10; i++) await broker.publish(msgTo('topic://t', `t${i}`), ctx);
    const subQueue = broker.listQueues().find((q) => q.label === 'topic://t')!;
    expect(subQueue).toMatchObject({ transient: 2, stats: { dropped: 8, slowConsumers: 1 } });
    await broker.subscribe({ destination: queue('q'), prefetch: 0, onMessage: () => {} }, ctx);
    for (let i = 0; i < 2; i++) await broker.publish(msgTo('q', `q${i}`), ctx);
    await expect(broker.publish(msgTo('q', 'q2'), ctx)).rejects.toThrow(/still full after waiting 150 ms/);
    expect(broker.getQueue('q')?.stats).toMatchObject({ dropped: 0, slowConsumers: 0 });
  });

  it('block: gives up after blockTimeoutMs with QueueFullError', async () => {
    broker = await startBroker({ policies: [{ match: 'queue://stuck', maxMessages: 1, overflow: 'block', blockTimeoutMs: 30 }] });
    await broker.publish(msgTo('stuck', 'm0'), ctx);
    await expect(broker.publish(msgTo('stuck', 'm1'), ctx)).rejects.toThrow(/still full after waiting 30 ms/);
    expect(broker.getQueue('stuck')).toMatchObject({ messages: 1, stats: { blocked: 1, rejected: 1 } });
  });

  it('block: of many waiting sends, those room frees for go in order; the others give up after blockTimeoutMs', async () => {
    broker = await startBroker({ policies: [{ match: 'queue://line', maxMessages: 1, overflow: 'block', blockTimeoutMs: 300 }] });
    await broker.publish(msgTo('line', 'm0'), ctx);
    const waiting = Array.from({ length: 50 }, (_, i) =>
      broker.publish(msgTo('line', `w${i}`), ctx).then(
        () => 'sent',
        (err: Error) => err.message,
      ),
    );
    const got: string[] = [];
    const c = await broker.subscribe(
      {
        destination: queue('line'),
        prefetch: 1,
        onMessage: (d) => {
          got.push(Buffer.from(d.message.body).toString());
          if (got.length < 3) setImmediate(() => c.ack(d.tag));
        },
      },
      ctx,
    );
    const outcomes = await Promise.all(waiting);
    // m0 and w0 were acknowledged, which let w0 and w1 in; w1 is held unacknowledged, so the rest wait out their time.
    expect(outcomes.slice(0, 2)).toEqual(['sent', 'sent']);
    for (const o of outcomes.slice(2)) expect(o).toMatch(/still full after waiting 300 ms/);
    expect(got).toEqual(['m0', 'w0', 'w1']);
    expect(broker.getQueue('line')?.stats).toMatchObject({ blocked: 50, rejected: 48 });
  });

  it('maxBytes counts body bytes; a message larger than the whole limit is refused at once', async () => {
    broker = await startBroker({ policies: [{ match: 'queue://bytes', maxBytes: 4096, overflow: 'reject' }] });
    await broker.publish(msgTo('bytes', 'x'.repeat(1500)), ctx);
    await broker.publish(msgTo('bytes', 'x'.repeat(1500)), ctx);
    await expect(broker.publish(msgTo('bytes', 'x'.repeat(1500)), ctx)).rejects.toThrow(/maxBytes 4096/);
    await expect(broker.publish(msgTo('bytes', 'x'.repeat(5000)), ctx)).rejects.toThrow(/exceeds maxBytes/);
  });

  it('a topic publish is refused whole when one subscription is full', async () => {
    broker = await startBroker({ policies: [{ match: 'topic://feed', maxMessages: 1, overflow: 'reject' }] });
    const a = new Inbox();
    await broker.subscribe({ destination: { kind: 'topic', name: 'feed' }, prefetch: 0, onMessage: a.onMessage }, ctx);
    await broker.publish(msgTo('topic://feed', 'one'), ctx);
    await expect(broker.publish(msgTo('topic://feed', 'two'), ctx)).rejects.toThrow(QueueFullError);
  });

  it('memory stays bounded while a producer outruns a drop-oldest queue', async () => {
    broker = await startBroker({ policies: [{ match: 'queue://flood', maxMessages: 1000, overflow: 'drop-oldest' }] });
    const body = 'x'.repeat(10_000);
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 20_000; i++) await broker.publish(msgTo('flood', body), ctx);
    const q = broker.getQueue('flood')!;
    expect(q.messages).toBe(1000);
    expect(q.stats.dropped).toBe(19_000);
    // 20,000 x 10 KB (200 MB) went through; the queue holds about 10 MB of it.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(120 * 1024 * 1024);
  });
});

describe('transient limits (slow consumers)', () => {
  it('a topic subscriber that falls behind loses its oldest non-persistent messages, counted; the publisher never waits', async () => {
    broker = await startBroker({ policies: [{ match: 'topic://ticks', transientMaxMessages: 100 }] });
    const slow = new Inbox();
    const held = await broker.subscribe({ destination: topic('ticks'), prefetch: 10, onMessage: slow.onMessage }, ctx);
    // A subscriber that keeps up (it settles each delivery as it arrives).
    const fast: string[] = [];
    const ref: { c?: Consumer } = {};
    ref.c = await broker.subscribe(
      {
        destination: topic('ticks'),
        prefetch: 10,
        onMessage: (d) => {
          fast.push(text(d));
          ref.c?.ack(d.tag);
        },
      },
      ctx,
    );
    for (let i = 0; i < 1000; i++) await broker.publish(msgTo('topic://ticks', `t${i}`), ctx);
    expect(fast).toHaveLength(1000);
    const q = broker.listQueues().find((x) => x.inflight === 10)!;
    expect(q).toMatchObject({ transient: 100, stats: { dropped: 890 } });
    // The slow one holds t0..t9 (in flight, never dropped); of the rest, the newest 100 are left.
    for (const d of slow.items.slice(0, 10)) held.ack(d.tag);
    expect(slow.texts).toEqual([...Array.from({ length: 10 }, (_, i) => `t${i}`), ...Array.from({ length: 10 }, (_, i) => `t${900 + i}`)]);
  });

  it('persistent messages of a durable subscription are not transient: they page to the store instead of being dropped', async () => {
    broker = await startBroker({ policies: [{ match: 'topic://audit', transientMaxMessages: 10 }] });
    const sub = await broker.subscribe(
      { destination: topic('audit'), durable: { clientId: 'c', name: 'n' }, prefetch: 0, onMessage: () => {} },
      ctx,
    );
    for (let i = 0; i < 50; i++) await broker.publish(msgTo('topic://audit', `a${i}`, { persistent: true }), ctx);
    const q = broker.listQueues().find((x) => x.durable && x.label.includes('audit'))!;
    expect(q).toMatchObject({ messages: 50, transient: 0, stats: { dropped: 0 } });
    sub.close();
  });

  it('on a queue the default is to hold the publisher until the consumer makes room', async () => {
    broker = await startBroker({ policies: [{ match: 'queue://work', transientMaxMessages: 5, blockTimeoutMs: 200 }] });
    for (let i = 0; i < 5; i++) await broker.publish(msgTo('work', `w${i}`), ctx);
    await expect(broker.publish(msgTo('work', 'late'), ctx)).rejects.toThrow(
      /transientMaxMessages 5, .* still reached after waiting 200 ms/,
    );
    // Persistent messages are not bounded by it: they page out to the store.
    await broker.publish(msgTo('work', 'kept', { persistent: true }), ctx);
    const blocked = broker.publish(msgTo('work', 'w5'), ctx);
    const inbox = new Inbox();
    const c = await broker.subscribe({ destination: queue('work'), prefetch: 1, onMessage: inbox.onMessage }, ctx);
    c.ack(inbox.items[0]!.tag);
    await blocked;
    // w1 is in flight now; w2..w5 wait (the persistent one is not transient).
    expect(broker.getQueue('work')).toMatchObject({ transient: 4, inflight: 1, stats: { dropped: 0, blocked: 2 } });
  });

  it('a transient message larger than transientMaxBytes is refused at once, under either policy', async () => {
    broker = await startBroker({
      policies: [
        { match: 'queue://small', transientMaxBytes: 2048 },
        { match: 'topic://small', transientMaxBytes: 2048 },
      ],
    });
    await broker.subscribe({ destination: topic('small'), onMessage: () => {} }, ctx);
    await expect(broker.publish(msgTo('small', 'x'.repeat(4000)), ctx)).rejects.toThrow(/exceeds transientMaxBytes 2048/);
    await expect(broker.publish(msgTo('topic://small', 'x'.repeat(4000)), ctx)).rejects.toThrow(/exceeds transientMaxBytes 2048/);
    // A persistent one is not transient on a queue: it pages to the store.
    await broker.publish(msgTo('small', 'x'.repeat(4000), { persistent: true }), ctx);
  });

  it('memory is given back when the slow subscriber leaves', async () => {
    broker = await startBroker();
    const c = await broker.subscribe({ destination: topic('bulk'), prefetch: 1, onMessage: () => {} }, ctx);
    for (let i = 0; i < 500; i++) await broker.publish(msgTo('topic://bulk', 'x'.repeat(1000)), ctx);
    expect(broker.listQueues().reduce((n, q) => n + q.transient + q.inflight, 0)).toBe(500);
    c.close();
    expect(broker.listQueues().reduce((n, q) => n + q.transient + q.inflight, 0)).toBe(0);
  });
});
