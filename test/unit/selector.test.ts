// JMS selectors: a table of examples in the spirit of the JMS specification (including NULL
// three-valued logic), syntax errors with positions, and a fuzz check that no input crashes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { queue } from '../../src/core/destination.ts';
import { SelectorSyntaxError } from '../../src/shared/errors.ts';
import { createMessage } from '../../src/core/message.ts';
import { compileOptionalSelector, compileSelector } from '../../src/core/selector/index.ts';

const message = createMessage(
  {
    id: 'ID:42',
    destination: queue('orders'),
    body: new Uint8Array(),
    priority: 7,
    persistent: true,
    correlationId: 'corr-1',
    type: 'car',
    groupId: 'g1',
    timestamp: 1000,
    properties: { color: 'blue', weight: 2500, price: 10.5, urgent: true, name: "O'Brien", code: 'AB_1%', zero: 0 },
  },
  'alice',
  1000,
);
const sel = (s: string, deliveryCount = 0): boolean => compileSelector(s).matches({ message, deliveryCount });

describe('selector evaluation', () => {
  const table: Array<[string, boolean]> = [
    ["color = 'blue'", true],
    ["color <> 'blue'", false],
    ['weight > 2000 AND weight < 3000', true],
    ['weight BETWEEN 2500 AND 2600', true],
    ['weight NOT BETWEEN 2500 AND 2600', false],
    ['price * 2 = 21', true],
    ['price / 2 > 5', true],
    ['-weight < 0', true],
    ['weight + 500 = 3000 AND weight - 500 = 2000', true],
    ['1 + 2 * 3 = 7', true],
    ['(1 + 2) * 3 = 9', true],
    ['urgent', true],
    ['urgent = TRUE', true],
    ['NOT urgent', false],
    ["color IN ('red', 'blue')", true],
    ["color NOT IN ('red', 'blue')", false],
    ["color LIKE 'bl%'", true],
    ["color LIKE 'b_ue'", true],
    ["color LIKE 'b_e'", false],
    ["color NOT LIKE 'r%'", true],
    ["code LIKE 'AB\\_1\\%' ESCAPE '\\'", true],
    ["code LIKE 'AB!_%' ESCAPE '!'", true],
    ["code LIKE 'ABX%' ESCAPE 'X'", false],
    ["code LIKE 'AB-%'", false],
    ["code LIKE '%-%'", false],
    ["'x-y' LIKE 'x-%'", true],
    ["name = 'O''Brien'", true],
    ['JMSPriority > 5', true],
    ["JMSCorrelationID = 'corr-1'", true],
    ["JMSType = 'car'", true],
    ["JMSMessageID = 'ID:42'", true],
    ['JMSTimestamp = 1000', true],
    ["JMSDeliveryMode = 'PERSISTENT'", true],
    ["JMSXGroupID = 'g1'", true],
    ["JMSXUserID = 'alice'", true],
    ['JMSRedelivered = FALSE', true],
    ['JMSXDeliveryCount = 1', true],
    ['weight = 2500.0', true],
    ['weight = 0x9C4', true],
    ['weight = 2500L', true],
    ['price = 1.05E1', true],
    ["color = 'BLUE'", false],
    ['zero = 0', true],
    ['1 / zero > 0', false],
    // Type mismatches are false, not errors.
    ["weight = '2500'", false],
    ["color > 'a'", false],
    ['color = 5', false],
  ];
  it.each(table)('%s -> %s', (s, expected) => {
    expect(sel(s)).toBe(expected);
  });

  describe('NULL and three-valued logic', () => {
    const nullTable: Array<[string, boolean]> = [
      ['missing IS NULL', true],
      ['missing IS NOT NULL', false],
      ['color IS NOT NULL', true],
      ["missing = 'x'", false],
      ["NOT (missing = 'x')", false], // NOT UNKNOWN is UNKNOWN
      ["missing <> 'x'", false],
      ['missing > 1 OR TRUE', true], // UNKNOWN OR TRUE is TRUE
      ['missing > 1 OR FALSE', false], // UNKNOWN OR FALSE is UNKNOWN
      ['missing > 1 AND FALSE', false],
      ['NOT (missing > 1 AND FALSE)', true], // UNKNOWN AND FALSE is FALSE
      ['NOT (missing > 1 AND TRUE)', false], // UNKNOWN AND TRUE is UNKNOWN
      ['NOT (missing > 1 OR FALSE)', false],
      ["missing IN ('a')", false],
      ["NOT (missing IN ('a'))", false],
      ["missing NOT IN ('a')", false],
      ["missing LIKE 'a%'", false],
      ["missing NOT LIKE 'a%'", false],
      ['missing BETWEEN 1 AND 2', false],
      ['missing NOT BETWEEN 1 AND 2', false],
      ['missing + 1 IS NULL', true],
      ['JMSCorrelationID IS NOT NULL', true],
      ['NULL IS NULL', true],
    ];
    it.each(nullTable)('%s -> %s', (s, expected) => {
      expect(sel(s)).toBe(expected);
    });
  });

  it('sees the per-queue delivery count', () => {
    expect(sel('JMSRedelivered = TRUE', 2)).toBe(true);
    expect(sel('JMSXDeliveryCount = 3', 2)).toBe(true);
  });

  it('keywords are case-insensitive, identifiers are not', () => {
    expect(sel("color in ('blue') and not urgent = false")).toBe(true);
    expect(sel("Color = 'blue'")).toBe(false);
  });

  it('an empty selector selects everything', () => {
    expect(compileOptionalSelector('   ')).toBeUndefined();
    expect(compileOptionalSelector(undefined)).toBeUndefined();
  });
});

