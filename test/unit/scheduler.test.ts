// ActiveMQ's scheduled-message properties: AMQ_SCHEDULED_REPEAT with AMQ_SCHEDULED_PERIOD, and
// AMQ_SCHEDULED_CRON; each delivery a copy with its own id and without the scheduling properties;
// the schedule kept in the store across a restart; a bad cron refused.
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker } from '../../src/core/broker.ts';
import { queue } from '../../src/core/destination.ts';
import { InvalidMessageError } from '../../src/shared/errors.ts';
import { MemoryData } from '../../src/store/memory-store.ts';
import { Inbox, ctx, msgTo, startBroker } from '../helpers/core.ts';

let brokers: Broker[] = [];
afterEach(async () => {
  for (const b of brokers) await b.close();
  brokers = [];
});

async function broker(data = new MemoryData(), epoch = 1): Promise<Broker> {
  const b = await startBroker({ data, epoch });
  brokers.push(b);
  return b;
}

describe('scheduled messages', () => {
  it('AMQ_SCHEDULED_REPEAT and _PERIOD deliver the message repeat + 1 times, period apart, as copies', async () => {
    const b = await broker();
    const inbox = new Inbox();
    await b.subscribe({ destination: queue('ticks'), onMessage: inbox.onMessage }, ctx);
    const sent = Date.now();
    const r = await b.publish(
      msgTo('ticks', 'tick', { properties: { AMQ_SCHEDULED_REPEAT: 2, AMQ_SCHEDULED_PERIOD: 60, kind: 'clock' } }),
      ctx,
    );
    expect(r.routed).toBe(0);
    const got = await inbox.waitFor(3);
    expect(got.map((d) => Buffer.from(d.message.body).toString())).toEqual(['tick', 'tick', 'tick']);
    expect(new Set(got.map((d) => d.message.id)).size).toBe(3);
    expect(got.every((d) => d.message.id !== r.messageId)).toBe(true);
    expect(got[0]!.message.properties).toEqual({ kind: 'clock' });
    expect(got[2]!.message.timestamp - sent).toBeGreaterThanOrEqual(100);
    await expect.poll(() => b.listSessions('schedule:')).toEqual([]);
  });

  it('AMQ_SCHEDULED_CRON delivers at each time the expression names (here every second, twice each time)', async () => {
    const b = await broker();
    const inbox = new Inbox();
    await b.subscribe({ destination: queue('cron'), onMessage: inbox.onMessage }, ctx);
    await b.publish(
      msgTo('cron', 'beat', { properties: { AMQ_SCHEDULED_CRON: '* * * * * *', AMQ_SCHEDULED_REPEAT: '1', AMQ_SCHEDULED_PERIOD: '100' } }),
      ctx,
    );
    const got = await inbox.waitFor(4, 5000);
    const seconds = got.map((d) => Math.floor(d.message.timestamp / 1000));
    expect(seconds[0]).toBe(seconds[1]);
    expect(seconds[2]).toBeGreaterThan(seconds[0]!);
    expect((await b.listSessions('schedule:')).length).toBe(1);
  });

  it('keeps a schedule in the store: a broker started on the same data delivers the rest', async () => {
    const data = new MemoryData();
    const first = await broker(data, 1);
    const inbox = new Inbox();
    const c = await first.subscribe({ destination: queue('later'), onMessage: inbox.onMessage }, ctx);
    await first.publish(
      msgTo('later', 'again', { persistent: true, properties: { AMQ_SCHEDULED_REPEAT: 2, AMQ_SCHEDULED_PERIOD: 300 } }),
      ctx,
    );
    await inbox.waitFor(1);
    c.ack(inbox.items[0]!.tag);
    await first.close();
    brokers = brokers.filter((b) => b !== first);
    const second = await broker(data, 2);
    const after = new Inbox();
    await second.subscribe({ destination: queue('later'), onMessage: after.onMessage }, ctx);
    expect((await after.waitFor(2, 5000)).map((d) => Buffer.from(d.message.body).toString())).toEqual(['again', 'again']);
  });

  it('refuses a cron expression it cannot read, and a negative period', async () => {
    const b = await broker();
    await expect(b.publish(msgTo('bad', 'x', { properties: { AMQ_SCHEDULED_CRON: 'every tuesday' } }), ctx)).rejects.toThrow(
      InvalidMessageError,
    );
    await expect(b.publish(msgTo('bad', 'x', { properties: { AMQ_SCHEDULED_REPEAT: 1, AMQ_SCHEDULED_PERIOD: -5 } }), ctx)).rejects.toThrow(
      /AMQ_SCHEDULED_PERIOD must be a number of 0 or more/,
    );
  });
});
