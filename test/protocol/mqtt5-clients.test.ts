// MQTT 5 interoperability with clients not built on mqtt.js: Debian's python3-paho-mqtt (its
// MQTTv5 client) and mosquitto_pub / mosquitto_sub -V mqttv5 (the Mosquitto project's C library).
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmqpClient } from '../helpers/amqp.ts';
import { connectMqtt, endMqtt, startMqttServer, type MqttTestServer } from '../helpers/mqtt.ts';

const run = promisify(execFile);
let s: MqttTestServer;
beforeAll(async () => {
  s = await startMqttServer();
});
afterAll(async () => {
  await s.stop();
});

/** Runs a command and returns its exit code, stdout and stderr, whatever the exit code. */
async function outcome(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(cmd, args, { timeout: 15_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('python3-paho-mqtt, MQTT 5', () => {
  it('session present after a reconnect, No Local, a Subscription Identifier, 0x8F for a refused filter, every property, a delayed will', async () => {
    const script = join(import.meta.dirname, '../fixtures/mqtt5_paho_client.py');
    const { stdout } = await run('/usr/bin/python3', [script, String(s.port)], { timeout: 20_000 });
    const r = JSON.parse(stdout) as Record<string, unknown>;
    expect(r.first).toEqual({ present: 0, reason: 0, shared: 1, aliases: 10 });
    expect(r.again).toMatchObject({ present: 1, reason: 0 });
    expect(r.granted).toEqual([1, 0x8f]);
    // The device's own publish to paho5/self never comes back (No Local).
    expect(r.received).toEqual([
      {
        topic: 'paho5/cmd',
        payload: 'calibrate',
        qos: 1,
        userProperties: [
          ['site', 'plant-3'],
          ['line', '7'],
          ['site', 'backup'],
        ],
        contentType: 'text/plain',
        responseTopic: 'paho5/replies',
        correlationData: '0001feff',
        subscriptionIdentifier: [42],
      },
      {
        topic: 'paho5/wills/mortal',
        payload: 'lost',
        qos: 1,
        userProperties: null,
        contentType: 'text/plain',
        responseTopic: null,
        correlationData: '',
        subscriptionIdentifier: [42],
      },
    ]);
  });
});

describe('python3-paho-mqtt, MQTT 5 behaviours an application relies on', () => {
  it('overlapping subscriptions, topic aliases both ways, Retain Handling, session and message expiry, Maximum Packet Size', async () => {
    const script = join(import.meta.dirname, '../fixtures/mqtt5_paho_behaviours.py');
    const { stdout } = await run('/usr/bin/python3', [script, String(s.port)], { timeout: 30_000 });
    expect(JSON.parse(stdout)).toEqual({
      // One copy, at the higher QoS, with both Subscription Identifiers.
      overlapping: [['one', 2, [2, 3]]],
      // The broker sets alias 1 with the first message, then sends the alias alone (paho shows the empty topic).
      serverAlias: [
        ['pb/alias', 1],
        ['', 1],
        ['', 1],
      ],
      // Retain Handling 1 (new subscription), 1 (existing), 2, 0, 0: retained messages sent.
      retainHandling: [1, 0, 0, 1, 1],
      // Present after the interval CONNECT gave, because DISCONNECT raised it; gone after DISCONNECT set 0.
      sessionExpiry: [1, 0],
      // The message whose expiry passed while the device was away is not delivered; the other counts down.
      messageExpiry: [['long', true]],
      // The client takes 64 bytes at most: the 64-byte payload is not sent to it.
      maximumPacketSize: [32],
      // An alias does not outlive its connection: using it after a reconnect is a protocol error.
      aliasAfterReconnect: 0x82,
    });
  });
});

describe('mosquitto_pub and mosquitto_sub -V mqttv5', () => {
  const p = (): string[] => ['-h', '127.0.0.1', '-p', String(s.port), '-V', 'mqttv5'];

  it('queues for a session with an expiry interval and delivers every property, the subscription identifier included', async () => {
    await run(
      'mosquitto_sub',
      [...p(), '-i', 'm5-dev', '-c', '-x', '300', '-q', '1', '-t', 'm5/#', '-D', 'subscribe', 'subscription-identifier', '5', '-E'],
      {
        timeout: 10_000,
      },
    );
    await run(
      'mosquitto_pub',
      [
        ...p(),
        ...['-q', '1', '-t', 'm5/a', '-m', 'hello'],
        ...['-D', 'publish', 'user-property', 'site', 'north'],
        ...['-D', 'publish', 'content-type', 'text/plain'],
        ...['-D', 'publish', 'response-topic', 'm5/replies'],
        ...['-D', 'publish', 'correlation-data', 'req-17'],
        ...['-D', 'publish', 'message-expiry-interval', '300'],
      ],
      { timeout: 10_000 },
    );
    const { stdout } = await run(
      'mosquitto_sub',
      [...p(), '-i', 'm5-dev', '-c', '-x', '300', '-q', '1', '-t', 'm5/#', '-C', '1', '-W', '10', '-F', '%t|%q|%C|%R|%D|%P|%S|%p'],
      { timeout: 15_000 },
    );
    expect(stdout.trim()).toBe('m5/a|1|text/plain|m5/replies|req-17|site:north|5|hello');
  });

  it('a user property, content type and correlation data reach an AMQP consumer', async () => {
    const amqp = await AmqpClient.connect(s.amqpPort);
    try {
      const rx = await amqp.receiver({ source: { address: 'topic://m5amqp.>' } });
      await run(
        'mosquitto_pub',
        [
          ...p(),
          '-q',
          '1',
          '-t',
          'm5amqp/x',
          '-m',
          'to amqp',
          '-D',
          'publish',
          'user-property',
          'site',
          'north',
          '-D',
          'publish',
          'content-type',
          'text/plain',
          '-D',
          'publish',
          'correlation-data',
          'c-1',
        ],
        { timeout: 10_000 },
      );
      const { message: m } = await rx.got.nth(1);
      expect([m.application_properties?.site, m.content_type, m.correlation_id, Buffer.from(m.body as Buffer).toString()]).toEqual([
        'north',
        'text/plain',
        'c-1',
        'to amqp',
      ]);
    } finally {
      amqp.close();
    }
  });

  it('publishes the will of a killed mosquitto_sub after its Will Delay Interval, with its properties', async () => {
    const watcher = await connectMqtt(`mqtt://127.0.0.1:${s.port}`, { protocolVersion: 5 });
    // stdbuf: mosquitto_sub's debug lines reach the pipe as they are written.
    const sub = spawn(
      'stdbuf',
      [
        '-oL',
        'mosquitto_sub',
        ...p(),
        ...['-d', '-i', 'm5-mortal', '-x', '60', '-t', 'm5w/cmd'],
        ...['--will-topic', 'm5w/gone', '--will-payload', 'mortal', '--will-qos', '1'],
        ...['-D', 'will', 'will-delay-interval', '1', '-D', 'will', 'content-type', 'text/plain'],
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    try {
      await watcher.client.subscribeAsync('m5w/#', { qos: 1 });
      const lines = createInterface({ input: sub.stdout });
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('mosquitto_sub did not subscribe')), 10_000);
        lines.on('line', (l) => {
          if (l.includes('received SUBACK')) {
            clearTimeout(t);
            resolve();
          }
        });
      });
      const killedAt = Date.now();
      sub.kill('SIGKILL');
      const will = await watcher.got.nth(1, 5000);
      expect([will.topic, will.payload.toString(), will.packet.properties?.contentType]).toEqual(['m5w/gone', 'mortal', 'text/plain']);
      expect(Date.now() - killedAt).toBeGreaterThanOrEqual(900);
    } finally {
      if (sub.exitCode === null && sub.signalCode === null) {
        const exited = once(sub, 'exit');
        sub.kill('SIGKILL');
        await exited;
      }
      await endMqtt(watcher.client);
    }
  });

  it('reports PUBACK 0x90 for a reserved topic and CONNACK 0x8C for an authentication method', async () => {
    const reserved = await outcome('mosquitto_pub', [...p(), '-q', '1', '-t', '$SYS/x', '-m', 'no']);
    expect(reserved.stderr).toContain('Topic Name invalid');
    const auth = await outcome('mosquitto_pub', [
      ...p(),
      '-q',
      '1',
      '-t',
      'm5/x',
      '-m',
      'no',
      '-D',
      'connect',
      'authentication-method',
      'SCRAM-SHA-256',
    ]);
    expect(auth.code).toBe(0x8c);
    expect(auth.stderr).toContain('Bad authentication method');
  });
});
