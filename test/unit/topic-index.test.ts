// The wildcard index: `*` is one segment, `>` zero or more trailing segments; the trie must agree
// with the plain pattern matcher on every input.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matches, validateName } from '../../src/core/destination.ts';
import { TopicIndex } from '../../src/core/topic-index.ts';

function matching(patterns: string[], name: string): string[] {
  const idx = new TopicIndex<string>();
  for (const p of patterns) idx.add(p, p);
  return [...idx.match(name)].sort();
}

describe('TopicIndex', () => {
  const patterns = ['a.b.c', 'a.*.c', 'a.>', '>', '*', 'a.*', '*.b.>', 'a..c', 'a.*.*', 'x.y'];
  const cases: Array<[string, string[]]> = [
    ['a.b.c', ['>', '*.b.>', 'a.*.*', 'a.*.c', 'a.>', 'a.b.c']],
    ['a', ['>', '*', 'a.>']],
    ['a.b', ['>', '*.b.>', 'a.*', 'a.>']],
    ['a..c', ['>', 'a.*.*', 'a.*.c', 'a..c', 'a.>']],
    ['x.y', ['>', 'x.y']],
    ['x.y.z', ['>']],
    ['b', ['*', '>']],
  ];
  it.each(cases)('%s matches exactly the expected patterns', (name, expected) => {
    expect(matching(patterns, name)).toEqual([...expected].sort());
  });

  it('"*" does not match zero segments and ">" matches its own prefix', () => {
    expect(matches('a.*', 'a')).toBe(false);
    expect(matches('a.>', 'a')).toBe(true);
    expect(matches('a.b.>', 'a')).toBe(false);
    expect(matches('*.*', 'a.b.c')).toBe(false);
  });

  it('removes values and prunes empty branches', () => {
    const idx = new TopicIndex<number>();
    idx.add('a.b', 1);
    idx.add('a.>', 2);
    idx.add('a.b', 3);
    expect(idx.size).toBe(3);
    expect(idx.remove('a.b', 1)).toBe(true);
    expect(idx.remove('a.b', 1)).toBe(false);
    expect([...idx.match('a.b')].sort()).toEqual([2, 3]);
    idx.remove('a.>', 2);
    idx.remove('a.b', 3);
    expect(idx.size).toBe(0);
    expect(idx.match('a.b').size).toBe(0);
  });

  it('agrees with the reference matcher on random patterns and names', () => {
    const seg = fc.constantFrom('a', 'b', 'c', '');
    const name = fc.array(seg, { minLength: 1, maxLength: 5 }).map((s) => s.join('.'));
    const patSeg = fc.constantFrom('a', 'b', '', '*');
    const pattern = fc
      .tuple(fc.array(patSeg, { minLength: 0, maxLength: 4 }), fc.boolean())
      .filter(([s, tail]) => s.length > 0 || tail)
      .map(([s, tail]) => [...s, ...(tail ? ['>'] : [])].join('.'));
    fc.assert(
      fc.property(fc.array(pattern, { maxLength: 8 }), name, (ps, n) => {
        const expected = [...new Set(ps.filter((p) => matches(p, n)))].sort();
        expect(matching(ps, n)).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });
});

describe('destination names', () => {
  it('allows wildcards only in subscriptions, as whole segments, ">" last', () => {
    expect(validateName('a.*.>', true)).toBe('a.*.>');
    expect(() => validateName('a.*', false)).toThrow(/only allowed in subscriptions/);
    expect(() => validateName('a.>.b', true)).toThrow(/last segment/);
    expect(() => validateName('a.b*', true)).toThrow(/whole segment/);
    expect(() => validateName('', false)).toThrow(/empty/);
    expect(() => validateName('a\u0000b', false)).toThrow(/control characters/);
    expect(validateName('a..b', false)).toBe('a..b');
  });
});
