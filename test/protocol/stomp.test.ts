// The STOMP adapter at the byte level (raw sockets): versions, heart-beats, every frame, ack modes,
// transactions, ActiveMQ destination names and headers, errors that close only the guilty
// connection, TLS, authentication and authorization.
import { once } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { StompFrame } from '../../adapters/stomp/frame.ts';
import { RawStomp, startStompServer, type StompTestServer } from '../helpers/stomp.ts';
import { hashPassword } from '../../src/security/password.ts';
import { RedisStore } from '../../src/store/redis/redis-store.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import type { StoreOp } from '../../src/store/store.ts';
import { CapturedLog } from '../helpers/log.ts';
import { failFastStore, startRedis } from '../helpers/redis-server.ts';

let s: StompTestServer;
const open: RawStomp[] = [];
beforeAll(async () => {
  s = await startStompServer({ destinations: { defaults: { redeliveryDelayMs: 0, maxDeliveries: 3 } } });
});
afterAll(async () => {
  await s?.stop();
});
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});
async function client(headers: Record<string, string> = {}): Promise<RawStomp> {
  const c = await RawStomp.connect(s.port, headers);
  open.push(c);
  return c;
}
let n = 0;
const unique = (base: string): string => `${base}.${++n}`;

describe('STOMP: connecting', () => {
  it('accepts any login on a broker with no users configured, as ActiveMQ without an authentication plugin does', async () => {
    const c = await RawStomp.open(s.port);
    c.send('CONNECT', { 'accept-version': '1.2', host: '/', login: 'legacy-app', passcode: 'old-secret' });
    expect((await c.expect('CONNECTED')).headers.get('version')).toBe('1.2');
    c.socket.destroy();
  });

  it('negotiates the highest common version and answers CONNECTED with session, server and heart-beat', async () => {
    for (const [offered, agreed] of [
      ['1.0,1.1,1.2', '1.2'],
      ['1.1', '1.1'],
      [undefined, '1.0'],
      ['1.0', '1.0'],
    ] as const) {
      const c = await RawStomp.open(s.port);
      open.push(c);
      c.send(offered === undefined ? 'CONNECT' : 'STOMP', offered === undefined ? {} : { 'accept-version': offered, host: 'x' });
      const f = await c.expect('CONNECTED');
      expect(f.headers.get('version')).toBe(agreed);
      expect(f.headers.get('session')).toMatch(/^[0-9a-f-]{36}$/);
      expect(f.headers.get('server')).toMatch(/^Junction\//);
      expect(f.headers.get('heart-beat')).toBe('0,0');
    }
  });

  it('refuses a version it does not speak with an ERROR naming the ones it does', async () => {
    const c = await RawStomp.open(s.port);
    open.push(c);
    c.send('CONNECT', { 'accept-version': '2.0' });
    const f = await c.expect('ERROR');
    expect(f.headers.get('version')).toBe('1.0,1.1,1.2');
    expect(f.headers.get('message')).toBe('Supported protocol versions are 1.0 1.1 1.2');
    await c.closed;
  });

  it('wants CONNECT first', async () => {
    const c = await RawStomp.open(s.port);
    open.push(c);
    c.send('SEND', { destination: '/queue/x' }, 'early');
    expect((await c.expect('ERROR')).headers.get('message')).toBe('Expected CONNECT or STOMP, got SEND');
    await c.closed;
  });

  it('an idle server sends heart-beats as often as the client asked', async () => {
    const c = await RawStomp.open(s.port);
    open.push(c);
    c.send('CONNECT', { 'accept-version': '1.2', 'heart-beat': '0,100' });
    expect((await c.expect('CONNECTED')).headers.get('heart-beat')).toBe('100,0');
    const start = Date.now();
    await c.waitForBeats(3, 2000);
    expect(Date.now() - start).toBeGreaterThanOrEqual(150);
  });

  it('drops a client that promised heart-beats and went silent, after 1.5x the interval', async () => {
    const c = await RawStomp.open(s.port);
    open.push(c);
    c.send('CONNECT', { 'accept-version': '1.2', 'heart-beat': '100,0' });
    expect((await c.expect('CONNECTED')).headers.get('heart-beat')).toBe('0,100');
    const start = Date.now();
    await c.closed;
    expect(Date.now() - start).toBeGreaterThanOrEqual(140);
  });

  it('keeps a client that beats', async () => {
    const c = await RawStomp.open(s.port);
    open.push(c);
    c.send('CONNECT', { 'accept-version': '1.2', 'heart-beat': '60,0' });
    expect((await c.expect('CONNECTED')).headers.get('heart-beat')).toBe('0,60');
    const beat = setInterval(() => c.write('\n'), 30);
    try {
      const q = unique('/queue/beat');
      c.send('SUBSCRIBE', { id: '1', destination: q });
      await new Promise((r) => setTimeout(r, 400)); // well past 1.5 x 60 ms of the server's patience
      c.send('SEND', { destination: q }, 'still here');
      expect((await c.expect('MESSAGE')).body.toString()).toBe('still here');
    } finally {
      clearInterval(beat);
    }
  });
});

describe('STOMP: messaging', () => {
  it('sends and receives with every header mapped, user headers unchanged, RECEIPT for any frame', async () => {
    const c = await client();
    const q = unique('mapped');
    c.send('SUBSCRIBE', { id: 's1', destination: `/queue/${q}`, receipt: 'r-sub' });
    expect((await c.expect('RECEIPT')).headers.get('receipt-id')).toBe('r-sub');
    const expires = Date.now() + 60_000;
    c.send(
      'SEND',
      {
        destination: `/queue/${q}`,
        persistent: 'true',
        priority: '7',
        expires: String(expires),
        'correlation-id': 'corr-1',
        'reply-to': '/queue/answers',
        type: 'order',
        JMSXGroupID: 'g1',
        'content-type': 'application/json',
        'x-custom': 'a:b',
        receipt: 'r-send',
      },
      '{"n":1}',
    );
    const [m, r] = (await c.nextSorted(2)) as [StompFrame, StompFrame];
    expect(r.headers.get('receipt-id')).toBe('r-send');
    expect(Object.fromEntries(m.headers)).toMatchObject({
      subscription: 's1',
      destination: `/queue/${q}`,
      persistent: 'true',
      priority: '7',
      expires: String(expires),
      'correlation-id': 'corr-1',
      'reply-to': '/queue/answers',
      type: 'order',
      JMSXGroupID: 'g1',
      'content-type': 'application/json',
      'x-custom': 'a:b',
      'content-length': '7',
    });
    expect(m.headers.get('message-id')).toMatch(/^ID:/);
    expect(m.headers.get('redelivered')).toBeUndefined();
    expect(m.body.toString()).toBe('{"n":1}');
  });

  it('a persistent SEND gets its RECEIPT only once the store has it', async () => {
    const c = await client();
    const q = unique('stored');
    c.send('SEND', { destination: `/queue/${q}`, persistent: 'true', receipt: 'r1' }, 'durable');
    await c.expect('RECEIPT');
    const page = await s.server.broker.store.readQueue(q, undefined, 10);
    expect(page.entries.map((e) => Buffer.from(e.message.body).toString())).toEqual(['durable']);
  });

  it('competing consumers on a queue get each message exactly once', async () => {
    const q = unique('/queue/work');
    const a = await client();
    const b = await client();
    a.send('SUBSCRIBE', { id: 'a', destination: q, 'activemq.prefetchSize': '1', ack: 'client-individual' });
    b.send('SUBSCRIBE', { id: 'b', destination: q, 'activemq.prefetchSize': '1', ack: 'client-individual', receipt: 'ok' });
    await b.expect('RECEIPT');
    const p = await client();
    for (let i = 0; i < 20; i++) p.send('SEND', { destination: q }, `job-${i}`);
    const got: string[] = [];
    const work = async (c: RawStomp): Promise<void> => {
      for (;;) {
        const m = await c.next(300).catch(() => undefined);
        if (!m) return;
        got.push(m.body.toString());
        c.send('ACK', { id: m.headers.get('ack')! });
      }
    };
    await Promise.all([work(a), work(b)]);
    expect(got.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `job-${i}`).sort());
  });

  it('fans a topic message out to every subscriber, wildcards included', async () => {
    const t = unique('prices');
    const subs = await Promise.all([client(), client(), client()]);
    subs[0]!.send('SUBSCRIBE', { id: '1', destination: `/topic/${t}.eur`, receipt: 'r' });
    subs[1]!.send('SUBSCRIBE', { id: '1', destination: `/topic/${t}.*`, receipt: 'r' });
    subs[2]!.send('SUBSCRIBE', { id: '1', destination: `/topic/${t}.>`, receipt: 'r' });
    for (const c of subs) await c.expect('RECEIPT');
    const p = await client();
    p.send('SEND', { destination: `/topic/${t}.eur` }, '1.08');
    for (const c of subs) expect((await c.expect('MESSAGE')).body.toString()).toBe('1.08');
  });

  it('a durable subscription receives what was sent while it was offline', async () => {
    const t = `/topic/${unique('audit')}`;
    const first = await client({ 'client-id': 'auditor' });
    first.send('SUBSCRIBE', { id: 'd', destination: t, 'activemq.subscriptionName': 'log', receipt: 'r' });
    await first.expect('RECEIPT');
    first.close();
    await first.closed;
    const p = await client();
    p.send('SEND', { destination: t, persistent: 'true', receipt: 'r' }, 'while away');
    await p.expect('RECEIPT');
    const again = await client({ 'client-id': 'auditor' });
    again.send('SUBSCRIBE', { id: 'd', destination: t, 'activemq.subscriptionName': 'log' });
    expect((await again.expect('MESSAGE')).body.toString()).toBe('while away');
    // UNSUBSCRIBE with the subscription name removes it for good.
    again.send('UNSUBSCRIBE', { id: 'd', 'activemq.subscriptionName': 'log', receipt: 'gone' });
    await again.expect('RECEIPT');
    expect(s.server.broker.listSubscriptions().some((x) => x.subscriptionName === 'log')).toBe(false);
  });

  it("filters with a selector (the selector header or ActiveMQ's activemq.selector)", async () => {
    const t = `/topic/${unique('sel')}`;
    const a = await client();
    const b = await client();
    // STOMP headers are strings (as in ActiveMQ), so selectors compare them as strings.
    a.send('SUBSCRIBE', { id: '1', destination: t, selector: "region = 'eu' AND tier IN ('gold', 'platinum')", receipt: 'r' });
    b.send('SUBSCRIBE', { id: '1', destination: t, 'activemq.selector': "region = 'eu' AND tier IN ('gold', 'platinum')", receipt: 'r' });
    await a.expect('RECEIPT');
    await b.expect('RECEIPT');
    a.send('SEND', { destination: t, region: 'us', tier: 'gold' }, 'us');
    a.send('SEND', { destination: t, region: 'eu', tier: 'basic' }, 'basic');
    a.send('SEND', { destination: t, region: 'eu', tier: 'gold' }, 'match');
    expect((await a.expect('MESSAGE')).body.toString()).toBe('match');
    expect((await b.expect('MESSAGE')).body.toString()).toBe('match');
  });

  it("compares header strings with numbers as ActiveMQ's STOMP transport does (convert_string_expressions)", async () => {
    const q = `/queue/${unique('weights')}`;
    const c = await client();
    c.send('SUBSCRIBE', { id: '1', destination: q, selector: 'weight > 5 AND express = true', receipt: 'r' });
    await c.expect('RECEIPT');
    c.send('SEND', { destination: q, weight: '3', express: 'true' }, 'light');
    c.send('SEND', { destination: q, weight: '10', express: 'false' }, 'slow');
    c.send('SEND', { destination: q, weight: '10', express: 'true' }, 'heavy');
    c.send('SEND', { destination: q, weight: 'n/a', express: 'true' }, 'unknown');
    expect((await c.expect('MESSAGE')).body.toString()).toBe('heavy');
    const browse = await client();
    browse.send('SUBSCRIBE', { id: 'b', destination: q, browser: 'true', selector: 'convert_string_expressions:weight < 5' });
    expect((await browse.expect('MESSAGE')).body.toString()).toBe('light');
  });

  it("repeats a message with ActiveMQ's AMQ_SCHEDULED_REPEAT and AMQ_SCHEDULED_PERIOD headers", async () => {
    const q = `/queue/${unique('repeat')}`;
    const c = await client();
    c.send('SUBSCRIBE', { id: '1', destination: q, receipt: 'r' });
    await c.expect('RECEIPT');
    c.send('SEND', { destination: q, AMQ_SCHEDULED_REPEAT: '2', AMQ_SCHEDULED_PERIOD: '50', receipt: 's' }, 'poll the sensor');
    await c.expect('RECEIPT');
    const got = [await c.expect('MESSAGE'), await c.expect('MESSAGE'), await c.expect('MESSAGE')];
    expect(got.map((f) => f.body.toString())).toEqual(['poll the sensor', 'poll the sensor', 'poll the sensor']);
    expect(new Set(got.map((f) => f.headers.get('message-id'))).size).toBe(3);
    expect(got[0]!.headers.has('AMQ_SCHEDULED_REPEAT')).toBe(false);
  });

  it('carries a binary body with NUL bytes and a 1 MB body byte for byte', async () => {
    const q = unique('/queue/bin');
    const c = await client();
    c.send('SUBSCRIBE', { id: '1', destination: q });
    const bin = Buffer.from([0, 1, 0, 255, 0, 0, 7]);
    const big = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) % 256;
    c.send('SEND', { destination: q }, bin);
    c.send('SEND', { destination: q }, big);
    expect((await c.expect('MESSAGE')).body).toEqual(bin);
    expect(Buffer.compare((await c.expect('MESSAGE')).body, big)).toBe(0);
  });

  it('sends to every destination of a composite, queues and topics alike', async () => {
    const [q1, q2, t] = [unique('comp'), unique('comp'), unique('comp')];
    const c = await client();
    c.send('SUBSCRIBE', { id: 't', destination: `/topic/${t}`, receipt: 'r' });
    await c.expect('RECEIPT');
    c.send('SEND', { destination: `/queue/${q1},/queue/${q2},/topic/${t}`, persistent: 'true', receipt: 'r' }, 'everywhere');
    const frames = [await c.next(), await c.next()];
    expect(frames.map((f) => f.command).sort()).toEqual(['MESSAGE', 'RECEIPT']);
    expect(s.server.broker.getQueue(q1)?.messages).toBe(1);
    expect(s.server.broker.getQueue(q2)?.messages).toBe(1);
  });

  it('request/reply through a temporary queue: reply-to names it so another connection can answer', async () => {
    const requester = await client();
    const service = await client();
    const q = unique('/queue/service');
    service.send('SUBSCRIBE', { id: 'svc', destination: q, receipt: 'r' });
    await service.expect('RECEIPT');
    requester.send('SUBSCRIBE', { id: 'replies', destination: '/temp-queue/replies', receipt: 'r' });
    await requester.expect('RECEIPT');
    requester.send('SEND', { destination: q, 'reply-to': '/temp-queue/replies' }, 'ping');
    const req = await service.expect('MESSAGE');
    const replyTo = req.headers.get('reply-to')!;
    expect(replyTo).toMatch(/^\/remote-temp-queue\/TEMP\./);
    service.send('SEND', { destination: replyTo }, 'pong');
    expect((await requester.expect('MESSAGE')).body.toString()).toBe('pong');
    // Only the owner may consume it.
    service.send('SUBSCRIBE', { id: 'steal', destination: replyTo });
    expect((await service.expect('ERROR')).headers.get('message')).toMatch(/can only be consumed by the connection that created it/);
  });

  it('a temporary topic reaches its subscribers and is named for replies as a remote temp topic', async () => {
    const c = await client();
    c.send('SUBSCRIBE', { id: 't', destination: '/temp-topic/news', receipt: 'r' });
    await c.expect('RECEIPT');
    c.send('SEND', { destination: '/temp-topic/news', 'reply-to': '/temp-topic/news' }, 'flash');
    const m = await c.expect('MESSAGE');
    expect(m.body.toString()).toBe('flash');
    expect(m.headers.get('destination')).toMatch(/^\/remote-temp-topic\/TEMP\.TOPIC\./);
    expect(m.headers.get('reply-to')).toBe(m.headers.get('destination'));
  });

  it('an exclusive consumer gets every message while it is attached', async () => {
    const q = unique('/queue/excl');
    const shared = await client();
    const exclusive = await client();
    shared.send('SUBSCRIBE', { id: '1', destination: q, receipt: 'r' });
    await shared.expect('RECEIPT');
    exclusive.send('SUBSCRIBE', { id: '1', destination: q, 'activemq.exclusive': 'true', receipt: 'r' });
    await exclusive.expect('RECEIPT');
    for (let i = 0; i < 5; i++) exclusive.send('SEND', { destination: q }, `m${i}`);
    for (let i = 0; i < 5; i++) expect((await exclusive.expect('MESSAGE')).body.toString()).toBe(`m${i}`);
    await expect(shared.next(200)).rejects.toThrow(/no frame/);
  });

  it('noLocal keeps a connection from hearing its own topic messages', async () => {
    const t = `/topic/${unique('chat')}`;
    const a = await client();
    const b = await client();
    a.send('SUBSCRIBE', { id: '1', destination: t, 'activemq.noLocal': 'true', receipt: 'r' });
    await a.expect('RECEIPT');
    a.send('SEND', { destination: t }, 'from a');
    b.send('SEND', { destination: t }, 'from b');
    expect((await a.expect('MESSAGE')).body.toString()).toBe('from b');
  });

  it('schedules a message with AMQ_SCHEDULED_DELAY', async () => {
    const q = unique('/queue/later');
    const c = await client();
    c.send('SUBSCRIBE', { id: '1', destination: q });
    const sent = Date.now();
    c.send('SEND', { destination: q, AMQ_SCHEDULED_DELAY: '200' }, 'later');
    await c.expect('MESSAGE');
    expect(Date.now() - sent).toBeGreaterThanOrEqual(190);
  });
});

