// Expiry of abandoned MQTT persistent sessions on a real broker core, with a clock the test moves:
// a session ages from its disconnect time, goes with its durable subscriptions once expired, stays
// while its device is connected, and a session a dead broker left without a disconnect time starts
// aging at the first sweep that finds it.
import { afterEach, describe, expect, it } from 'vitest';
import { SessionExpiry } from '../../adapters/mqtt/session-expiry.ts';
import { NEVER_EXPIRES, SESSION_PREFIX, SessionState } from '../../adapters/mqtt/session-state.ts';
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
async function persistentSession(
  b: Broker,
  clientId: string,
  filter: string,
  now: number,
  expiresAt: number,
  expirySeconds?: number,
): Promise<void> {
  const state = new SessionState(clientId, true);
  state.subscriptions.set(filter, { qos: 1 });
  state.expirySeconds = expirySeconds;
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

  it('follows an MQTT 5 session’s own interval, whatever the broker setting; 0xFFFFFFFF never expires', async () => {
    const b = (broker = await startBroker());
    const clock = { t: 9_000_000 };
    // The broker setting is 0 (keep MQTT 3.1.1 sessions forever): MQTT 5 sessions still expire.
    const expiry = new SessionExpiry(
      b,
      0,
      () => false,
      silent,
      () => clock.t,
    );
    await persistentSession(b, 'v5-brief', 'brief/cmd', clock.t, clock.t + 10_000, 10);
    await persistentSession(b, 'v5-forever', 'forever/cmd', clock.t, 0, NEVER_EXPIRES);
    await persistentSession(b, 'v5-orphan', 'orphan5/cmd', clock.t - HOUR, 0, 30);
    await persistentSession(b, 'v311', 'v311/cmd', clock.t - HOUR, 0);

    await expiry.sweep();
    expect((await b.getSession(SESSION_PREFIX + 'v5-orphan'))?.expiresAt).toBe(clock.t + 30_000);
    clock.t += 10_000;
    await expiry.sweep();
    expect(await b.getSession(SESSION_PREFIX + 'v5-brief')).toBeUndefined();
    expect(subscriptionsOf(b, 'v5-brief')).toEqual([]);
    clock.t += 365 * 24 * HOUR;
    await expiry.sweep();
    expect(await b.getSession(SESSION_PREFIX + 'v5-orphan')).toBeUndefined();
    expect(subscriptionsOf(b, 'v5-forever')).toEqual(['forever/cmd']);
    expect(subscriptionsOf(b, 'v311')).toEqual(['v311/cmd']);
    await expiry.stop();
  });
});
