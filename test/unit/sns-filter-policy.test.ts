// SNS filter policies: AWS's examples as cases, properties that hold for any message (matching
// never throws; `exists` is presence; `anything-but` is the negation of the exact match on a
// present value; a numeric range agrees with the comparison), and AWS's refusals of bad policies.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileFilterPolicy, FilterPolicyError, type AttributeValue } from '../../adapters/aws/sns/filter-policy.ts';

function attrs(o: Record<string, string | number | string[]>): Map<string, AttributeValue> {
  return new Map(
    Object.entries(o).map(([k, v]) => [
      k,
      Array.isArray(v)
        ? { type: 'String.Array', value: JSON.stringify(v) }
        : typeof v === 'number'
          ? { type: 'Number', value: String(v) }
          : { type: 'String', value: v },
    ]),
  );
}

const onAttributes = (policy: object, a: Record<string, string | number | string[]>): boolean =>
  compileFilterPolicy(JSON.stringify(policy), 'MessageAttributes').matches(attrs(a), '');
const onBody = (policy: object, body: object): boolean =>
  compileFilterPolicy(JSON.stringify(policy), 'MessageBody').matches(new Map(), JSON.stringify(body));

describe('SNS filter policies', () => {
  it('match as AWS documents them', () => {
    expect(
      onAttributes(
        { store: ['example_corp'], event: [{ 'anything-but': 'order_cancelled' }] },
        { store: 'example_corp', event: 'order_placed' },
      ),
    ).toBe(true);
    expect(
      onAttributes(
        { store: ['example_corp'], event: [{ 'anything-but': 'order_cancelled' }] },
        { store: 'example_corp', event: 'order_cancelled' },
      ),
    ).toBe(false);
    expect(onAttributes({ price: [{ numeric: ['>=', 100, '<', 200] }] }, { price: 150 })).toBe(true);
    expect(onAttributes({ price: [{ numeric: ['>=', 100, '<', 200] }] }, { price: 200 })).toBe(false);
    expect(onAttributes({ customer: [{ prefix: 'gold-' }] }, { customer: 'gold-42' })).toBe(true);
    expect(onAttributes({ file: [{ suffix: '.png' }] }, { file: 'a.PNG' })).toBe(false);
    expect(onAttributes({ file: [{ suffix: { 'equals-ignore-case': '.png' } }] }, { file: 'a.PNG' })).toBe(true);
    expect(onAttributes({ name: [{ 'equals-ignore-case': 'ALICE' }] }, { name: 'alice' })).toBe(true);
    expect(onAttributes({ tags: ['red'] }, { tags: ['blue', 'red'] })).toBe(true);
    expect(onAttributes({ source: [{ cidr: '10.0.0.0/24' }] }, { source: '10.0.0.255' })).toBe(true);
    expect(onAttributes({ source: [{ cidr: '10.0.0.0/24' }] }, { source: '10.0.1.1' })).toBe(false);
    expect(onAttributes({ source: [{ cidr: '2001:db8::/32' }] }, { source: '2001:db8:1::5' })).toBe(true);
    expect(
      onAttributes({ color: ['red'], $or: [{ size: ['L'] }, { weight: [{ numeric: ['>', 10] }] }] }, { color: 'red', weight: 11 }),
    ).toBe(true);
    expect(
      onAttributes({ color: ['red'], $or: [{ size: ['L'] }, { weight: [{ numeric: ['>', 10] }] }] }, { color: 'red', weight: 9 }),
    ).toBe(false);
    expect(
      onBody(
        { order: { status: ['paid'], items: { sku: [{ prefix: 'B-' }] } } },
        { order: { status: 'paid', items: [{ sku: 'A-1' }, { sku: 'B-2' }] } },
      ),
    ).toBe(true);
    expect(onBody({ order: { status: ['paid'] } }, { order: { status: 'open' } })).toBe(false);
    expect(onBody({ coupon: [{ exists: false }] }, { order: 1 })).toBe(true);
    expect(compileFilterPolicy('{"a": ["b"]}', 'MessageBody').matches(new Map(), 'not json')).toBe(false);
  });

  it('refuses what AWS refuses', () => {
    for (const bad of [
      '[1]',
      '{}',
      '{"a": "b"}',
      '{"a": []}',
      '{"a": [{"numeric": [">", "x"]}]}',
      '{"a": [{"numeric": [">", 5, "<", 1]}]}',
      '{"a": [{"unknown-op": 1}]}',
      '{"a": [{"cidr": "10.0.0.0"}]}',
      '{"a": [true]}',
      '{"a":["x"],"b":["x"],"c":["x"],"d":["x"],"e":["x"],"f":["x"]}',
      '{"a": {"b": ["c"]}}',
      `{"a": [${Array.from({ length: 151 }, (_, i) => `"v${i}"`).join(',')}]}`,
      // $or nested past the depth limit.
      Array.from({ length: 6 }).reduce<string>((inner) => `{"$or": [${inner}, {"z": ["1"]}]}`, '{"a": ["x"]}'),
    ]) {
      expect(() => compileFilterPolicy(bad, 'MessageAttributes'), bad).toThrow(FilterPolicyError);
    }
  });

  const value = fc.oneof(fc.string({ maxLength: 8 }), fc.integer({ min: -1000, max: 1000 }));
  const message = fc.dictionary(fc.constantFrom('a', 'b', 'c'), value);

  it('never throws on any message, body or attributes', () => {
    const policies = [
      { a: ['x', 1] },
      { a: [{ exists: true }], b: [{ 'anything-but': ['y'] }] },
      { c: [{ numeric: ['>', 0] }] },
      { a: [{ prefix: 'p' }] },
    ];
    fc.assert(
      fc.property(fc.constantFrom(...policies), message, fc.string(), (p, m, body) => {
        compileFilterPolicy(JSON.stringify(p), 'MessageAttributes').matches(attrs(m), body);
        compileFilterPolicy(JSON.stringify(p), 'MessageBody').matches(new Map(), body);
        compileFilterPolicy(JSON.stringify(p), 'MessageBody').matches(new Map(), JSON.stringify(m));
      }),
    );
  });

  it('exists is presence, anything-but negates the exact match, numeric agrees with comparison', () => {
    fc.assert(
      fc.property(message, fc.string({ maxLength: 8 }), fc.integer({ min: -1000, max: 1000 }), (m, s, n) => {
        expect(onAttributes({ a: [{ exists: true }] }, m)).toBe('a' in m);
        expect(onBody({ a: [{ exists: false }] }, m)).toBe(!('a' in m));
        if (typeof m.a === 'string') expect(onAttributes({ a: [{ 'anything-but': s }] }, m)).toBe(!onAttributes({ a: [s] }, m));
        if (typeof m.b === 'number') {
          expect(onAttributes({ b: [{ numeric: ['>', n] }] }, m)).toBe(m.b > n);
          expect(onBody({ b: [{ numeric: ['<=', n] }] }, m)).toBe(m.b <= n);
        }
      }),
    );
  });
});
