// The memory alarm as each protocol's publisher meets it, in one broker: with the alarm up, a STOMP
// SEND gets no RECEIPT, an MQTT QoS 1 PUBLISH no PUBACK and an AMQP transfer no disposition, and
// nothing reaches the queues. When the watermark is raised at run time, every held publish
// completes. (memory-watermark.test.ts raises the alarm with real memory in a broker process.)
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { JunctionServer } from '../../src/server.ts';
import { AmqpClient } from '../helpers/amqp.ts';
import { CapturedLog } from '../helpers/log.ts';
import { connectMqtt } from '../helpers/mqtt.ts';
import { startAllProtocols } from '../helpers/server.ts';
import { RawStomp } from '../helpers/stomp.ts';

let server: JunctionServer | undefined;
const cleanups: Array<() => void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  await server?.stop();
  server = undefined;
});

describe('the memory alarm on every protocol', () => {
  it('holds STOMP, MQTT and AMQP publishers until memory is below the watermark, then lets each one finish', async () => {
    const log = new CapturedLog();
    ({ server } = await startAllProtocols({ limits: { memoryHighWatermark: '1MiB' } }, undefined, log.log));
    const s = server;
    const guard = s.broker.memory!;
    await log.waitFor(
      (l) => l.msg === 'memory high watermark reached: holding every publisher back until memory falls (limits.memoryHighWatermark)',
    );

    const stomp = await RawStomp.connect(s.listeners.port('stomp', 'tcp')!);
    const { client: device } = await connectMqtt(`mqtt://127.0.0.1:${s.listeners.port('mqtt', 'tcp')!}`, { clientId: 'dev' });
    const amqp = await AmqpClient.connect(s.listeners.port('amqp', 'tcp')!);
    cleanups.push(
      () => stomp.close(),
      () => device.end(true),
      () => amqp.close(),
    );
    const done = { stomp: false, mqtt: false, amqp: '' };
    stomp.send('SEND', { destination: '/queue/from-stomp', persistent: 'true', receipt: 'r1' }, 'hello');
    const receipt = stomp.expect('RECEIPT', 10_000).then(() => (done.stomp = true));
    const puback = new Promise<void>((resolve, reject) =>
      device.publish('from/mqtt', 'hello', { qos: 1 }, (err) => (err ? reject(err) : resolve())),
    ).then(() => (done.mqtt = true));
    const sender = await amqp.sender({ target: { address: 'queue://from-amqp' } });
    const outcome = amqp.send(sender, { body: 'hello', durable: true }).then((r) => (done.amqp = r.outcome));

    await vi.waitFor(() => expect(guard.held).toBe(3), { timeout: 5000, interval: 20 });
    expect(done).toEqual({ stomp: false, mqtt: false, amqp: '' });
    expect(s.broker.getQueue('from-stomp')?.messages ?? 0).toBe(0);
    expect(s.broker.getQueue('from-amqp')?.messages ?? 0).toBe(0);

    guard.setWatermark(2 ** 50);
    await Promise.all([receipt, puback, outcome]);
    expect(done).toEqual({ stomp: true, mqtt: true, amqp: 'accepted' });
    expect(s.health()).toMatchObject({ status: 'ok', memory: 'ok' });
    expect(s.broker.getQueue('from-stomp')?.messages).toBe(1);
    expect(s.broker.getQueue('from-amqp')?.messages).toBe(1);
    expect(log.lines.some((l) => l.msg === 'memory below the high watermark again: publishers resume')).toBe(true);
  });
});

describe('limits.memoryAlarmPublishTimeoutMs', () => {
  it("refuses a publish the alarm held too long, with each protocol's own error, and stores nothing", async () => {
    const log = new CapturedLog();
    ({ server } = await startAllProtocols(
      { limits: { memoryHighWatermark: '1MiB', memoryAlarmPublishTimeoutMs: 300 } },
      undefined,
      log.log,
    ));
    const s = server;
    await log.waitFor(
      (l) => l.msg === 'memory high watermark reached: holding every publisher back until memory falls (limits.memoryHighWatermark)',
    );

    const stomp = await RawStomp.connect(s.listeners.port('stomp', 'tcp')!);
    const { client: device } = await connectMqtt(`mqtt://127.0.0.1:${s.listeners.port('mqtt', 'tcp')!}`, { clientId: 'dev-timeout' });
    const amqp = await AmqpClient.connect(s.listeners.port('amqp', 'tcp')!);
    cleanups.push(
      () => stomp.close(),
      () => device.end(true),
      () => amqp.close(),
    );
    stomp.send('SEND', { destination: '/queue/late-stomp', persistent: 'true', receipt: 'r1' }, 'hello');
    const error = await stomp.expect('ERROR', 5000);
    expect(error.headers.get('message')).toMatch(/not accepted within 300 ms \(limits.memoryAlarmPublishTimeoutMs\)/);

    const sender = await amqp.sender({ target: { address: 'queue://late-amqp' } });
    const outcome = await amqp.send(sender, { body: 'hello', durable: true });
    expect(outcome).toMatchObject({ outcome: 'rejected', error: { condition: 'amqp:resource-limit-exceeded' } });

    // MQTT 3.1.1 has no negative PUBACK: the publisher's connection closes and it resends later.
    const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));
    device.publish('late/mqtt', 'hello', { qos: 1 });
    await closed;

    expect(s.broker.memory!.refused).toBe(3);
    expect(s.broker.getQueue('late-stomp')?.messages ?? 0).toBe(0);
    expect(s.broker.getQueue('late-amqp')?.messages ?? 0).toBe(0);
  });
});
