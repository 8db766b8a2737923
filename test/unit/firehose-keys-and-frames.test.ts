// Delivery streams' pure parts: object keys from prefixes with Firehose's expressions (the default
// time part, timestamp patterns in UTC, what is refused) and a put's records framed into one
// message and back (property-tested: any records come back identical; a frame that does not add
// up is read as one record, never as something else).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/core/message.ts';
import { checkPrefixes, defaultErrorPrefix, objectKey, parsePrefix, PrefixError } from '../../src/firehose/object-keys.ts';
import { frameRecords, RECORD_COUNT_PROPERTY, recordsOf } from '../../src/firehose/record-frames.ts';

const at = Date.UTC(2026, 11, 7, 9, 5, 3, 42);
const key = (prefix: string, error = false, errorOutputType?: string): string =>
  objectKey(parsePrefix(prefix, error), {
    stream: 's',
    version: 3,
    oldest: at,
    extension: '.gz',
    ...(errorOutputType ? { errorOutputType } : {}),
  });
const NAME = 's-3-2026-12-07-09-05-03-[0-9a-f-]{36}\\.gz';

describe('object keys', () => {
  it('append the default YYYY/MM/DD/HH/ to a prefix without expressions, in UTC', () => {
    expect(key('')).toMatch(new RegExp(`^2026/12/07/09/${NAME}$`));
    expect(key('raw/')).toMatch(new RegExp(`^raw/2026/12/07/09/${NAME}$`));
  });

  it('expand timestamp patterns, quoted text, random strings and the error output type', () => {
    expect(key("y=!{timestamp:yyyy}/m=!{timestamp:MM}/d=!{timestamp:dd}/h=!{timestamp:HH'h'mm}/")).toMatch(
      new RegExp(`^y=2026/m=12/d=07/h=09h05/${NAME}$`),
    );
    expect(key('!{timestamp:yy-M-d S}/')).toMatch(new RegExp(`^26-12-7 0/${NAME}$`));
    expect(key('r/!{firehose:random-string}/')).toMatch(new RegExp(`^r/[A-Za-z0-9]{11}/${NAME}$`));
    expect(key(defaultErrorPrefix('raw/'), true, 'delivery-failed')).toMatch(new RegExp(`^raw/delivery-failed/2026/12/07/09/${NAME}$`));
  });

  it('refuse what Firehose refuses', () => {
    expect(() => parsePrefix('!{firehose:error-output-type}/', false)).toThrow(PrefixError);
    expect(() => parsePrefix('!{partitionKeyFromQuery:id}/', false)).toThrow(/Dynamic partitioning/);
    expect(() => parsePrefix('!{nope:x}/', false)).toThrow(/Unknown expression/);
    expect(() => parsePrefix('!{timestamp:yyyy/', false)).toThrow(/not closed/);
    expect(() => parsePrefix('!{timestamp:EEE}/', false)).toThrow(/not supported/);
    expect(() => checkPrefixes('x/!{timestamp:yyyy}/', '')).toThrow(/ErrorOutputPrefix must be specified/);
    expect(() => checkPrefixes('x/!{timestamp:yyyy}/', 'e/')).not.toThrow();
  });

  it('never throw anything but PrefixError on any prefix', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), fc.boolean(), (prefix, error) => {
        try {
          parsePrefix(prefix, error);
        } catch (err) {
          expect(err).toBeInstanceOf(PrefixError);
        }
      }),
    );
  });
});

function message(body: Uint8Array, count?: number): Message {
  return { body, properties: count === undefined ? {} : { [RECORD_COUNT_PROPERTY]: count } } as unknown as Message;
}

describe('record frames', () => {
  it('bring any records back identical', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 50 }), (records) => {
        const got = recordsOf(message(frameRecords(records), records.length));
        expect(got.map((r) => Buffer.from(r).toString('hex'))).toEqual(records.map((r) => Buffer.from(r).toString('hex')));
      }),
    );
  });

  it('read a message without a count, or a frame that does not add up, as one record: its body', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 20 }), (body, count) => {
        const framed = recordsOf(message(body, count));
        const total = framed.reduce((n, r) => n + r.byteLength, 0);
        // Either a valid framing of exactly `count` records, or the body itself.
        if (framed.length === 1 && framed[0] === body) return;
        expect(framed).toHaveLength(count);
        expect(total + 4 * count).toBe(body.byteLength);
      }),
    );
    const body = new Uint8Array([1, 2, 3]);
    expect(recordsOf(message(body))).toEqual([body]);
  });
});
