// The at-rest envelope (AES-256-GCM with the key id and the value's place in a header the cipher
// authenticates): what is sealed opens to the same bytes with any key of the keyring, and no
// alteration of a sealed value (any byte flipped, any truncation) opens to anything.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SealedRecordError } from '../../src/shared/errors.ts';
import { isSealed, Sealer, sealedKeyId } from '../../src/store/sealer.ts';

const k1 = { id: 'k1', key: randomBytes(32) };
const k2 = { id: 'k2', key: randomBytes(32) };

describe('sealer', () => {
  it('opens what it sealed, with every key of the keyring; the first key seals', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.string(), (plain, context) => {
        const old = new Sealer([k1]).seal(plain, context);
        const ring = new Sealer([k2, k1]);
        const fresh = ring.seal(plain, context);
        expect([isSealed(old), sealedKeyId(old), sealedKeyId(fresh)]).toEqual([true, 'k1', 'k2']);
        for (const v of [old, fresh]) {
          const opened = ring.open(v, context);
          expect(Buffer.compare(opened.plain, Buffer.from(plain))).toBe(0);
          expect(opened.context).toBe(context);
        }
      }),
    );
  });

  it('never opens a value with a byte flipped or cut short', () => {
    const sealer = new Sealer([k1]);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (plain, at, bits) => {
        const sealed = sealer.seal(plain, 'message\nid\nqueue://q');
        const flipped = Buffer.from(sealed);
        const i = at % flipped.length;
        flipped.writeUInt8((flipped[i] as number) ^ bits, i);
        expect(() => sealer.open(flipped)).toThrow(SealedRecordError);
        expect(() => sealer.open(sealed.subarray(0, at % sealed.length))).toThrow(SealedRecordError);
      }),
    );
  });

  it('refuses a value sealed for another place, or with a key it lacks', () => {
    const sealed = new Sealer([k1]).seal(Buffer.from('x'), 'session\na');
    expect(() => new Sealer([k1]).open(sealed, 'session\nb')).toThrow(/sealed for 'session\na' \(moved\?\)/);
    expect(() => new Sealer([k2]).open(sealed)).toThrow(/sealed with key 'k1', which the keyring lacks/);
    expect(() => new Sealer([{ id: 'k1', key: randomBytes(32) }]).open(sealed)).toThrow(/key 'k1' is not the key that sealed it/);
  });

  it('takes only 32-byte keys with distinct ids', () => {
    expect(() => new Sealer([{ id: 'short', key: randomBytes(16) }])).toThrow(/AES-256 takes 32/);
    expect(() => new Sealer([k1, k1])).toThrow(/appears twice/);
    expect(() => new Sealer([])).toThrow(/one key at least/);
  });
});
