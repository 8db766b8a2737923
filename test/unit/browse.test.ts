// Browsing: a snapshot of a queue that removes and locks nothing, in flight first, then ready in
// dispatch order, then what is paged out (read from the store page by page); selectors apply.
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker } from '../../src/core/broker.ts';
import type { Consumer } from '../../src/core/consumer.ts';
import { queue, topic } from '../../src/core/destination.ts';
import type { QueueBrowser } from '../../src/core/queue-browser.ts';
import { InvalidDestinationError } from '../../src/shared/errors.ts';
import { Inbox, ctx, msgTo, startBroker } from '../helpers/core.ts';

let broker: Broker | undefined;
afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

async function all(b: QueueBrowser, page = 7): Promise<string[]> {
  const out: string[] = [];
  for (let batch = await b.next(page); batch.length > 0; batch = await b.next(page)) {
    out.push(...batch.map((m) => Buffer.from(m.message.body).toString()));
  }
  return out;
}

describe('browsing a queue', () => {
  it('shows in-flight, ready and paged-out messages in order, and removes or locks none of them', async () => {
    const b = (broker = await startBroker({ defaults: { pageWindowMessages: 10 } }));
    for (let i = 0; i < 30; i++) await b.publish(msgTo('orders', `m${i}`, { persistent: true }), ctx);
    const held = new Inbox();
    await b.subscribe({ destination: queue('orders'), prefetch: 2, onMessage: held.onMessage }, ctx);
    expect(b.getQueue('orders')).toMatchObject({ messages: 30, inflight: 2, paged: 20 });

    const seen = await all(b.browse({ destination: queue('orders') }, ctx));
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => `m${i}`));
    expect(b.getQueue('orders')).toMatchObject({ messages: 30, inflight: 2, paged: 20, stats: { acked: 0 } });

    // A consumer (acknowledging as it goes) still gets every message after the browse.
    const later = new Inbox();
    const ref: { c?: Consumer; early: number[] } = { early: [] };
    ref.c = await b.subscribe(
      {
        destination: queue('orders'),
        prefetch: 5,
        onMessage: (d) => {
          later.onMessage(d);
          if (ref.c) ref.c.ack(d.tag);
          else ref.early.push(d.tag);
        },
      },
      ctx,
    );
    for (const tag of ref.early) ref.c.ack(tag);
    await later.waitFor(28);
    expect(later.texts).toEqual(Array.from({ length: 28 }, (_, i) => `m${i + 2}`));
  });

  it('applies a selector, also to paged-out messages', async () => {
    const b = (broker = await startBroker({ defaults: { pageWindowMessages: 5 } }));
    for (let i = 0; i < 20; i++) await b.publish(msgTo('jobs', `j${i}`, { persistent: true, properties: { n: i } }), ctx);
    expect(await all(b.browse({ destination: queue('jobs'), selector: 'n >= 3 AND n < 17 AND n <> 10' }, ctx), 4)).toEqual(
      [3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16].map((i) => `j${i}`),
    );
  });

  it('is empty for a queue that does not exist, and refused for a topic', async () => {
    const b = (broker = await startBroker());
    expect(await all(b.browse({ destination: queue('nothing.here') }, ctx))).toEqual([]);
    expect(b.getQueue('nothing.here')).toBeUndefined();
    expect(() => b.browse({ destination: topic('news') }, ctx)).toThrow(InvalidDestinationError);
  });
});
