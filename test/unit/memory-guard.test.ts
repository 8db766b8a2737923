// The memory guard's rules, on a controlled sample: the watermark as a fraction or a size, the
// alarm raised at the watermark (only when live memory is a real share of it), publishers held
// while it is up, and the ways it clears. The guard on a real process is in memory-watermark.test.ts.
import { describe, expect, it } from 'vitest';
import { MemoryGuard, parseWatermark, type MemorySample } from '../../src/core/memory-guard.ts';
import { ConfigError } from '../../src/shared/errors.ts';
import { CapturedLog } from '../helpers/log.ts';

describe('parseWatermark', () => {
  it('reads a fraction of available memory, a byte count, or a size with a unit', () => {
    expect(parseWatermark(0.4, 1000)).toBe(400);
    expect(parseWatermark(1, 1000)).toBe(1000);
    expect(parseWatermark(5_000_000, 1000)).toBe(5_000_000);
    expect(parseWatermark('512MiB')).toBe(512 * 2 ** 20);
    expect(parseWatermark('2GB')).toBe(2e9);
    expect(parseWatermark('1.5 GiB')).toBe(1.5 * 2 ** 30);
    expect(() => parseWatermark('lots')).toThrow(ConfigError);
  });
});

describe('MemoryGuard', () => {
  const W = 1000;
  function guard(): { g: MemoryGuard; now: MemorySample; log: CapturedLog; held: { bytes: number } } {
    const now: MemorySample = { rss: 100, live: 50, heap: 40 };
    const log = new CapturedLog();
    const g = new MemoryGuard(W, log.log, () => ({ ...now }), 10_000);
    const held = { bytes: 0 };
    g.track(() => held.bytes);
    return { g, now, log, held };
  }

  it('holds publishers while the resident set is at the watermark, and lets them go when it falls', async () => {
    const { g, now, log } = guard();
    g.check();
    expect(g.wait()).toBeUndefined();
    Object.assign(now, { rss: 1000, live: 600 });
    g.check();
    expect(g.alarm).toBe(true);
    let released = false;
    const held = g.wait()!.then(() => (released = true));
    g.check();
    await Promise.resolve();
    expect(released).toBe(false);
    Object.assign(now, { rss: 880, live: 600 });
    g.check();
    await held;
    expect(g.held).toBe(1);
    expect(log.lines.map((l) => l.msg)).toEqual([
      'memory high watermark reached: holding every publisher back until memory falls (limits.memoryHighWatermark)',
      'memory below the high watermark again: publishers resume',
    ]);
  });

  it('with a publish timeout, lets a publish go when memory falls in time and refuses one that waits longer', async () => {
    const { g, now } = guard();
    g.publishTimeoutMs = 50;
    Object.assign(now, { rss: 1000, live: 600 });
    g.check();
    const inTime = g.wait()!;
    Object.assign(now, { rss: 880, live: 600 });
    g.check();
    await expect(inTime).resolves.toBeUndefined();
    Object.assign(now, { rss: 1000, live: 600 });
    g.check();
    await expect(g.wait()!).rejects.toThrow(/not accepted within 50 ms \(limits.memoryAlarmPublishTimeoutMs\)/);
    expect([g.held, g.refused]).toEqual([2, 1]);
  });

  it('clears when live memory is down to half the watermark though the allocator keeps the resident set', () => {
    const { g, now } = guard();
    Object.assign(now, { rss: 1200, live: 700 });
    g.check();
    expect(g.alarm).toBe(true);
    Object.assign(now, { rss: 1200, live: 400 });
    g.check();
    expect(g.alarm).toBe(false);
    // A resident set kept by the allocator with little live memory raises no alarm.
    g.check();
    expect(g.alarm).toBe(false);
  });

  it('collects garbage once the messages held in memory have halved, then measures again', () => {
    const { g, now, held } = guard();
    held.bytes = 800;
    Object.assign(now, { rss: 1200, live: 900 });
    g.check();
    expect(g.alarm).toBe(true);
    held.bytes = 300;
    // The sample after the collection is what decides (still high here: the alarm stays).
    g.check();
    expect(g.alarm).toBe(true);
    g.stop();
    expect(g.alarm).toBe(false);
  });

  it('raises the alarm when the V8 heap nears its limit, whatever the resident set, and clears it below 75% of it', () => {
    const { g, now, log } = guard();
    Object.assign(now, { rss: 500, live: 8600, heap: 8600 });
    g.check();
    expect(g.alarm).toBe(true);
    expect(log.lines[0]?.msg).toBe('V8 heap near its limit: holding every publisher back until memory falls');
    Object.assign(now, { rss: 500, live: 8000, heap: 8000 });
    g.check();
    expect(g.alarm).toBe(true);
    Object.assign(now, { rss: 500, live: 7000, heap: 7000 });
    g.check();
    expect(g.alarm).toBe(false);
  });
});
