// The heap reclaimer with real V8 collections: after a burst of connections (a fleet arriving or
// leaving) and a quiet spell, one full collection gives back what the burst left behind, and more
// later let V8 shrink its young generation; a few connections coming and going never
// cause one, nor does a burst while the event loop is busy.
import { describe, expect, it } from 'vitest';
import { HeapReclaimer } from '../../src/shared/heap-reclaimer.ts';
import { CapturedLog, type LogLine } from '../helpers/log.ts';

const RECLAIMED = 'memory reclaimed after a burst of connections (one full collection)';
const ANOTHER = 'another collection after a burst of connections';
const BUSY = 'no collection after a burst of connections: the broker is busy';

function within<T>(ms: number, p: Promise<T>): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms))]);
}

/** What a burst of connections leaves behind: tens of MB no longer reachable once this returns. */
function leaveGarbage(): number {
  const garbage = Array.from({ length: 400_000 }, (_, i) => ({ i, s: `device-${i}` }));
  return garbage.length;
}

/** The first line with message `msg` logged after `line`. */
function loggedAfter(captured: CapturedLog, line: LogLine, msg: string): Promise<LogLine> {
  return within(
    5000,
    captured.waitFor((l) => l.msg === msg && captured.lines.indexOf(l) > captured.lines.indexOf(line)),
  );
}

/** The `n`th line (1-based) with message `msg`, logged so far or later. */
function nth(captured: CapturedLog, msg: string, n: number): Promise<LogLine> {
  let seen = 0;
  return within(
    5000,
    captured.waitFor((l) => l.msg === msg && ++seen === n),
  );
}

describe('HeapReclaimer', () => {
  it('collects once a fleet arrived and went quiet, again once it left, and a second time after each', async () => {
    const captured = new CapturedLog('debug');
    // maxBusy 1: the garbage made here keeps the loop busy, which must not hold the collection back.
    const r = new HeapReclaimer(captured.log, { minChurn: 10, quietMs: 50, settleMs: 100, maxBusy: 1 });
    for (let i = 0; i < 40; i++) r.opened();
    expect(r.scheduled).toBe(true);
    expect(leaveGarbage()).toBe(400_000);
    const arrived = await nth(captured, RECLAIMED, 1);
    expect(arrived).toMatchObject({ connectionsOpened: 40, connectionsLeft: 0, connectionsOpen: 40 });
    const [before, after] = arrived.heapUsedMB as [number, number];
    expect(after).toBeLessThan(before);
    await loggedAfter(captured, arrived, ANOTHER);

    for (let i = 0; i < 9; i++) r.closed();
    expect(r.scheduled).toBe(false);
    for (let i = 0; i < 31; i++) r.closed();
    expect(r.scheduled).toBe(true);
    expect(leaveGarbage()).toBe(400_000);
    const left = await nth(captured, RECLAIMED, 2);
    expect(left).toMatchObject({ connectionsOpened: 0, connectionsLeft: 40, connectionsOpen: 0 });
    await loggedAfter(captured, left, ANOTHER);
    expect(r.scheduled).toBe(false);
    r.stop();
  });

  it('does not collect for a few connections, nor when few of many close', async () => {
    const captured = new CapturedLog();
    const r = new HeapReclaimer(captured.log, { minChurn: 50, quietMs: 50 });
    for (let i = 0; i < 30; i++) r.opened();
    for (let i = 0; i < 10; i++) r.closed();
    expect(r.scheduled).toBe(false);
    for (let i = 0; i < 19; i++) r.opened();
    expect(r.scheduled).toBe(false);
    r.stop();
  });

  it('skips the collection when the event loop was busy since the burst', async () => {
    const captured = new CapturedLog('debug');
    const r = new HeapReclaimer(captured.log, { minChurn: 10, quietMs: 50, maxBusy: 0.2 });
    for (let i = 0; i < 20; i++) r.opened();
    const end = Date.now() + 80;
    while (Date.now() < end) leaveGarbage(); // the loop kept busy through the quiet spell
    const skipped = await within(
      5000,
      captured.waitFor((l) => l.msg === BUSY),
    );
    expect(skipped).toMatchObject({ connectionsOpened: 20 });
    expect(captured.lines.some((l) => l.msg === RECLAIMED)).toBe(false);
    r.stop();
  });
});
