// The heap reclaimer with real V8 collections: after a fleet of connections left, one full
// collection gives back what they left behind; a few connections coming and going never cause one.
import { describe, expect, it } from 'vitest';
import { HeapReclaimer } from '../../src/shared/heap-reclaimer.ts';
import { CapturedLog } from '../helpers/log.ts';

const RECLAIMED = 'memory reclaimed after connections left (one full collection)';

function within<T>(ms: number, p: Promise<T>): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms))]);
}

/** What departed connections leave behind: tens of MB no longer reachable once this returns. */
function leaveGarbage(): number {
  const garbage = Array.from({ length: 400_000 }, (_, i) => ({ i, s: `device-${i}` }));
  return garbage.length;
}

describe('HeapReclaimer', () => {
  it('collects once after most connections left and none closed for quietMs, and frees their garbage', async () => {
    const captured = new CapturedLog();
    const r = new HeapReclaimer(captured.log, { minLeft: 10, quietMs: 50 });
    for (let i = 0; i < 40; i++) r.opened();
    expect(leaveGarbage()).toBe(400_000);
    for (let i = 0; i < 9; i++) r.closed();
    expect(r.scheduled).toBe(false);
    for (let i = 0; i < 31; i++) r.closed();
    expect(r.scheduled).toBe(true);
    const line = await within(
      5000,
      captured.waitFor((l) => l.msg === RECLAIMED),
    );
    expect(line).toMatchObject({ connectionsLeft: 40, connectionsOpen: 0 });
    const [before, after] = line.heapUsedMB as [number, number];
    expect(after).toBeLessThan(before);
    expect(r.scheduled).toBe(false);
    r.stop();
  });

  it('does not collect when only a few of many connections close', () => {
    const captured = new CapturedLog();
    const r = new HeapReclaimer(captured.log, { minLeft: 10, quietMs: 50 });
    for (let i = 0; i < 100; i++) r.opened();
    for (let i = 0; i < 20; i++) r.closed();
    // 20 of a peak of 100 left: fewer than a quarter.
    expect(r.scheduled).toBe(false);
    for (let i = 0; i < 20; i++) r.opened();
    for (let i = 0; i < 20; i++) r.closed();
    expect(r.scheduled).toBe(false);
    r.stop();
  });
});
