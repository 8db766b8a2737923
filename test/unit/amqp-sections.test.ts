// The AMQP section splitter (property tests against rhea's encoder), the encoding of a kept
// message for delivery, and the store codec that keeps a body lying inside the original once.
import fc from 'fast-check';
import rhea from 'rhea';
import { describe, expect, it } from 'vitest';
import {
  APPLICATION_PROPERTIES,
  DATA,
  encodeKept,
  FOOTER,
  HEADER,
  MESSAGE_ANNOTATIONS,
  PROPERTIES,
  SectionError,
  splitSections,
  VALUE,
} from '../../adapters/amqp/sections.ts';
import { decodeMessage, encodeMessage } from '../../src/store/redis/codec.ts';
import type { Message } from '../../src/core/message.ts';

// rhea encodes whole-number doubles (and -0) as integers and overflows past 32 bits, so those stay small.
const double = fc.double({ noNaN: true }).filter((d) => !Object.is(d, -0) && (!Number.isInteger(d) || Math.abs(d) < 2 ** 31));
// rhea decodes maps into plain objects, which cannot hold a `__proto__` key.
const key = (minLength = 0): fc.Arbitrary<string> => fc.string({ minLength }).filter((k) => k !== '__proto__');
const scalar = fc.oneof(fc.string(), fc.integer(), fc.boolean(), double, fc.constant(null));
const messages = fc.record(
  {
    durable: fc.boolean(),
    priority: fc.integer({ min: 0, max: 255 }),
    ttl: fc.integer({ min: 1, max: 2 ** 32 - 1 }),
    message_id: fc.string(),
    subject: fc.string(),
    message_annotations: fc.dictionary(key(1), scalar),
    application_properties: fc.dictionary(key(), scalar),
    footer: fc.dictionary(key(1), fc.string()),
    body: fc.oneof(
      fc.string(),
      fc.uint8Array({ maxLength: 600 }).map((b) => rhea.message.data_section(Buffer.from(b))),
      fc.array(scalar).map((l) => rhea.message.sequence_section(l)),
      fc.dictionary(key(), scalar),
    ),
  },
  { requiredKeys: ['body'] },
);

describe('splitSections', () => {
  it('finds every section rhea encodes, in order, covering the whole message', () => {
    fc.assert(
      fc.property(messages, (m) => {
        const b = rhea.message.encode(m as never);
        const sections = splitSections(b);
        expect(sections[0]?.start).toBe(0);
        expect(sections[sections.length - 1]?.end).toBe(b.length);
        for (let i = 1; i < sections.length; i++) expect(sections[i]?.start).toBe(sections[i - 1]?.end);
        const codes = sections.map((s) => s.code);
        expect(codes.every((c) => c >= HEADER && c <= FOOTER)).toBe(true);
        if (m.application_properties && Object.keys(m.application_properties).length > 0) expect(codes).toContain(APPLICATION_PROPERTIES);
        if (m.footer && Object.keys(m.footer).length > 0) expect(codes).toContain(FOOTER);
      }),
    );
  });

  it('refuses a truncated or corrupted message with a SectionError, never another failure', () => {
    fc.assert(
      fc.property(messages, fc.nat(), fc.nat(255), (m, cut, byte) => {
        const b = Buffer.from(rhea.message.encode(m as never));
        const at = cut % b.length;
        for (const broken of [b.subarray(0, at), Buffer.concat([b.subarray(0, at), Buffer.from([byte]), b.subarray(at + 1)])]) {
          try {
            splitSections(broken);
          } catch (err) {
            expect(err).toBeInstanceOf(SectionError);
          }
        }
      }),
    );
  });
});

describe('encodeKept', () => {
  it('replaces the header, appends annotations after the sender’s, and keeps the rest byte for byte', () => {
    fc.assert(
      fc.property(messages, fc.dictionary(key(1), fc.oneof(fc.string(), fc.integer(), fc.boolean())), (m, extra) => {
        const b = rhea.message.encode(m as never);
        const out = encodeKept(b, { durable: true, priority: 9, ttl: 5, firstAcquirer: false, deliveryCount: 2 }, extra);
        const decoded = rhea.message.decode(out);
        expect(decoded).toMatchObject({ durable: true, priority: 9, ttl: 5, delivery_count: 2 });
        expect(decoded.first_acquirer ?? false).toBe(false);
        const own = (m.message_annotations ?? {}) as Record<string, unknown>;
        const expected = { ...extra, ...own };
        expect(decoded.message_annotations ?? {}).toEqual(expected);
        const from = (x: Buffer): Buffer => x.subarray(splitSections(x).find((s) => s.code >= PROPERTIES)?.start ?? x.length);
        expect(from(out).equals(from(b))).toBe(true);
      }),
    );
  });

  it('adds a message-annotations section where the sender had none', () => {
    const b = rhea.message.encode({ body: 'x' });
    const out = encodeKept(b, { durable: false, priority: 4, firstAcquirer: true, deliveryCount: 0 }, { 'x-opt-cause': 'why' });
    expect(splitSections(out).map((s) => s.code)).toEqual([HEADER, MESSAGE_ANNOTATIONS, PROPERTIES, VALUE]);
    expect(rhea.message.decode(out).message_annotations).toEqual({ 'x-opt-cause': 'why' });
  });
});

describe('store codec', () => {
  it('stores a body lying inside the original encoding once and gives it back', () => {
    const payload = Buffer.alloc(4000, 'p');
    const original = rhea.message.encode({ body: rhea.message.data_section(payload) });
    const data = splitSections(original).find((s) => s.code === DATA)!;
    const body = original.subarray(data.end - payload.length, data.end);
    expect(body.equals(payload)).toBe(true);
    const m: Message = {
      id: 'ID:1',
      destination: { kind: 'queue', name: 'q' },
      body,
      properties: { a: 1 },
      priority: 4,
      persistent: true,
      expiresAt: 0,
      deliverAt: 0,
      timestamp: 1,
      original: { format: 'amqp-1.0', bytes: original },
    };
    const packed = encodeMessage(m);
    expect(packed.length).toBeLessThan(original.length + 1000);
    const back = decodeMessage(packed);
    expect(Buffer.from(back.body).equals(payload)).toBe(true);
    expect(Buffer.from(back.original!.bytes).equals(original)).toBe(true);
    expect(back).toMatchObject({ id: 'ID:1', properties: { a: 1 }, persistent: true });
  });
});
