// A slow topic subscriber over STOMP: a producer floods a topic with non-persistent messages while
// one subscriber holds its prefetched messages unacknowledged and another keeps up. The producer is
// never held back (its last RECEIPT arrives), the fast subscriber gets everything, the slow one's
// oldest messages are dropped at its transient limit, and the drops are counted and logged.
import { afterEach, describe, expect, it } from 'vitest';
import { CapturedLog } from '../helpers/log.ts';
import { RawStomp, startStompServer, type StompTestServer } from '../helpers/stomp.ts';

let broker: StompTestServer | undefined;
const clients: RawStomp[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await broker?.stop();
  broker = undefined;
});

describe('a slow topic subscriber', () => {
  it('loses its oldest non-persistent messages at its limit, counted, without slowing the producer or the others', async () => {
    const log = new CapturedLog();
    broker = await startStompServer(
      { destinations: { policies: [{ match: 'topic://prices', transientMaxMessages: 200 }] } },
      undefined,
      log.log,
    );
    const connect = async (): Promise<RawStomp> => {
      const c = await RawStomp.connect(broker!.port);
      clients.push(c);
      return c;
    };
    const slow = await connect();
    const fast = await connect();
    const producer = await connect();
    slow.send('SUBSCRIBE', { id: 's', destination: '/topic/prices', ack: 'client-individual', 'activemq.prefetchSize': '5', receipt: 's' });
    await slow.expect('RECEIPT');
    // On every topic: the policy for topic://prices (the slow one's limit) does not apply to it.
    fast.send('SUBSCRIBE', { id: 'f', destination: '/topic/>', ack: 'auto', receipt: 'f' });
    await fast.expect('RECEIPT');

    const total = 5000;
    for (let i = 0; i < total; i++)
      producer.send('SEND', { destination: '/topic/prices', ...(i === total - 1 ? { receipt: 'last' } : {}) }, `p${i}`);
    await producer.expect('RECEIPT', 20_000);
    const fastGot: string[] = [];
    while (fastGot.length < total) fastGot.push((await fast.expect('MESSAGE')).body.toString());
    expect(fastGot[total - 1]).toBe(`p${total - 1}`);

    const line = await log.waitFor(
      (l) => l.msg === 'slow consumer: transient messages over the limit, dropping the oldest (counted in stats.dropped)',
    );
    expect(line).toMatchObject({ policy: 'drop-oldest', limit: 'transient' });
    const sub = broker.server.broker.listQueues().find((q) => q.label.includes('prices') && q.inflight === 5)!;
    expect(sub).toMatchObject({ transient: 200, stats: { dropped: total - 205 } });

    // The slow subscriber gets the 5 it held (in flight: never dropped), then the newest 200.
    const slowGot: string[] = [];
    while (slowGot.length < 205) {
      const m = await slow.expect('MESSAGE');
      slowGot.push(m.body.toString());
      slow.send('ACK', { id: m.headers.get('ack')! });
    }
    expect(slowGot.slice(0, 5)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
    expect(slowGot.slice(5)).toEqual(Array.from({ length: 200 }, (_, i) => `p${total - 200 + i}`));
  });
});