describe('STOMP: queue browsers (browser:true)', () => {
  it('see every message, paged-out ones included, with the selector applied, then browser:end; nothing is consumed', async () => {
    const small = await startStompServer({ destinations: { defaults: { pageWindowMessages: 5 } } });
    const c = await RawStomp.connect(small.port);
    try {
      for (let i = 0; i < 12; i++) {
        c.send('SEND', { destination: '/queue/browsed', persistent: 'true', n: String(i), receipt: `r${i}` }, `m${i}`);
        await c.expect('RECEIPT');
      }
      expect(small.server.broker.getQueue('browsed')).toMatchObject({ messages: 12, paged: 7 });
      c.send('SUBSCRIBE', { id: 'look', destination: '/queue/browsed', browser: 'true', selector: "n <> '3'" });
      const frames: StompFrame[] = [];
      let f = await c.expect('MESSAGE');
      for (; !f.headers.has('browser'); f = await c.expect('MESSAGE')) frames.push(f);
      const end = f;
      expect(frames.map((f) => f.body.toString())).toEqual(['m0', 'm1', 'm2', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9', 'm10', 'm11']);
      expect(frames.every((f) => f.headers.get('subscription') === 'look')).toBe(true);
      expect(Object.fromEntries(end.headers)).toMatchObject({ subscription: 'look', browser: 'end', destination: '/queue/browsed' });
      expect(end.body.length).toBe(0);
      expect(small.server.broker.getQueue('browsed')).toMatchObject({ messages: 12, inflight: 0, stats: { dispatched: 0 } });
      // A consumer still gets all twelve.
      c.send('SUBSCRIBE', { id: 'take', destination: '/queue/browsed' });
      const taken: string[] = [];
      for (let i = 0; i < 12; i++) taken.push((await c.expect('MESSAGE')).body.toString());
      expect(taken).toEqual(Array.from({ length: 12 }, (_, i) => `m${i}`));
    } finally {
      c.close();
      await small.stop();
    }
  });

  it('refuses browser:true on a topic with an ERROR', async () => {
    const c = await client();
    c.send('SUBSCRIBE', { id: 'b', destination: '/topic/news', browser: 'true' });
    expect((await c.expect('ERROR')).headers.get('message')).toMatch(/browser:true needs one queue destination/);
  });
});

describe('STOMP: duplicate detection (_AMQ_DUPL_ID)', () => {
  it('a repeated _AMQ_DUPL_ID is acknowledged but not routed again; the header reaches the consumer', async () => {
    const c = await client();
    const q = `/queue/${unique('dedup')}`;
    const send = async (body: string, id: string, receipt: string): Promise<void> => {
      c.send('SEND', { destination: q, persistent: 'true', _AMQ_DUPL_ID: id, receipt }, body);
      expect((await c.expect('RECEIPT')).headers.get('receipt-id')).toBe(receipt);
    };
    await send('first', 'order-7', 'r1');
    await send('first, sent again', 'order-7', 'r2');
    await send('second', 'order-8', 'r3');
    expect(s.server.broker.getQueue(q.slice('/queue/'.length))).toMatchObject({ messages: 2, stats: { enqueued: 2 } });
    c.send('SUBSCRIBE', { id: '0', destination: q });
    const [a, b] = [await c.expect('MESSAGE'), await c.expect('MESSAGE')];
    expect([a.body.toString(), a.headers.get('_AMQ_DUPL_ID')]).toEqual(['first', 'order-7']);
    expect([b.body.toString(), b.headers.get('_AMQ_DUPL_ID')]).toEqual(['second', 'order-8']);
  });
});

describe('STOMP over WebSocket', () => {
  it('sends each frame in a WebSocket message of its own, also when many leave in one turn', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${s.wsPort}/`, ['v12.stomp']);
    const messages: string[] = [];
    const framesIn = (m: string): string[] => m.split('\0').filter((f) => f.trim() !== '');
    const count = (command: string): number => messages.flatMap(framesIn).filter((f) => f.startsWith(command)).length;
    // Five deliveries and six receipts (five sends, one subscription).
    const allIn = new Promise<void>((resolve) => {
      ws.on('message', (d: Buffer) => {
        messages.push(d.toString());
        if (count('MESSAGE') === 5 && count('RECEIPT') === 6) resolve();
      });
    });
    try {
      await once(ws, 'open');
      const frame = (command: string, headers: Record<string, string>, body = ''): string =>
        `${command}\n${Object.entries(headers)
          .map(([k, v]) => `${k}:${v}\n`)
          .join('')}\n${body}\0`;
      const q = `/queue/${unique('ws.frames')}`;
      ws.send(frame('CONNECT', { 'accept-version': '1.2', host: 'x' }));
      // Five sends with receipts and a subscription, all in one WebSocket message: the broker
      // answers with receipts and deliveries written in the same turns.
      const sends = [1, 2, 3, 4, 5].map((i) => frame('SEND', { destination: q, receipt: `r${i}` }, `m${i}`)).join('');
      ws.send(sends + frame('SUBSCRIBE', { id: '0', destination: q, receipt: 'sub' }));
      await allIn;
      expect(messages.map((m) => framesIn(m).length)).toEqual(messages.map(() => 1));
    } finally {
      ws.close();
    }
  });
});

describe('STOMP: acknowledgement', () => {
  it('client mode acks cumulatively; client-individual acks one; unacked messages return when the connection closes', async () => {
    const q = unique('/queue/acks');
    const p = await client();
    for (let i = 0; i < 4; i++) p.send('SEND', { destination: q }, `m${i}`);
    const c = await client();
    c.send('SUBSCRIBE', { id: '1', destination: q, ack: 'client' });
    const ms = [await c.next(), await c.next(), await c.next(), await c.next()];
    c.send('ACK', { id: ms[2]!.headers.get('ack')!, receipt: 'r' }); // acks m0..m2
    await c.expect('RECEIPT');
    c.close();
    await c.closed;
    const d = await client();
    d.send('SUBSCRIBE', { id: '1', destination: q, ack: 'client-individual' });
    const back = await d.expect('MESSAGE');
    expect(back.body.toString()).toBe('m3');
    expect(back.headers.get('redelivered')).toBe('true');
  });

  it('DISCONNECT: RECEIPT once earlier SENDs are stored, then the connection closes and unacked messages return', async () => {
    const q = unique('/queue/bye');
    const c = await client();
    c.send('SUBSCRIBE', { id: '1', destination: q, ack: 'client-individual', 'activemq.prefetchSize': '1' });
    c.send('SEND', { destination: q, persistent: 'true' }, 'held');
    await c.expect('MESSAGE');
    c.send('SEND', { destination: q, persistent: 'true' }, 'last');
    c.send('DISCONNECT', { receipt: 'bye' });
    expect((await c.expect('RECEIPT')).headers.get('receipt-id')).toBe('bye');
    await c.closed;
    const d = await client();
    d.send('SUBSCRIBE', { id: '1', destination: q });
    const back = [await d.expect('MESSAGE'), await d.expect('MESSAGE')];
    expect(back.map((m) => [m.body.toString(), m.headers.get('redelivered')])).toEqual([
      ['held', 'true'],
      ['last', undefined],
    ]);
  });

  it('1.0 and 1.1 clients ack by message-id (1.1 with subscription)', async () => {
    for (const version of ['1.0', '1.1']) {
      const q = unique('/queue/old');
      const c = await client({ 'accept-version': version });
      c.send('SUBSCRIBE', { id: 'sub-x', destination: q, ack: 'client' });
      c.send('SEND', { destination: q }, 'hello');
      const m = await c.expect('MESSAGE');
      expect(m.headers.get('ack')).toBeUndefined();
      const ack: Record<string, string> = { 'message-id': m.headers.get('message-id')!, receipt: 'r' };
      if (version === '1.1') ack.subscription = 'sub-x';
      c.send('ACK', ack);
      await c.expect('RECEIPT');
      expect(s.server.broker.getQueue(q.slice(7))?.messages).toBe(0);
    }
  });

  it('NACK redelivers through the redelivery policy and dead-letters after maxDeliveries', async () => {
    const name = unique('poison');
    const c = await client();
    c.send('SUBSCRIBE', { id: '1', destination: `/queue/${name}`, ack: 'client-individual' });
    c.send('SEND', { destination: `/queue/${name}`, persistent: 'true' }, 'bad');
    for (let i = 0; i < 3; i++) {
      const m = await c.expect('MESSAGE');
      expect(m.headers.get('redelivered')).toBe(i === 0 ? undefined : 'true');
      c.send('NACK', { id: m.headers.get('ack')! });
    }
    c.send('SUBSCRIBE', { id: 'dlq', destination: `/queue/DLQ.${name}` });
    const dead = await c.expect('MESSAGE');
    expect(dead.body.toString()).toBe('bad');
    expect(dead.headers.get('dlqDeliveryFailureCause')).toMatch(/delivery failed 3 times/);
    expect(dead.headers.get('originalDestination')).toBe(`queue://${name}`);
  });

  it('an ACK naming nothing unacknowledged is an ERROR', async () => {
    const c = await client();
    c.send('ACK', { id: 'nope' });
    expect((await c.expect('ERROR')).headers.get('message')).toBe('ACK names no unacknowledged message: "nope"');
  });
});

/** A memory store whose writes can be held back, to order a store write after a client's close. */
class GatedStore extends MemoryStore {
  private gate: Promise<void> | undefined;
  private unblock: (() => void) | undefined;

  hold(): void {
    this.gate = new Promise((resolve) => (this.unblock = resolve));
  }

  letGo(): void {
    this.unblock?.();
    this.gate = undefined;
  }

  override async apply(ops: readonly StoreOp[]): Promise<void> {
    if (this.gate) await this.gate;
    return super.apply(ops);
  }
}

describe('STOMP: acknowledgements just before the end', () => {
  /** A client-individual subscriber that has received one message of a fresh queue. */
  async function holding(q: string): Promise<{ c: RawStomp; ack: string }> {
    const c = await client();
    c.send('SEND', { destination: `/queue/${q}`, persistent: 'true', receipt: 'sent' }, 'work');
    await c.expect('RECEIPT');
    c.send('SUBSCRIBE', { id: 's', destination: `/queue/${q}`, ack: 'client-individual' });
    const m = await c.expect('MESSAGE');
    return { c, ack: m.headers.get('ack')! };
  }

  it('an ACK followed by DISCONNECT is applied: the message is gone, not redelivered', async () => {
    const q = unique('ack-disconnect');
    const { c, ack } = await holding(q);
    c.send('ACK', { id: ack });
    c.send('DISCONNECT', { receipt: 'bye' });
    await c.expect('RECEIPT');
    expect(s.server.broker.getQueue(q)).toMatchObject({ messages: 0, stats: { acked: 1, redelivered: 0 } });
  });

  it('an ACK followed at once by closing the socket is applied', async () => {
    const q = unique('ack-close');
    const { c, ack } = await holding(q);
    c.send('ACK', { id: ack });
    c.socket.end();
    await c.closed;
    expect(s.server.broker.getQueue(q)).toMatchObject({ messages: 0, stats: { acked: 1, redelivered: 0 } });
  });

  it('an ACK queued behind a COMMIT still storing, then a socket close, is applied too', async () => {
    // The COMMIT's store write is held until the broker has handled the close.
    const store = new GatedStore();
    const captured = new CapturedLog();
    const gated = await startStompServer({}, store, captured.log);
    const c = await RawStomp.connect(gated.port);
    try {
      c.send('SEND', { destination: '/queue/held', persistent: 'true', receipt: 'sent' }, 'work');
      await c.expect('RECEIPT');
      c.send('SUBSCRIBE', { id: 's', destination: '/queue/held', ack: 'client-individual' });
      const ack = (await c.expect('MESSAGE')).headers.get('ack')!;
      store.hold();
      c.send('BEGIN', { transaction: 't' });
      c.send('SEND', { destination: '/queue/held.out', persistent: 'true', transaction: 't' }, 'result');
      c.send('COMMIT', { transaction: 't' });
      c.send('ACK', { id: ack });
      c.socket.end();
      await captured.waitFor((l) => l.msg === 'stomp connection closed');
      store.letGo();
      await gated.server.broker.flush();
      expect(gated.server.broker.getQueue('held')).toMatchObject({ messages: 0, stats: { acked: 1, redelivered: 0 } });
    } finally {
      c.close();
      await gated.stop();
    }
  });
});

describe('STOMP: transactions', () => {
  it('SENDs and ACKs in a transaction take effect together at COMMIT', async () => {
    const q = unique('/queue/tx');
    const out = unique('/queue/txout');
    const c = await client();
    c.send('SEND', { destination: q }, 'in');
    c.send('SUBSCRIBE', { id: '1', destination: q, ack: 'client-individual' });
    const m = await c.expect('MESSAGE');
    c.send('BEGIN', { transaction: 't1' });
    c.send('SEND', { destination: out, transaction: 't1' }, 'result');
    c.send('ACK', { id: m.headers.get('ack')!, transaction: 't1', receipt: 'before-commit' });
    await c.expect('RECEIPT');
    expect(s.server.broker.getQueue(out.slice(7))?.messages ?? 0).toBe(0);
    expect(s.server.broker.getQueue(q.slice(7))?.messages).toBe(1);
    c.send('COMMIT', { transaction: 't1', receipt: 'committed' });
    await c.expect('RECEIPT');
    expect(s.server.broker.getQueue(out.slice(7))?.messages).toBe(1);
    expect(s.server.broker.getQueue(q.slice(7))?.messages).toBe(0);
  });

  it('a message acked in a transaction frees its place in the prefetch window before COMMIT', async () => {
    const q = unique('/queue/txwindow');
    const c = await client();
    for (const body of ['one', 'two']) c.send('SEND', { destination: q, persistent: 'true' }, body);
    c.send('SUBSCRIBE', { id: '1', destination: q, ack: 'client-individual', 'activemq.prefetchSize': '1' });
    const first = await c.expect('MESSAGE');
    c.send('BEGIN', { transaction: 'tw' });
    c.send('ACK', { id: first.headers.get('ack')!, transaction: 'tw' });
    const second = await c.expect('MESSAGE');
    expect([first.body.toString(), second.body.toString()]).toEqual(['one', 'two']);
    c.send('ACK', { id: second.headers.get('ack')!, transaction: 'tw' });
    c.send('COMMIT', { transaction: 'tw', receipt: 'done' });
    await c.expect('RECEIPT');
    expect(s.server.broker.getQueue(q.slice(7))?.messages).toBe(0);
  });

  it('ABORT drops the sends and returns the acked messages', async () => {
    const q = unique('/queue/tx');
    const out = unique('/queue/txout');
    const c = await client();
    c.send('SEND', { destination: q }, 'in');
    c.send('SUBSCRIBE', { id: '1', destination: q, ack: 'client-individual' });
    const m = await c.expect('MESSAGE');
    c.send('BEGIN', { transaction: 't2' });
    c.send('SEND', { destination: out, transaction: 't2' }, 'result');
    c.send('ACK', { id: m.headers.get('ack')!, transaction: 't2' });
    c.send('ABORT', { transaction: 't2', receipt: 'aborted' });
    const [again] = (await c.nextSorted(2)) as [StompFrame, StompFrame];
    expect(again.body.toString()).toBe('in');
    expect(again.headers.get('redelivered')).toBe('true');
    expect(s.server.broker.getQueue(out.slice(7))?.messages ?? 0).toBe(0);
  });

  it('a transaction past limits.maxTransactionMessages gets an ERROR, and nothing of it is kept', async () => {
    const small = await startStompServer({ limits: { maxTransactionMessages: 2 } });
    const c = await RawStomp.connect(small.port);
    const out = unique('/queue/txcap');
    try {
      c.send('BEGIN', { transaction: 'big' });
      for (let i = 0; i < 3; i++) c.send('SEND', { destination: out, transaction: 'big' }, `m${i}`);
      const err = await c.expect('ERROR');
      expect(err.headers.get('message')).toMatch(/at most 2 messages \(limits.maxTransactionMessages\)/);
      await c.closed;
      expect(small.server.broker.getQueue(out.slice(7))?.messages ?? 0).toBe(0);
    } finally {
      c.close();
      await small.stop();
    }
  });

  it('refuses an unknown transaction', async () => {
    const c = await client();
    c.send('COMMIT', { transaction: 'never-begun' });
    expect((await c.expect('ERROR')).headers.get('message')).toBe('No transaction "never-begun" has begun on this connection');
  });
});

describe('STOMP: bad input', () => {
  it('a malformed frame gets an ERROR and a closed connection; other connections keep working', async () => {
    const bystander = await client();
    const q = unique('/queue/calm');
    bystander.send('SUBSCRIBE', { id: '1', destination: q });
    for (const junk of [
      'HELLO\n\n\0',
      'SEND\ndestination:/queue/x\nbad header\n\n\0',
      'SEND\ncontent-length:zz\n\n\0',
      'SEND\nx:\\q\n\n\0',
    ]) {
      const c = await client();
      c.write(junk);
      const err = await c.expect('ERROR');
      expect(err.headers.get('message')).toMatch(/Unknown command|without a colon|not a byte count|undefined escape/);
      await c.closed;
    }
    bystander.send('SEND', { destination: q }, 'fine');
    expect((await bystander.expect('MESSAGE')).body.toString()).toBe('fine');
  });

  it('an oversized body gets an ERROR naming the limit, and nothing of it is queued', async () => {
    const small = await startStompServer({ stomp: { maxBodyBytes: 1024 } });
    try {
      const c = await RawStomp.connect(small.port);
      c.send('SEND', { destination: '/queue/big' }, Buffer.alloc(2048, 1));
      expect((await c.expect('ERROR')).headers.get('message')).toBe('Frame SEND: body larger than 1024 bytes');
      await c.closed;
      expect(small.server.broker.getQueue('big')).toBeUndefined();
    } finally {
      await small.stop();
    }
  });

  it('a bad header value or destination is an ERROR with a readable message', async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ destination: '/queue/x', priority: '12' }, /priority must be an integer from 0 to 9/],
      [{ destination: '/exchange/x' }, /Unknown destination type in "\/exchange\/x"/],
      [{}, /SEND needs a destination header/],
      [{ destination: '/queue/a.*' }, /Wildcard "\*" is only allowed in subscriptions/],
    ];
    for (const [headers, message] of cases) {
      const c = await client();
      c.send('SEND', headers, 'x');
      expect((await c.expect('ERROR')).headers.get('message')).toMatch(message);
    }
  });
});