describe("ActiveMQ's convert_string_expressions: prefix", () => {
  const strings = createMessage(
    { destination: queue('q'), body: new Uint8Array(), properties: { weight: '10', ratio: '2.5e0', flag: 'TRUE', label: 'ten' } },
    undefined,
    1000,
  );
  const conv = (s: string): boolean => compileSelector(s).matches({ message: strings, deliveryCount: 0 });
  const P = 'convert_string_expressions:';

  it('compares numeric strings as numbers and "true"/"false" as booleans, only with the prefix', () => {
    expect(conv('weight > 5')).toBe(false);
    expect(conv(`${P}weight > 5`)).toBe(true);
    expect(conv(`${P}weight = 10`)).toBe(true);
    expect(conv(`${P}5 < weight`)).toBe(true);
    expect(conv(`${P}ratio BETWEEN 2 AND 3`)).toBe(true);
    expect(conv(`${P}flag = true`)).toBe(true);
    expect(conv(`${P}label > 5`)).toBe(false);
    expect(conv(`${P}label <> 5`)).toBe(false);
    expect(conv(`${P}weight = '10'`)).toBe(true);
  });

  it('alone, selects everything', () => {
    expect(compileOptionalSelector(P)).toBeUndefined();
  });
});

describe('selector syntax errors', () => {
  const bad: Array<[string, RegExp]> = [
    ["color = 'blue", /unterminated string/],
    ['color = ', /unexpected end/],
    ['color == 1', /unexpected "="/],
    ['a = 1 b = 2', /unexpected "b"/],
    ['color LIKE blue', /string literal pattern/],
    ["color LIKE 'a' ESCAPE 'ab'", /one-character/],
    ['color IN (1, 2)', /string literals/],
    ['color NOT = 1', /BETWEEN, LIKE or IN after NOT/],
    ['a BETWEEN 1 OR 2', /expected AND/],
    ['a IS 5', /expected NULL/],
    ['(a = 1', /expected "\)"/],
    ['a # 1', /unexpected character "#"/],
    ['12abc = 1', /malformed number/],
    ['AND = 1', /unexpected keyword AND/],
  ];
  it.each(bad)('%s is refused with a readable message', (s, re) => {
    let err: unknown;
    try {
      compileSelector(s);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SelectorSyntaxError);
    expect((err as Error).message).toMatch(/^Invalid selector at position \d+: /);
    expect((err as Error).message).toMatch(re);
  });

  it('refuses absurd nesting instead of overflowing the stack', () => {
    expect(() => compileSelector(`${'('.repeat(1000)}a = 1${')'.repeat(1000)}`)).toThrow(/nested deeper/);
    expect(() => compileSelector(`${'NOT '.repeat(1000)}a`)).toThrow(SelectorSyntaxError);
  });

  it('never throws anything but SelectorSyntaxError, whatever the input', () => {
    const alphabet = fc.constantFrom(
      ...[
        'a',
        'b',
        '1',
        '.',
        "'",
        '(',
        ')',
        ' ',
        '=',
        '<',
        '>',
        '+',
        '-',
        '*',
        '/',
        ',',
        '%',
        '_',
        'AND ',
        'OR ',
        'NOT ',
        'IN ',
        'LIKE ',
        'IS ',
        'NULL ',
        'BETWEEN ',
        'ESCAPE ',
        'TRUE ',
        '0x',
        'e',
        '\u00e9',
      ],
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.array(alphabet, { maxLength: 30 }).map((a) => a.join('')),
        ),
        (s) => {
          try {
            const compiled = compileSelector(s);
            expect(typeof compiled.matches({ message, deliveryCount: 0 })).toBe('boolean');
          } catch (e) {
            expect(e).toBeInstanceOf(SelectorSyntaxError);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
