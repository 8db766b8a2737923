// Authorization patterns: %u and %c substitution (and the identities that must not match), and the
// two relations a topic subscription is judged by, checked against every concrete topic name: a
// pattern covers a filter when it matches every topic the filter does; two overlap when some topic
// matches both.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matches } from '../../src/core/destination.ts';
import { covers, expandPattern, overlaps } from '../../src/security/acl-patterns.ts';

/** Every name of 1 to 5 segments over a, b: enough to tell apart patterns of up to 4 segments over a, b, *, >. */
const NAMES: string[] = [];
for (let len = 1; len <= 5; len++) {
  const build = (prefix: string[]): void => {
    if (prefix.length === len) NAMES.push(prefix.join('.'));
    else for (const s of ['a', 'b']) build([...prefix, s]);
  };
  build([]);
}

const pattern = fc
  .array(fc.constantFrom('a', 'b', '*'), { minLength: 0, maxLength: 3 })
  .chain((segs) => fc.constantFrom([...segs, '>'], segs))
  .filter((segs) => segs.length > 0)
  .map((segs) => segs.join('.'));

describe('ACL patterns', () => {
  it('substitutes %u and %c, and applies to no identity that could reach another subtree', () => {
    expect(expandPattern('devices.%u.>', { username: 'u1' })).toBe('devices.u1.>');
    expect(expandPattern('clients.%c.%u', { username: 'u1', clientId: 'dev-9' })).toBe('clients.dev-9.u1');
    expect(expandPattern('orders.>', { username: 'u1' })).toBe('orders.>');
    for (const username of ['a.b', '*', '>', '', '%u']) expect(expandPattern('devices.%u.>', { username })).toBeUndefined();
    expect(expandPattern('clients.%c.>', { username: 'u1' })).toBeUndefined();
  });

  it('a pattern covers a filter exactly when it matches every name the filter matches', () => {
    fc.assert(
      fc.property(pattern, pattern, (p, f) => {
        const whole = NAMES.filter((n) => matches(f, n)).every((n) => matches(p, n));
        expect(covers(p, f)).toBe(whole);
      }),
      { numRuns: 2000 },
    );
    expect(covers('a.*', 'a.>')).toBe(false);
    expect(covers('a.>', 'a.*')).toBe(true);
  });

  it('two patterns overlap exactly when some name matches both', () => {
    fc.assert(
      fc.property(pattern, pattern, (a, b) => {
        expect(overlaps(a, b)).toBe(NAMES.some((n) => matches(a, n) && matches(b, n)));
      }),
      { numRuns: 2000 },
    );
  });
});