describe('STOMP: security', () => {
  let secure: StompTestServer;
  beforeAll(async () => {
    secure = await startStompServer({
      security: {
        users: [
          { username: 'app', passwordHash: await hashPassword('app-pw'), groups: ['apps'] },
          { username: 'admin', passwordHash: await hashPassword('admin-pw'), groups: ['admins'] },
        ],
        authorization: [
          { queue: '>', read: ['admins'], write: ['admins'], admin: ['admins'] },
          { queue: 'orders.>', read: ['apps'], write: ['apps'], admin: ['apps'] },
        ],
      },
    });
  });
  afterAll(async () => {
    await secure?.stop();
  });

  it('authenticates on CONNECT and refuses bad credentials with an ERROR', async () => {
    const bad = await RawStomp.open(secure.port);
    bad.send('CONNECT', { 'accept-version': '1.2', login: 'app', passcode: 'wrong' });
    expect((await bad.expect('ERROR')).headers.get('message')).toBe('Bad username or password');
    await bad.closed;
    const anon = await RawStomp.open(secure.port);
    anon.send('CONNECT', { 'accept-version': '1.2' });
    expect((await anon.expect('ERROR')).headers.get('message')).toMatch(/Authentication required/);
    await anon.closed;
  });

  it('authorizes SEND and SUBSCRIBE per destination', async () => {
    const c = await RawStomp.connect(secure.port, { login: 'app', passcode: 'app-pw' });
    open.push(c);
    c.send('SEND', { destination: '/queue/orders.new', receipt: 'ok' }, 'allowed');
    await c.expect('RECEIPT');
    c.send('SUBSCRIBE', { id: '1', destination: '/queue/payroll' });
    expect((await c.expect('ERROR')).headers.get('message')).toMatch(/not authorized|may not/i);
    await c.closed;
    const d = await RawStomp.connect(secure.port, { login: 'app', passcode: 'app-pw' });
    open.push(d);
    d.send('SEND', { destination: '/queue/payroll' }, 'nope');
    expect((await d.expect('ERROR')).headers.get('message')).toMatch(/not authorized|may not/i);
  });

  it('a composite SEND with one refused part stores none of it, persistent or not, whichever part comes first', async () => {
    const watcher = await RawStomp.connect(secure.port, { login: 'app', passcode: 'app-pw' });
    open.push(watcher);
    watcher.send('SUBSCRIBE', { id: 'w', destination: '/queue/orders.composite', receipt: 'w' });
    await watcher.expect('RECEIPT');
    for (const [destination, persistent] of [
      ['/queue/orders.composite,/queue/payroll', 'true'],
      ['/queue/payroll,/queue/orders.composite', 'true'],
      ['/queue/orders.composite,/queue/payroll', 'false'],
    ] as const) {
      const c = await RawStomp.connect(secure.port, { login: 'app', passcode: 'app-pw' });
      open.push(c);
      c.send('SEND', { destination, persistent, receipt: 'r' }, 'all or nothing');
      expect((await c.expect('ERROR')).headers.get('message')).toMatch(/not authorized|may not/i);
      await c.closed;
    }
    // An allowed SEND after them is the first message the watcher sees.
    const ok = await RawStomp.connect(secure.port, { login: 'app', passcode: 'app-pw' });
    open.push(ok);
    ok.send('SEND', { destination: '/queue/orders.composite', receipt: 'r' }, 'the only one');
    await ok.expect('RECEIPT');
    expect((await watcher.expect('MESSAGE')).body.toString()).toBe('the only one');
    expect(secure.server.broker.getQueue('orders.composite')?.stats.enqueued).toBe(1);
  });

  it('serves STOMP over TLS on its TLS port', async () => {
    const c = await RawStomp.connect(secure.tlsPort, { login: 'admin', passcode: 'admin-pw' }, { tls: secure.cert });
    open.push(c);
    c.send('SUBSCRIBE', { id: '1', destination: '/queue/secret' });
    c.send('SEND', { destination: '/queue/secret' }, 'over tls');
    expect((await c.expect('MESSAGE')).body.toString()).toBe('over tls');
  });
});

