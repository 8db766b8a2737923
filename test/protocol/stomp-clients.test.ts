// Independent STOMP clients against the adapter: stompit over TCP, @stomp/stompjs over WebSocket,
// and Debian's python3-stomp (stomp.py). Each connects, sends, subscribes, acks, nacks and runs a
// transaction.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, type IMessage } from '@stomp/stompjs';
import stompit from 'stompit';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Collector } from '../helpers/collector.ts';
import { startStompServer, type StompTestServer } from '../helpers/stomp.ts';

let s: StompTestServer;
beforeAll(async () => {
  s = await startStompServer();
});
afterAll(async () => {
  await s?.stop();
});

/** stompit's messages carry their headers at run time; @types/stompit leaves them out. */
const headersOf = (m: stompit.Client.Message): Record<string, string> => (m as unknown as { headers: Record<string, string> }).headers;

describe('stompit (TCP)', () => {
  it('sends, subscribes, nacks, acks and runs transactions', async () => {
    const client = await new Promise<stompit.Client>((resolve, reject) =>
      stompit.connect({ host: '127.0.0.1', port: s.port, connectHeaders: { host: '/', 'accept-version': '1.2' } }, (err, c) =>
        err ? reject(err) : resolve(c),
      ),
    );
    try {
      const got = new Collector<{ body: string; message: stompit.Client.Message }>();
      client.subscribe({ destination: '/queue/stompit', ack: 'client-individual' }, (err, message) => {
        if (err) return;
        message.readString('utf-8', (e, body) => got.push({ body: body ?? '', message }));
      });
      const send = (body: string, headers: Record<string, string> = {}, via: { send: stompit.Client['send'] } = client): void => {
        const frame = via.send({ destination: '/queue/stompit', ...headers });
        frame.write(body);
        frame.end();
      };
      send('one', { persistent: 'true', 'x-from': 'stompit' });
      const first = await got.nth(1);
      expect(first.body).toBe('one');
      expect(headersOf(first.message)['x-from']).toBe('stompit');
      client.nack(first.message);
      const again = await got.nth(2);
      expect([again.body, headersOf(again.message).redelivered]).toEqual(['one', 'true']);
      client.ack(again.message);

      const tx = client.begin();
      send('committed', {}, tx);
      tx.commit();
      client.ack((await got.nth(3)).message);
      const aborted = client.begin();
      send('aborted', {}, aborted);
      aborted.abort();
      send('after');
      client.ack((await got.nth(4)).message);
      expect(got.items.map((x) => x.body)).toEqual(['one', 'one', 'committed', 'after']);
    } finally {
      await new Promise<void>((resolve) => client.disconnect(() => resolve()));
    }
  });
});

describe('@stomp/stompjs (WebSocket)', () => {
  it('sends, subscribes, nacks, acks and runs transactions over the shared WebSocket port', async () => {
    const client = new Client({
      webSocketFactory: () => new WebSocket(`ws://127.0.0.1:${s.wsPort}/`, ['v12.stomp', 'v11.stomp']),
      reconnectDelay: 0,
      heartbeatIncoming: 0,
      heartbeatOutgoing: 0,
      debug: () => {},
    });
    const connected = new Promise<void>((resolve, reject) => {
      client.onConnect = () => resolve();
      client.onStompError = (f) => reject(new Error(f.headers.message));
      client.onWebSocketError = () => reject(new Error('websocket error'));
    });
    client.activate();
    try {
      await connected;
      const got = new Collector<IMessage>();
      client.subscribe('/queue/stompjs', got.push, { ack: 'client-individual' });
      client.publish({ destination: '/queue/stompjs', body: 'one', headers: { persistent: 'true', 'x-from': 'stompjs' } });
      const first = await got.nth(1);
      expect([first.body, first.headers['x-from']]).toEqual(['one', 'stompjs']);
      first.nack();
      const again = await got.nth(2);
      expect([again.body, again.headers.redelivered]).toEqual(['one', 'true']);
      again.ack();

      const tx = client.begin();
      client.publish({ destination: '/queue/stompjs', body: 'committed', headers: { transaction: tx.id } });
      tx.commit();
      (await got.nth(3)).ack();
      const aborted = client.begin();
      client.publish({ destination: '/queue/stompjs', body: 'aborted', headers: { transaction: aborted.id } });
      aborted.abort();
      client.publish({ destination: '/queue/stompjs', body: 'after' });
      (await got.nth(4)).ack();
      expect(got.items.map((m) => m.body)).toEqual(['one', 'one', 'committed', 'after']);
      // Binary bodies cross the WebSocket untouched.
      const bin = new Uint8Array([0, 1, 2, 0, 255]);
      const raw = new Collector<IMessage>();
      client.subscribe('/queue/stompjs.bin', raw.push);
      client.publish({ destination: '/queue/stompjs.bin', binaryBody: bin });
      expect(Buffer.from((await raw.nth(1)).binaryBody)).toEqual(Buffer.from(bin));
    } finally {
      await client.deactivate();
    }
  });
});

describe('python3-stomp (stomp.py)', () => {
  it('sends, subscribes, nacks, acks and runs transactions', async () => {
    const script = join(import.meta.dirname, '../fixtures/stomp_py_client.py');
    const { stdout } = await promisify(execFile)('/usr/bin/python3', [script, String(s.port), 'python'], { timeout: 20_000 });
    const out = JSON.parse(stdout) as { bodies: string[]; redelivered: Array<string | null>; custom: string };
    expect(out.bodies).toEqual(['one', 'one', 'committed', 'after']);
    expect(out.redelivered).toEqual([null, 'true', null, null]);
    expect(out.custom).toBe('python');
    expect(s.server.broker.getQueue('python')?.messages).toBe(0);
  });
});

describe('STOMP over a plain WebSocket', () => {
  it('is routed by the /stomp path when the client offers no subprotocol', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${s.wsPort}/stomp`);
    try {
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      const reply = new Promise<string>((resolve) => ws.once('message', (d: Buffer) => resolve(d.toString())));
      ws.send('CONNECT\naccept-version:1.1,1.2\nhost:localhost\n\n\0');
      expect(await reply).toMatch(/^CONNECTED\nversion:1\.2\n/);
    } finally {
      ws.close();
    }
  });
});
