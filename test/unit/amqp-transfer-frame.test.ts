// A transfer's frame written by hand (transfer-frame.ts) is rhea's own frame for the same transfer,
// byte for byte, for any channel, handle, delivery id, tag, format, settlement and payload.
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeTransferFrame, type TransferFields } from '../../adapters/amqp/transfer-frame.ts';

const require = createRequire(import.meta.url);
// rhea as it comes: this file loads nothing that patches it (rhea-fixes.ts).
const frames = require('rhea/lib/frames.js') as {
  transfer(fields: TransferFields): { described(): unknown };
  amqp_frame(channel: number, performative: unknown, payload?: Buffer): object;
  write_frame(frame: object): Buffer;
};

const uint = fc.oneof(
  fc.constantFrom(0, 1, 255, 256, 2 ** 32 - 1),
  fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  fc.integer({ min: 0, max: 300 }),
);
const transfer: fc.Arbitrary<TransferFields> = fc.record({
  handle: uint,
  message_format: fc.oneof(fc.constant(0), uint),
  delivery_id: uint,
  delivery_tag: fc.oneof(
    fc.integer({ min: 0, max: 10 ** 9 }).map((n) => Buffer.from(String(n))),
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  ),
  settled: fc.boolean(),
  more: fc.boolean(),
});
const payload = fc.option(
  fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b)),
  { nil: undefined },
);

describe('AMQP transfer frames', () => {
  it("equal rhea's encoding of the same transfer", () => {
    expect(
      typeof frames.transfer({ handle: 0, message_format: 0, delivery_id: 0, delivery_tag: Buffer.from('0'), settled: false, more: false })
        .described,
    ).toBe('function');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65535 }), transfer, payload, (channel, t, p) => {
        const expected = frames.write_frame(frames.amqp_frame(channel, frames.transfer(t), p));
        expect(encodeTransferFrame(channel, t, p).toString('hex')).toBe(expected.toString('hex'));
      }),
      { numRuns: 2000 },
    );
  });
});