describe('STOMP: store trouble', () => {
  it('a persistent SEND that cannot be stored gets an ERROR, never a RECEIPT', async () => {
    const redis = await startRedis();
    const srv = await startStompServer({}, failFastStore(redis.url, 'stomp'));
    try {
      const c = await RawStomp.connect(srv.port);
      await redis.stop();
      c.send('SEND', { destination: '/queue/lost', persistent: 'true', receipt: 'r' }, 'not stored');
      const err = await c.expect('ERROR');
      expect(err.headers.get('message')).toMatch(/^Redis is unavailable/);
      expect(err.body.toString()).toBe('code: store-unavailable');
      await c.closed;
    } finally {
      await srv.stop();
      await redis.stop();
    }
  });
});

describe('STOMP on Redis across a broker restart', () => {
  it("a persistent message's _AMQ_DUPL_ID is still known after a restart: the repeat is acknowledged, not routed", async () => {
    const redis = await startRedis();
    const store = (epoch: number): RedisStore => new RedisStore({ url: redis.url, cluster: 'stomp-dedup', epoch });
    let srv = await startStompServer({}, store(1));
    try {
      const a = await RawStomp.connect(srv.port);
      a.send('SEND', { destination: '/queue/payments', persistent: 'true', _AMQ_DUPL_ID: 'pay-1', receipt: 'r1' }, 'pay once');
      await a.expect('RECEIPT');
      a.close();
      await srv.stop();

      srv = await startStompServer({}, store(2));
      const b = await RawStomp.connect(srv.port);
      b.send('SEND', { destination: '/queue/payments', persistent: 'true', _AMQ_DUPL_ID: 'pay-1', receipt: 'r2' }, 'pay once (retry)');
      expect((await b.expect('RECEIPT')).headers.get('receipt-id')).toBe('r2');
      expect(srv.server.broker.getQueue('payments')).toMatchObject({ messages: 1, stats: { enqueued: 0 } });
      b.send('SUBSCRIBE', { id: 'q', destination: '/queue/payments' });
      expect((await b.expect('MESSAGE')).body.toString()).toBe('pay once');
      b.close();
    } finally {
      await srv.stop();
      await redis.stop();
    }
  });

  it("persistent queue messages and a durable subscription's backlog survive; unacked ones come back redelivered", async () => {
    const redis = await startRedis();
    const store = (epoch: number): RedisStore => new RedisStore({ url: redis.url, cluster: 'stomp-restart', epoch });
    let srv = await startStompServer({}, store(1));
    try {
      const a = await RawStomp.connect(srv.port, { 'client-id': 'app' });
      a.send('SUBSCRIBE', { id: 'd', destination: '/topic/events', 'activemq.subscriptionName': 'keep', receipt: 'r' });
      await a.expect('RECEIPT');
      a.send('UNSUBSCRIBE', { id: 'd', receipt: 'r' });
      await a.expect('RECEIPT');
      a.send('SEND', { destination: '/queue/orders', persistent: 'true' }, 'order-1');
      a.send('SEND', { destination: '/queue/orders', persistent: 'true' }, 'order-2');
      a.send('SEND', { destination: '/topic/events', persistent: 'true', receipt: 'stored' }, 'event-1');
      await a.expect('RECEIPT');
      a.send('SUBSCRIBE', { id: 'q', destination: '/queue/orders', ack: 'client-individual', 'activemq.prefetchSize': '1' });
      expect((await a.expect('MESSAGE')).body.toString()).toBe('order-1'); // left unacknowledged
      await srv.stop();
      a.close();

      srv = await startStompServer({}, store(2));
      const b = await RawStomp.connect(srv.port, { 'client-id': 'app' });
      b.send('SUBSCRIBE', { id: 'q', destination: '/queue/orders', ack: 'client-individual' });
      const [first, second] = [await b.expect('MESSAGE'), await b.expect('MESSAGE')];
      expect([first.body.toString(), first.headers.get('redelivered')]).toEqual(['order-1', 'true']);
      expect([second.body.toString(), second.headers.get('redelivered')]).toEqual(['order-2', undefined]);
      b.send('SUBSCRIBE', { id: 'd', destination: '/topic/events', 'activemq.subscriptionName': 'keep' });
      expect((await b.expect('MESSAGE')).body.toString()).toBe('event-1');
      b.close();
    } finally {
      await srv.stop();
      await redis.stop();
    }
  });
});
