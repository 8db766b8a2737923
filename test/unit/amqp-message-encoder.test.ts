// The hand-written AMQP encoding of a message mapped from another protocol gives rhea's bytes for
// the same message (property test), and hands rhea what it does not cover; a delivery from MQTT
// reaches an AMQP client as the same message either way.
import fc from 'fast-check';
import rhea from 'rhea';
import { describe, expect, it } from 'vitest';
import { mappedOf, rheaMessage, toAmqp } from '../../adapters/amqp/conversion.ts';
import { encodeMapped, type MappedMessage } from '../../adapters/amqp/message-encoder.ts';
import { createMessage } from '../../src/core/message.ts';

// Every number rhea's encoder takes (it throws past 64 bits), NaN and the infinities among them.
const number = fc.oneof(
  fc.double({ min: -(2 ** 62), max: 2 ** 62 }),
  fc.integer(),
  fc.integer({ min: -300, max: 300 }),
  fc.constantFrom(0, -0, 255, 256, 2 ** 32 - 1, 2 ** 32, -(2 ** 31) + 1, -(2 ** 31), Number.MAX_SAFE_INTEGER, NaN, Infinity, -Infinity),
);
const value = fc.oneof(fc.string(), fc.string({ minLength: 250, maxLength: 300 }), number, fc.boolean());
const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme', minLength: 100, maxLength: 400 }));
const symbol = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme-ascii' }) },
  { weight: 4, arbitrary: fc.constantFrom('text/plain', 'application/json', 'x-opt-jms-dest') },
  { weight: 1, arbitrary: fc.string() },
);
const id = fc.oneof({ weight: 8, arbitrary: text }, { weight: 1, arbitrary: fc.constant(rhea.types.wrap_uuid(rhea.generate_uuid())) });
const timestamp = fc.integer({ min: -(2 ** 40), max: 2 ** 45 });

const mapped: fc.Arbitrary<MappedMessage> = fc.record(
  {
    durable: fc.boolean(),
    priority: fc.integer({ min: 0, max: 255 }),
    ttl: fc.integer({ min: 1, max: 2 ** 32 - 1 }),
    firstAcquirer: fc.boolean(),
    deliveryCount: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
    messageId: id,
    to: text,
    subject: text,
    replyTo: text,
    correlationId: id,
    contentType: symbol,
    absoluteExpiryTime: timestamp,
    creationTime: timestamp,
    groupId: text,
    annotations: fc.dictionary(symbol, fc.integer({ min: 0, max: 1 }), { maxKeys: 3 }),
    applicationProperties: fc.dictionary(
      text.filter((k) => k !== '__proto__'),
      value,
      { minKeys: 1, maxKeys: 8 },
    ),
    body: fc.oneof(text, fc.uint8Array({ maxLength: 600 })),
  },
  {
    requiredKeys: ['durable', 'priority', 'firstAcquirer', 'deliveryCount', 'messageId', 'to', 'creationTime', 'annotations', 'body'],
  },
);

const isAscii = (s: string): boolean => [...s].every((c) => c.charCodeAt(0) <= 0x7f);

/** What only rhea encodes: typed ids and symbols outside ASCII. */
function needsRhea(m: MappedMessage): boolean {
  return (
    typeof m.messageId !== 'string' ||
    (m.correlationId !== undefined && typeof m.correlationId !== 'string') ||
    (m.contentType !== undefined && !isAscii(m.contentType)) ||
    !Object.keys(m.annotations).every(isAscii)
  );
}

describe('AMQP message encoder', () => {
  it('writes the bytes rhea writes for the same message, or leaves the message to rhea', () => {
    fc.assert(
      fc.property(mapped, (m) => {
        const ours = encodeMapped(m);
        if (needsRhea(m)) {
          expect(ours).toBeUndefined();
          return;
        }
        expect(ours?.toString('hex')).toBe(rhea.message.encode(rheaMessage(m)).toString('hex'));
      }),
      { numRuns: 2000 },
    );
  });

  it('maps an MQTT publish to the AMQP message a receiver decodes: body, address, properties, expiry', () => {
    const now = Date.now();
    const message = createMessage(
      {
        destination: { kind: 'topic', name: 'devices.d1.telemetry' },
        body: new TextEncoder().encode('{"t":21.5}'),
        persistent: true,
        contentType: 'application/json',
        properties: { unit: 'C', seq: 7, ok: true, ratio: 0.5, big: 2 ** 40, neg: -3 },
        expiresAt: now + 60_000,
      },
      undefined,
      now,
    );
    const sent = toAmqp({ message, deliveryCount: 1, annotations: { redeliveredBy: 'x' } }, now);
    expect(Buffer.isBuffer(sent)).toBe(true);
    const got = rhea.message.decode(sent as Buffer);
    expect(got.durable).toBe(true);
    expect(got.delivery_count).toBe(1);
    expect(got.first_acquirer).toBe(false);
    expect(got.to).toBe('topic://devices.d1.telemetry');
    expect(got.content_type).toBe('application/json');
    expect(got.message_annotations).toEqual({ 'x-opt-jms-dest': 1 });
    expect(got.application_properties).toEqual({ unit: 'C', seq: 7, ok: true, ratio: 0.5, big: 2 ** 40, neg: -3, redeliveredBy: 'x' });
    expect((got.absolute_expiry_time as Date).getTime()).toBe(now + 60_000);
    expect(got.ttl).toBe(60_000);
    expect(Buffer.from((got.body as { content: Buffer }).content).toString()).toBe('{"t":21.5}');
    expect(sent).toEqual(
      rhea.message.encode(rheaMessage(mappedOf({ message, deliveryCount: 1, annotations: { redeliveredBy: 'x' } }, now))),
    );
  });

  it('a text body travels as an AMQP string value', () => {
    const now = Date.now();
    const message = createMessage(
      { destination: { kind: 'queue', name: 'q' }, body: new TextEncoder().encode('héllo'), contentType: 'text/plain' },
      undefined,
      now,
    );
    const got = rhea.message.decode(toAmqp({ message, deliveryCount: 0, annotations: undefined }, now) as Buffer);
    expect(got.body).toBe('héllo');
    expect(got.first_acquirer).toBe(true);
  });
});
