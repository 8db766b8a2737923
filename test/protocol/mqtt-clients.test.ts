// MQTT interoperability with clients not built on mqtt.js or aedes: Debian's python3-paho-mqtt
// and mosquitto_pub / mosquitto_sub (the Mosquitto project's own C client library).
import { execFile } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMqttServer, type MqttTestServer } from '../helpers/mqtt.ts';
import { RawStomp } from '../helpers/stomp.ts';

const run = promisify(execFile);
let s: MqttTestServer;
let dir: string;
beforeAll(async () => {
  s = await startMqttServer();
  dir = mkdtempSync(join(tmpdir(), 'junction-mqtt-'));
});
afterAll(async () => {
  await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('python3-paho-mqtt', () => {
  it('keeps a persistent session across a reconnect, at QoS 1 and 2, with retained messages and a will', async () => {
    const script = join(import.meta.dirname, '../fixtures/mqtt_paho_client.py');
    const { stdout } = await run('/usr/bin/python3', [script, String(s.port)], { timeout: 20_000 });
    const r = JSON.parse(stdout) as { granted: number[]; firstPresent: number; present: number; received: unknown[] };
    expect(r.granted).toEqual([2]);
    expect([r.firstPresent, r.present]).toEqual([0, 1]);
    expect(r.received).toEqual([
      { topic: 'paho/cmd/reboot', payload: 'now', qos: 1, retain: false },
      { topic: 'paho/cmd/pay', payload: 'once', qos: 2, retain: false },
      { topic: 'paho/state', payload: 'ready', qos: 1, retain: true },
      { topic: 'paho/will/doomed', payload: 'connection lost', qos: 1, retain: false },
    ]);
  });
});

describe('python3-paho-mqtt under load', () => {
  it('20,000 QoS 1 messages, 100 in flight, published as fast as PUBACKs come: every acknowledged one arrives', async () => {
    const script = join(import.meta.dirname, '../fixtures/mqtt_paho_load.py');
    const { stdout } = await run('/usr/bin/python3', [script, String(s.port), '20000'], { timeout: 90_000 });
    const r = JSON.parse(stdout) as { acked: number; received: number; seconds: number };
    expect([r.acked, r.received]).toEqual([20_000, 20_000]);
  }, 100_000);
});

describe('mosquitto_pub and mosquitto_sub', () => {
  const p = (): string[] => ['-h', '127.0.0.1', '-p', String(s.port)];

  it('queue for a persistent mosquitto_sub session from mosquitto_pub and STOMP, bytes unchanged', async () => {
    // -E: subscribe and leave, which creates the persistent session (-c) with its subscription.
    await run('mosquitto_sub', [...p(), '-i', 'mosq-dev', '-c', '-q', '2', '-t', 'mosq/#', '-E'], { timeout: 10_000 });
    await run('mosquitto_pub', [...p(), '-q', '1', '-t', 'mosq/one', '-m', 'from mosquitto at 1'], { timeout: 10_000 });
    await run('mosquitto_pub', [...p(), '-q', '2', '-t', 'mosq/two', '-m', 'from mosquitto at 2'], { timeout: 10_000 });
    const stomp = await RawStomp.connect(s.stompPort);
    stomp.send('SEND', { destination: '/topic/mosq.three', persistent: 'true', receipt: 'r' }, 'from stomp');
    await stomp.expect('RECEIPT');
    stomp.close();
    const { stdout } = await run(
      'mosquitto_sub',
      [...p(), '-i', 'mosq-dev', '-c', '-q', '2', '-t', 'mosq/#', '-C', '3', '-W', '10', '-F', '%t %q %p'],
      { timeout: 15_000 },
    );
    expect(stdout.trim().split('\n')).toEqual([
      'mosq/one 1 from mosquitto at 1',
      'mosq/two 2 from mosquitto at 2',
      'mosq/three 2 from stomp',
    ]);
  });

  it('mosquitto_pub carries a binary file to a STOMP subscriber byte for byte', async () => {
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 37) % 256));
    const file = join(dir, 'blob.bin');
    writeFileSync(file, bytes);
    const stomp = await RawStomp.connect(s.stompPort);
    try {
      stomp.send('SUBSCRIBE', { id: '1', destination: '/topic/blobs.fw', receipt: 'r' });
      await stomp.expect('RECEIPT');
      await run('mosquitto_pub', [...p(), '-q', '1', '-t', 'blobs/fw', '-f', file], { timeout: 10_000 });
      const msg = await stomp.expect('MESSAGE');
      expect(Buffer.compare(msg.body, bytes)).toBe(0);
    } finally {
      stomp.close();
    }
  });

  it('a retained message reaches a wildcard mosquitto_sub', async () => {
    await run('mosquitto_pub', [...p(), '-q', '1', '-r', '-t', 'mosqr/dev/state', '-m', 'on'], { timeout: 10_000 });
    const { stdout } = await run('mosquitto_sub', [...p(), '-t', 'mosqr/#', '-C', '1', '-W', '5', '-F', '%t %r %p'], { timeout: 10_000 });
    expect(stdout.trim()).toBe('mosqr/dev/state 1 on');
  });
});
