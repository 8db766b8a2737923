// Expiry of abandoned MQTT persistent sessions on a real broker core, with a clock the test moves:
// a session ages from its disconnect time, goes with its durable subscriptions once expired, stays
// while its device is connected, and a session a dead broker left without a disconnect time starts
// aging at the first sweep that finds it.
import { afterEach, describe, expect, it } from 'vitest';
import { SessionExpiry } from '../../adapters/mqtt/session-expiry.ts';
import { SESSION_PREFIX, SessionState } from '../../adapters/mqtt/session-state.ts';
import type { Broker } from '../../src/core/broker.ts';
import { topic } from '../../src/core/destination.ts';
import { ctx, silent, startBroker } from '../helpers/core.ts';

const HOUR = 3_600_000;
let broker: Broker | undefined;
afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

/** A stored persistent session of `clientId` with one durable subscription, as the MQTT adapter keeps it. */
async function persistentSession(b: Broker, clientId: string, filter: string, now: number, expiresAt: number): Promise<void> {
  const state = new SessionState(clientId, true);
  state.subscriptions.set(filter, { qos: 1 });
  const consumer = await b.subscribe(
    { destination: topic(filter.replace(/\//g, '.')), durable: { clientId, name: filter }, onMessage: () => {} },
    ctx,
  );
  consumer.close();
  await b.putSession(state.toRecord(now, expiresAt));
}

function subscriptionsOf(b: Broker, clientId: string): string[] {
  return b
    .listSubscriptions()
    .filter((s) => s.clientId === clientId)
    .map((s) => s.subscriptionName ?? '');
}

describe('MQTT session expiry', () => {
  it('discards a session once its expiry time has passed, with its durable subscriptions, and keeps a connected one', async () => {
    const b = (broker = await startBroker());
    const clock = { t: 1_000_000 };
    const connected = new Set(['awake']);
    const expiry = new SessionExpiry(
      b,
      HOUR,
      (id) => connected.has(id),
      silent,
      () => clock.t,
    );
    await persistentSession(b, 'sleepy', 'sleepy/cmd', clock.t, clock.t + HOUR);
    await persistentSession(b, 'awake', 'awake/cmd', clock.t, clock.t + HOUR);

    clock.t += HOUR - 1;
    await expiry.sweep();
    expect(await b.getSession(SESSION_PREFIX + 'sleepy')).toBeDefined();
    expect(subscriptionsOf(b, 'sleepy')).toEqual(['sleepy/cmd']);

    clock.t += 1;
    await expiry.sweep();
    expect(await b.getSession(SESSION_PREFIX + 'sleepy')).toBeUndefined();
    expect(subscriptionsOf(b, 'sleepy')).toEqual([]);
    expect(await b.getSession(SESSION_PREFIX + 'awake')).toBeDefined();
    expect(subscriptionsOf(b, 'awake')).toEqual(['awake/cmd']);
  });

  it('starts the clock of a session whose disconnect was never written at the first sweep that finds it', async () => {
    const b = (broker = await startBroker());
    const clock = { t: 5_000_000 };
    const expiry = new SessionExpiry(
      b,
      HOUR,
      () => false,
      silent,
      () => clock.t,
    );
    await persistentSession(b, 'orphan', 'orphan/cmd', clock.t - 10 * HOUR, 0);

    await expiry.sweep();
    expect((await b.getSession(SESSION_PREFIX + 'orphan'))?.expiresAt).toBe(clock.t + HOUR);
    clock.t += HOUR;
    await expiry.sweep();
    expect(await b.getSession(SESSION_PREFIX + 'orphan')).toBeUndefined();
    expect(subscriptionsOf(b, 'orphan')).toEqual([]);
  });
});
