// An MQTT session restored at CONNECT on a real broker core: the CONNACK can go out while a stored
// subscription is still being attached, and the core then hands over the durable queue's backlog
// before `subscribe` returns. Every queued message must still reach the device, in order (this
// once left messages stuck in flight, found by the failover test under load).
import { afterEach, describe, expect, it } from 'vitest';
import type { OutboundPublish } from '../../adapters/mqtt/mapping.ts';
import { MqttSession, type ClientHandle } from '../../adapters/mqtt/session.ts';
import type { Broker } from '../../src/core/broker.ts';
import { ctx, msgTo, silent, startBroker } from '../helpers/core.ts';

let broker: Broker | undefined;
afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

/** A device as the session sees it: it records what it is sent. */
function device(id: string): ClientHandle & { sent: OutboundPublish[] } {
  const sent: OutboundPublish[] = [];
  return {
    id,
    clean: false,
    closed: false,
    will: null,
    sent,
    deliver: (p, written, n) => {
      sent.push(p);
      written?.written(n ?? 0);
    },
    deliverTracked: (p) => {
      sent.push(p);
    },
    close: () => {},
    end: () => {},
  };
}

const settings = { maxInflight: 10, maxInboundQoS2: 10, limits: { maxMessages: 100, overflow: 'drop-oldest' as const, backlogOnly: true } };

describe('a persistent MQTT session restored at CONNECT', () => {
  it('delivers the queued backlog when CONNACK went out before its subscription was attached', async () => {
    const b = (broker = await startBroker());
    const first = new MqttSession(device('dev-1'), 'c1', b, settings, silent);
    await first.resume(undefined);
    expect(await first.subscribe('cmd/dev-1', 1)).toBe(1);
    first.connected();
    first.close();
    for (let i = 0; i < 3; i++)
      await b.publish(msgTo('topic://cmd.dev-1', `m${i}`, { persistent: true, properties: { MQTT_QoS: 1 } }), ctx);

    const back = device('dev-1');
    const session = new MqttSession(back, 'c2', b, settings, silent);
    await session.resume(undefined);
    const restoring = session.subscribe('cmd/dev-1', 1);
    session.connected();
    expect(await restoring).toBe(1);
    expect(back.sent.map((p) => p.payload.toString())).toEqual(['m0', 'm1', 'm2']);
    session.close();
  });
});
