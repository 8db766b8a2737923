// The AMQP frame size guard over byte streams of protocol headers and frames, cut into arbitrary
// chunks: it follows every boundary (a second header after SASL included), flags exactly the first
// frame over the bound, from its 4-byte size alone, and lets through every byte before it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chunked, feedAll } from '../helpers/chunks.ts';
import { FrameSizeGuard } from '../../adapters/amqp/frame-guard.ts';

const SASL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0]);
const AMQP_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 1, 0, 0]);

function frame(bodyBytes: number): Buffer {
  const f = Buffer.alloc(8 + bodyBytes, 0x53);
  f.writeUInt32BE(8 + bodyBytes, 0);
  f[4] = 2;
  f[5] = 0;
  f.writeUInt16BE(0, 6);
  return f;
}

describe('FrameSizeGuard', () => {
  it('flags the first frame over the bound, with its size, however the bytes are cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 6000 }), { minLength: 1, maxLength: 10 }),
        fc.array(fc.integer({ min: 0, max: 6000 }), { maxLength: 10 }),
        fc.integer({ min: 8, max: 7000 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (sasl, amqp, max, cuts) => {
          const parts = [SASL_HEADER, ...sasl.map(frame), AMQP_HEADER, ...amqp.map(frame)];
          const firstOver = parts.find((p) => p.length > max && p[0] !== 0x41);
          const guard = new FrameSizeGuard(() => max);
          const { flagged, passed } = feedAll((c) => guard.feed(c), chunked(Buffer.concat(parts), cuts));
          expect(flagged?.size).toBe(firstOver?.length);
          if (firstOver) {
            const before = parts.slice(0, parts.indexOf(firstOver)).reduce((n, p) => n + p.length, 0);
            expect(passed).toBeGreaterThanOrEqual(before);
            expect(passed).toBeLessThan(before + 4);
          }
        },
      ),
    );
  });

  it('reads the bound in force when each frame size arrives (small until the OPEN is accepted)', () => {
    let open = false;
    const guard = new FrameSizeGuard(() => (open ? 1_000_000 : 4096));
    expect(guard.feed(Buffer.concat([SASL_HEADER, frame(100), AMQP_HEADER, frame(200)]))).toBeUndefined();
    open = true;
    expect(guard.feed(frame(500_000))).toBeUndefined();
    const huge = Buffer.alloc(4);
    huge.writeUInt32BE(0xf0000000, 0);
    expect(guard.feed(huge)).toEqual({ size: 0xf0000000, limit: 1_000_000, at: 0 });
  });
});
