// OpenWire across a failover, the way ActiveMQ clients meet one: producers (one sending persistent
// messages, one committing transactions of ten) and consumers on ActiveMQ's Java client with
// `failover:(tcp://a,tcp://b)` while the active broker process is killed (-9). The client's failover transport reconnects to the broker that takes over and replays
// its connection, sessions, producer and consumer; every persistent message the producer saw
// acknowledged reaches the consumer. The connection also shows in the admin API while it lasts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess } from '../helpers/broker-process.ts';
import { linesOf, probeClassPath, startProbe, type RunningProbe } from '../helpers/openwire.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';

let redis: TestRedis;
const brokers: BrokerProcess[] = [];
const probes: RunningProbe[] = [];

beforeAll(async () => {
  await probeClassPath();
  redis = await startRedis();
}, 90_000);

afterAll(async () => {
  for (const p of probes) p.kill();
  for (const b of brokers) await b.stop();
  await redis?.stop();
});

const COUNT = 300;
const BATCHES = 30;

describe('OpenWire across a failover', () => {
  it('a failover-URL producer and consumer lose no acknowledged message when the active is killed', async () => {
    const a = await BrokerProcess.start('a', redis.url, { cluster: 'openwire' });
    brokers.push(a);
    await a.waitActive();
    const b = await BrokerProcess.start('b', redis.url, { cluster: 'openwire' });
    brokers.push(b);
    const url = `failover:(tcp://127.0.0.1:${a.ports.openwire as number},tcp://127.0.0.1:${b.ports.openwire as number})?randomize=false&initialReconnectDelay=50&maxReconnectDelay=500`;

    const consumer = await startProbe(url, 'failoverConsumer', ['ow.failover', '6000']);
    probes.push(consumer);
    await consumer.waitFor((l) => l.k === 'ready');
    const connections = (await (await fetch(`http://127.0.0.1:${a.ports.admin}/api/connections`)).json()) as Array<{ protocol: string }>;
    expect(connections.some((c) => c.protocol === 'openwire')).toBe(true);

    const txConsumer = await startProbe(url, 'failoverConsumer', ['ow.failover.tx', '6000']);
    probes.push(txConsumer);
    await txConsumer.waitFor((l) => l.k === 'ready');
    const producer = await startProbe(url, 'failoverProducer', ['ow.failover', String(COUNT)]);
    probes.push(producer);
    const txProducer = await startProbe(url, 'failoverTxProducer', ['ow.failover.tx', String(BATCHES)]);
    probes.push(txProducer);
    await producer.waitFor((l) => l.k === 'acked' && (l.i as number) >= 100, 30_000);
    await txProducer.waitFor((l) => l.k === 'committed' && (l.batch as number) >= 5, 30_000);
    const from = b.lines.length;
    await a.kill();
    await b.waitActive(20_000, from);

    const sent = await producer.finished(60_000);
    expect(sent.code, sent.stderr).toBe(0);
    const acked = linesOf(sent, 'acked').map((l) => `f-${l.i as number}`);
    expect(acked).toHaveLength(COUNT);
    const got = await consumer.finished(90_000);
    expect(got.code, got.stderr).toBe(0);
    const received = new Set(linesOf(got, 'got').map((l) => l.text as string));
    expect(acked.filter((m) => !received.has(m))).toEqual([]);

    // Every committed transaction arrives whole; one open at the kill is retried by the application.
    const txSent = await txProducer.finished(60_000);
    expect(txSent.code, txSent.stderr).toBe(0);
    expect(linesOf(txSent, 'committed').map((l) => l.batch)).toEqual(Array.from({ length: BATCHES }, (_, b) => b));
    const txGot = await txConsumer.finished(90_000);
    const txReceived = new Set(linesOf(txGot, 'got').map((l) => l.text as string));
    const committed = Array.from({ length: BATCHES * 10 }, (_, n) => `tx-${Math.floor(n / 10)}-${n % 10}`);
    expect(committed.filter((m) => !txReceived.has(m))).toEqual([]);
  }, 150_000);
});
