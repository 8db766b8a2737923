// store.redis.minReplicasToAck on a real primary and replica: a persistent message is acknowledged
// only once the replica has it (Redis WAIT); with the replica gone the publisher is refused with
// the protocol's error instead of a receipt.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keys } from '../../src/store/redis/keys.ts';
import { startRedis, startReplica, type TestRedis } from '../helpers/redis-server.ts';
import { RawStomp, startStompServer, type StompTestServer } from '../helpers/stomp.ts';

let primary: TestRedis;
let replica: TestRedis;
let srv: StompTestServer;

beforeAll(async () => {
  primary = await startRedis();
  replica = await startReplica(primary.port);
  // The lease must reach the replica before the broker serves: 300 ms was once too short for the
  // replica's acknowledgement while a full CI run loaded both cores (the broker stayed a standby).
  srv = await startStompServer({
    cluster: 'replicas',
    store: { type: 'redis', redis: { url: primary.url, minReplicasToAck: 1, replicaAckTimeoutMs: 2000 } },
  });
});

afterAll(async () => {
  await srv?.stop();
  await replica?.stop();
  await primary?.stop();
});

describe('minReplicasToAck', () => {
  it('acknowledges a persistent message once the replica has it, and refuses it while no replica confirms', async () => {
    const client = await RawStomp.connect(srv.port, { 'accept-version': '1.2', host: '/' });
    client.send('SEND', { destination: '/queue/replicated', persistent: 'true', receipt: 'r1' }, 'on two servers');
    expect((await client.expect('RECEIPT')).headers.get('receipt-id')).toBe('r1');
    const r = new Redis(replica.url);
    try {
      expect(await r.zcard(new Keys('replicas').queue('replicated'))).toBe(1);
    } finally {
      r.disconnect();
    }

    await replica.stop();
    client.send('SEND', { destination: '/queue/replicated', persistent: 'true', receipt: 'r2' }, 'on one server only');
    const error = await client.expect('ERROR');
    expect(error.headers.get('message')).toMatch(/0 of the 1 replica/);
    expect(error.headers.get('receipt-id')).toBe('r2');
    expect(client.frames.some((f) => f.command === 'RECEIPT' && f.headers.get('receipt-id') === 'r2')).toBe(false);
  });
});
