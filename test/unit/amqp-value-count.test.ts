// The AMQP value counter against what rhea encodes: random nested values (primitives of every
// width, strings, lists, maps, arrays of fixed and variable elements, described values) are counted
// exactly, and a bound stops the count as soon as it is passed, before any decoding.
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countValues, EncodingError } from '../../adapters/amqp/value-count.ts';

const require = createRequire(import.meta.url);
// rhea's type system has no typings for its writer and wrappers: the shapes used are these.
const types = require('rhea/lib/types.js') as {
  Writer: new () => { write(v: unknown): void; toBuffer(): Buffer };
  wrap_int(n: number): unknown;
  wrap_long(n: number): unknown;
  wrap_ubyte(n: number): unknown;
  wrap_double(n: number): unknown;
  wrap_boolean(b: boolean): unknown;
  wrap_string(s: string): unknown;
  wrap_symbol(s: string): unknown;
  wrap_binary(b: Buffer): unknown;
  wrap_list(l: unknown[]): unknown;
  wrap_map(m: Record<string, unknown>): unknown;
  wrap_array(a: unknown[], code: number): unknown;
  wrap_described(v: unknown, descriptor: number): unknown;
};

/** A typed value and the number of AMQP values its encoding holds. */
interface Counted {
  v: unknown;
  n: number;
}

const leaf: fc.Arbitrary<Counted> = fc.oneof(
  fc.integer().map((i) => ({ v: types.wrap_int(i), n: 1 })),
  fc.integer({ min: -1e9, max: 1e9 }).map((i) => ({ v: types.wrap_long(i), n: 1 })),
  fc.integer({ min: 0, max: 255 }).map((i) => ({ v: types.wrap_ubyte(i), n: 1 })),
  fc.double({ noNaN: true }).map((d) => ({ v: types.wrap_double(d), n: 1 })),
  fc.boolean().map((b) => ({ v: types.wrap_boolean(b), n: 1 })),
  fc.string({ maxLength: 300 }).map((s) => ({ v: types.wrap_string(s), n: 1 })),
  fc.string({ maxLength: 20 }).map((s) => ({ v: types.wrap_symbol(s), n: 1 })),
  fc.uint8Array({ maxLength: 300 }).map((b) => ({ v: types.wrap_binary(Buffer.from(b)), n: 1 })),
  fc.array(fc.integer(), { maxLength: 50 }).map((a) => ({ v: types.wrap_array(a, 0x71), n: 1 + a.length })),
  fc.array(fc.string({ maxLength: 10 }), { maxLength: 20 }).map((a) => ({ v: types.wrap_array(a, 0xa1), n: 1 + a.length })),
);

// (rhea's writer folds a described value inside another into one: a descriptor wraps a plain value only.)
const counted: fc.Arbitrary<Counted> = fc.letrec<{ value: Counted; plain: Counted }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('plain'),
    fc.tuple(fc.integer({ min: 1, max: 255 }), tie('plain')).map(([d, x]) => ({ v: types.wrap_described(x.v, d), n: 2 + x.n })),
  ),
  plain: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 8 }).map((xs) => ({ v: types.wrap_list(xs.map((x) => x.v)), n: 1 + sum(xs) })),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 8 }).map((d) => {
      const entries = Object.entries(d);
      return {
        v: types.wrap_map(Object.fromEntries(entries.map(([k, x]) => [k, x.v]))),
        n: 1 + entries.length + sum(entries.map(([, x]) => x)),
      };
    }),
  ),
})).value;

function sum(xs: Counted[]): number {
  return xs.reduce((n, x) => n + x.n, 0);
}

function encode(values: unknown[]): Buffer {
  const w = new types.Writer();
  for (const v of values) w.write(v);
  return w.toBuffer();
}

describe('countValues', () => {
  it('counts every value of what rhea encodes, and stops past a bound', () => {
    fc.assert(
      fc.property(fc.array(counted, { minLength: 1, maxLength: 4 }), fc.nat({ max: 200 }), (sections, limit) => {
        const b = encode(sections.map((s) => s.v));
        const total = sum(sections);
        expect(countValues(b, Number.MAX_SAFE_INTEGER)).toBe(total);
        const bounded = countValues(b, limit);
        if (total <= limit) expect(bounded).toBe(total);
        else expect(bounded).toBeGreaterThan(limit);
      }),
    );
  });

  it('stops a million map entries at the bound without walking them all', () => {
    const map: Record<string, unknown> = {};
    for (let i = 0; i < 200_000; i++) map[`k${i}`] = types.wrap_int(0);
    const b = encode([types.wrap_map(map)]);
    expect(countValues(b, 20_000)).toBe(20_001);
  });

  it('reports an encoding that runs past its end or an unknown constructor', () => {
    expect(() => countValues(Buffer.from([0xa1, 0x05, 0x61]), 100)).toThrow(EncodingError);
    expect(() => countValues(Buffer.from([0x1f]), 100)).toThrow(/unknown constructor 0x1f/);
  });
});
