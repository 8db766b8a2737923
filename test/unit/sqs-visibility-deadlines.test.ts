// The visibility deadlines of SQS messages in flight: each falls due once, at (or within 100 ms
// after) its time; a removed one never does, a moved one only at its new time, and a deleted
// message leaves nothing behind.
import { describe, expect, it } from 'vitest';
import { VisibilityDeadlines } from '../../adapters/aws/sqs/visibility-deadlines.ts';

function collector(): {
  due: Array<{ id: string; at: number }>;
  next: (n: number, withinMs?: number) => Promise<void>;
  onDue: (id: string) => void;
} {
  const due: Array<{ id: string; at: number }> = [];
  let waiter: (() => void) | undefined;
  let wanted = 0;
  return {
    due,
    onDue: (id) => {
      due.push({ id, at: Date.now() });
      if (due.length >= wanted) waiter?.();
    },
    next: (n, withinMs = 2000) =>
      new Promise<void>((resolve, reject) => {
        wanted = n;
        if (due.length >= n) return resolve();
        const t = setTimeout(() => reject(new Error(`only ${due.length} of ${n} fell due within ${withinMs} ms`)), withinMs);
        waiter = () => {
          clearTimeout(t);
          resolve();
        };
      }),
  };
}

describe('SQS visibility deadlines', () => {
  it('fall due in order, once each; removed ones never, moved ones at their new time', async () => {
    const c = collector();
    const d = new VisibilityDeadlines(c.onDue);
    const t0 = Date.now();
    d.add('late', t0 + 300);
    d.add('early', t0 + 50);
    d.add('gone', t0 + 100);
    d.add('moved', t0 + 60);
    d.remove('gone', t0 + 100);
    d.remove('moved', t0 + 60);
    d.add('moved', t0 + 200);
    expect(d.size).toBe(3);
    await c.next(3);
    expect(c.due.map((x) => x.id)).toEqual(['early', 'moved', 'late']);
    for (const [i, at] of [50, 200, 300].entries()) {
      expect(c.due[i]!.at - t0).toBeGreaterThanOrEqual(at);
      expect(c.due[i]!.at - t0).toBeLessThan(at + 250);
    }
    expect(d.size).toBe(0);
    d.close();
  });

  it('keeps nothing for a removed deadline, and fires nothing after close', async () => {
    const c = collector();
    const d = new VisibilityDeadlines(c.onDue);
    const t0 = Date.now();
    for (let i = 0; i < 10_000; i++) d.add(`m${i}`, t0 + 30_000 + i);
    for (let i = 0; i < 10_000; i++) d.remove(`m${i}`, t0 + 30_000 + i);
    expect(d.size).toBe(0);
    d.add('after', t0 + 20);
    d.close();
    // Past its time and the bucket's 100 ms, nothing came.
    await expect(c.next(1, 400)).rejects.toThrow(/only 0 of 1/);
  });
});
